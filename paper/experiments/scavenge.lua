-- scavenge.lua - the paper's experiment on memory returned after a drop:
-- ramp_drop.lua at 32 MiB (90 % of the objects freed, then 150 simulated
-- seconds idle, one 16-byte allocation every 100 ms) through span (Go's
-- background scavenger, after the 2-minute forced GC), glibc (top trim)
-- and the baselines.  Three variants: the drop frees objects at random;
-- it frees the newest (the top of a brk heap, which can be trimmed); at
-- random, and the program calls free_os_memory() 10 s into the idle phase
-- (Go's debug.FreeOSMemory, glibc's malloc_trim(0); the baselines have no
-- such call).  Post-processing: scavenge.post.
local strategies = {"span", "glibc", "bump", "firstfit", "bestfit", "buddy"}
local w = {peak_mb = 32, step_ms = 100}
local args = {"--sample", "10"}

sweep{
  name = "drop",
  workloads = {"workloads/ramp_drop.lua"},
  strategies = strategies,
  w = {peak_mb = w.peak_mb, step_ms = w.step_ms, order = {"random", "newest"}},
  seeds = {1},
  args = args,
}

sweep{
  name = "release",
  workloads = {"workloads/ramp_drop.lua"},
  strategies = strategies,
  w = {peak_mb = w.peak_mb, step_ms = w.step_ms, release_s = 10},
  seeds = {1},
  args = args,
}
