-- large.lua - large objects only, 33 KiB to 4 MiB (log-uniform), with a
-- window of live objects replaced at random.  Every request is above
-- Go's 32 KiB small-object limit and near or above glibc's mmap
-- threshold.
--
-- Exposes: large-object paths (direct page runs, mmap/munmap traffic,
-- the dynamic mmap threshold), page-granularity waste and system-call
-- counts.
--
-- Parameters (-w): n=20000 (allocations), window=64 (live objects),
-- min_kb=33, max_kb=4096.
local n = param("n", 20000)
local window = param("window", 64)
local r = rng("large")
local lmin = math.log(param("min_kb", 33) * KiB)
local lmax = math.log(param("max_kb", 4096) * KiB)

local live = {}
for i = 1, n do
  local slot = r:int(1, window)
  if live[slot] then free(live[slot]) end
  live[slot] = alloc(math.exp(r:uniform(lmin, lmax)))
end
