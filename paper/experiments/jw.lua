-- jw.lua - Johnstone & Wilson's four fragmentation measures (frag_jw1..4,
-- and the same on RSS) for every strategy on the seven recorded real traces
-- (tests/data/*.trace.gz) and on nine of the ten synthetic workloads
-- (workloads/*.lua) at small sizes, one seed each; not tiny_burst, whose
-- live set is one 12-byte object per thread at a time (every measure
-- would be the heap floor over 12 bytes).  jw.post writes
-- tables/jw.tex (frag_jw4 per workload and strategy), tables/jw-measures.tex
-- (the four measures per strategy, median over the workloads) and
-- tables/jw-numbers.tex (whether their ranking holds: first and best fit
-- best, buddy worst).  112 runs of at most a few seconds.
sweep{
  name = "traces",                          -- a trace runs once: no seeds
  workloads = {"tests/data/cc1.trace.gz", "tests/data/git-pack-objects.trace.gz",
               "tests/data/make.trace.gz", "tests/data/python3.trace.gz",
               "tests/data/sed.trace.gz", "tests/data/sqlite3.trace.gz",
               "tests/data/xz.trace.gz"},
}

-- One group per workload: each takes its own -w parameters.
local function synthetic(file, w)
  sweep{name = "synthetic", workloads = {"workloads/" .. file .. ".lua"}, w = w, seeds = {1}}
end
synthetic("steady", {events = 200000, live = 5000})
synthetic("sizeclass_sweep", {})
synthetic("ramp_drop", {peak_mb = 32})
synthetic("fragmenter", {n = 100000, nlarge = 1000})
synthetic("producer_consumer", {n = 50000})
synthetic("large", {n = 2000})
synthetic("robson", {})
synthetic("phases", {base_mb = 16, spike_mb = 32, requests = 200000, idle_s = 0.02})
synthetic("pool", {requests = 20000})
