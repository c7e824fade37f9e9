-- ramp_drop.lua - grow the live set to 512 MiB, drop 90 % of it at
-- random, then idle: memory return over time.  The idle phase sleeps in
-- steps (with one tiny allocation each, so the series keeps moving) and
-- the simulated clock lets background work such as Go's scavenger run.
--
-- Exposes: how much memory a strategy gives back after a drop, and how
-- fast (RSS and heap over simulated time), and the holes the random drop
-- leaves (external fragmentation).
--
-- The idle phase is longer than Go's forced-GC period (2 minutes): with no
-- allocation to pace a collection, the dropped objects stay dead until that
-- periodic GC, and only then can the scavenger return their pages.
--
-- Parameters (-w): peak_mb=512, drop=0.9, idle_s=150 (simulated seconds),
-- step_ms=10, mu=7 and sigma=1 (of log size: median e^7 = 1.1 KiB),
-- order=random (which objects the drop frees: random, oldest or newest;
-- newest frees the top of a brk heap, which a C allocator can trim),
-- release_s=-1 (seconds into the idle phase at which the program calls
-- free_os_memory(): Go's debug.FreeOSMemory, glibc's malloc_trim(0);
-- negative: never).
local peak = param("peak_mb", 512) * MiB
local size = dist.lognormal(param("mu", 7), param("sigma", 1))
local step_ns = param("step_ms", 10) * 1000000
local steps = math.floor(param("idle_s", 150) * 1e9 / step_ns)
local release_step = param("release_s", -1) * 1e9 / step_ns

phase("ramp")
local live = ramp{to = peak, size = size}
phase("drop")
live:drop(param("drop", 0.9), param("order", "random"))
phase("idle")
for i = 1, steps do
  sleep(step_ns)
  free(alloc(16))
  if release_step >= 0 and i == math.max(1, math.ceil(release_step)) then
    free_os_memory()
  end
end
