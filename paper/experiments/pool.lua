-- pool.lua - the paper's sync.Pool experiment: workloads/pool.lua (a
-- server whose requests need an 8 KiB scratch buffer, run once allocating
-- it per request and once taking it from a pool) through span with four
-- Ps, in two loads: 4 threads making 3 small garbage objects per request,
-- and 16 threads making 30 (a collection every ~1,000 requests), each with
-- Go's victim cache and without it (emulated by the workload: a victim hit
-- is dropped and the buffer allocated anew).  Post-processing: pool.post.
local common = {requests = 40000, victim = {true, false}}

sweep{
  name = "light",
  workloads = {"workloads/pool.lua"},
  strategies = {"span"},
  p = {gomaxprocs = 4},
  w = {requests = common.requests, victim = common.victim, threads = 4, small = 3},
  seeds = {1},
  args = {"--sample", "1000000"},
}

sweep{
  name = "heavy",
  workloads = {"workloads/pool.lua"},
  strategies = {"span"},
  p = {gomaxprocs = 4},
  w = {requests = common.requests, victim = common.victim, threads = 16, small = 30},
  seeds = {1},
  args = {"--sample", "1000000"},
}
