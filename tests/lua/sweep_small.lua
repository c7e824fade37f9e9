-- sweep_small.lua - the experiment tests/test_sweep.c runs on this machine
-- (allocsim sweep) and on a one-node Slurm (tests/sweep-slurm): a Lua
-- workload at two sizes and a recorded trace, two strategies, a span
-- parameter at two values, three seeds; 21 runs of a fraction of a second.
sweep{
  name = "small",
  workloads = {"workloads/steady.lua", "tests/data/xz.trace.gz"},
  strategies = {"span", "glibc"},
  p = {["span.gogc"] = {50, 100}},
  w = {events = 20000, live = {200, 1000}},
  seeds = 3,
}
