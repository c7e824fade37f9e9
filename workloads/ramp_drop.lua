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
-- step_ms=10, mu=7 and sigma=1 (of log size: median e^7 = 1.1 KiB).
local peak = param("peak_mb", 512) * MiB
local size = dist.lognormal(param("mu", 7), param("sigma", 1))
local step_ns = param("step_ms", 10) * 1000000
local steps = math.floor(param("idle_s", 150) * 1e9 / step_ns)

phase("ramp")
local live = ramp{to = peak, size = size}
phase("drop")
live:drop(param("drop", 0.9))
phase("idle")
for i = 1, steps do
  sleep(step_ns)
  free(alloc(16))
end
