-- scavenge_claim.lua - claim 8 of the paper's table of claims ("freed spans
-- are returned to the OS by madvise right after GC"): grow a live set,
-- drop most of it, force a collection, then idle and watch when the freed
-- pages are released (released_bytes and madvise_calls in series.csv).
--
-- The idle phase sleeps in steps with one small allocation each, so the
-- series keeps moving and the clock lets Go's background scavenger run.
-- It is shorter than Go's 2-minute forced-GC period, so the forced
-- collection is the run's last.
--
-- Parameters (-w): peak_mb=64, drop=0.9, idle_s=60 (simulated seconds),
-- step_ms=10, mu=7 and sigma=1 (of log size: median e^7 = 1.1 KiB).
local peak = param("peak_mb", 64) * MiB
local size = dist.lognormal(param("mu", 7), param("sigma", 1))
local step_ns = param("step_ms", 10) * 1000000
local steps = math.floor(param("idle_s", 60) * 1e9 / step_ns)

phase("ramp")
local live = ramp{to = peak, size = size}
phase("drop")
live:drop(param("drop", 0.9))
gc()
phase("idle")
for _ = 1, steps do
  sleep(step_ns)
  free(alloc(16))
end
