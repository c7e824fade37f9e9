module allocsim/goreplay

go 1.19
