-- params: -w NAME=VALUE read by param(), converted like the default.
assert(param("n", 5) == 42)
assert(math.type(param("n", 5)) == "integer")
assert(param("f", 1) == 2.5)
assert(param("name", "x") == "hello")
assert(param("flag", false) == true)
assert(param("absent", 7) == 7)
assert(param("absent2") == nil)
assert(param("text") == "abc", "no default: a number if it reads as one, else text")
