-- mcache.lua - the paper's experiment on Go's per-P caches: the mcache hit
-- rate (allocations served from the P's mcache without a refill from an
-- mcentral) of span and tiny against GOMAXPROCS (1-16 Ps) and the number of
-- threads of the steady workload (1-16; thread t runs on P t mod
-- GOMAXPROCS), three seeds each (the steady generator draws sizes,
-- lifetimes and the allocating thread from the seed).  Post-processing:
-- mcache.post.
sweep{
  name = "mcache",
  workloads = {"workloads/steady.lua"},
  strategies = {"span", "tiny"},
  p = {gomaxprocs = {1, 2, 4, 8, 16}},
  w = {threads = {1, 2, 4, 8, 16}, events = 500000, live = 20000},
  seeds = 3,
  args = {"--sample", "100000"},
}
