-- claims.lua - the experiments behind the paper's table of claims
-- (../shared/reference/claims.md): the claims about Go's allocator that a
-- simulation can test are run here; claims.post turns the results into
-- paper/tables/claims.tex and claims-numbers.tex.  About 30 s of CPU.

-- Claim 9: 16 threads x n malloc(12)/free, glibc against Go with and
-- without the tiny allocator, at three scales (the article's is n = 10^6)
-- to show that the mmap counts and the memory swing do not depend on n.
sweep{
  name = "malloc12",
  workloads = {"paper/workloads/malloc12.lua"},
  strategies = {"glibc", "tiny", "span"},
  w = {n = {100000, 300000, 1000000}},
  seeds = {1},
  args = {"--sample", "2000"},
}

-- Claims 10 and 11: sync.Pool - allocations, bytes and GC cycles with and
-- without a pool; pooled objects across one or two collections, and a
-- collection while the objects are borrowed.  One P per thread.
sweep{
  name = "pool",
  workloads = {"paper/workloads/poolclaims.lua"},
  strategies = {"tiny"},
  p = {gomaxprocs = 4},
  w = {mode = {"nopool", "pool", "idle1", "idle2", "borrow"}, ops = 20000, n = 64},
  seeds = {1},
}

-- Claim 12: the two field orders of struct {bool; uint64; string} laid
-- out by Go's amd64 rules, and the sizes the article gives them (40, 24).
sweep{
  name = "structs",
  workloads = {"paper/workloads/structs.lua"},
  strategies = {"span"},
  w = {fields = {"bool-uint64-string", "uint64-string-bool"}},
  seeds = {1},
}

sweep{
  name = "sizes",
  workloads = {"paper/workloads/structs.lua"},
  strategies = {"span"},
  w = {size = {24, 32, 40}},
  seeds = {1},
}

-- Claims 13 and 14: a live set ramping to 300 MiB under churn, GOGC=100,
-- under memory.max 512 MiB with and without GOMEMLIMIT at 90 % of it
-- (483,183,820 bytes); and without any memory.max, for the GC cycles and
-- the warning signs of a run that is never killed.  Fine sampling (about
-- every 15 ms of simulated time) for the warning signs.
sweep{
  name = "oom",
  workloads = {"paper/workloads/oom.lua"},
  strategies = {"tiny"},
  p = {memlimit = {0, 483183820}},
  seeds = {1},
  args = {"--memory-max", "512M", "--sample", "500"},
}

-- The same with GOMEMLIMIT and a leak of 8 MiB/s after the ramp (without
-- the limit it is the run above: killed in the ramp): the limit cannot
-- save a program whose live set outgrows memory.max; do the signs show?
sweep{
  name = "leak",
  workloads = {"paper/workloads/oom.lua"},
  strategies = {"tiny"},
  p = {memlimit = 483183820},
  w = {leak_mb = 8},
  seeds = {1},
  args = {"--memory-max", "512M", "--sample", "500"},
}

sweep{
  name = "nomax",
  workloads = {"paper/workloads/oom.lua"},
  strategies = {"tiny"},
  seeds = {1},
  args = {"--sample", "500"},
}

-- Claim 8: when the scavenger returns freed pages after a collection.
sweep{
  name = "scavenge",
  workloads = {"paper/workloads/scavenge_claim.lua"},
  strategies = {"tiny"},
  seeds = {1},
  args = {"--sample", "20", "--checkpoint-gc"},
}
