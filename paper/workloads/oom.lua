-- oom.lua - claims 13 and 14 of the paper's table of claims: a server
-- whose live set ramps up to `live_mb` and then holds (or keeps leaking),
-- while every request makes garbage.  In Go's GC mode the heap between
-- collections grows to about twice the live set (GOGC=100), so under a
-- memory.max (allocsim run --memory-max) below that the run is OOM-killed
-- unless GOMEMLIMIT (-p tiny.memlimit) makes the runtime collect sooner.
--
-- Exposes: the MemStats columns of series.csv (heap_alloc, heap_sys,
-- next_gc, ...) over simulated time up to the OOM, to check whether the
-- usual warning signs precede it and by how much; GC cycles with and
-- without GOMEMLIMIT.
--
-- Each step of `step_ms` simulated milliseconds: `churn_mb` MiB of garbage
-- (objects allocated and dropped at once), the live set's share of growth,
-- then a sleep to the end of the step (the clock moves; the scavenger and
-- the background sweeper run).  The live set grows linearly to `live_mb`
-- over `ramp_s` seconds, then by `leak_mb` per second.
--
-- Parameters (-w): live_mb=300, ramp_s=30, leak_mb=0, churn_mb=8,
-- step_ms=100, run_s=120, mu=9 and sigma=1 (of log size: median
-- e^9 = 8 KiB, mean 13 KiB).
local live_mb = param("live_mb", 300)
local ramp_s = param("ramp_s", 30)
local leak_mb = param("leak_mb", 0)
local churn = param("churn_mb", 8) * MiB
local step_ns = param("step_ms", 100) * 1000000
local run_s = param("run_s", 120)
local size = dist.lognormal(param("mu", 9), param("sigma", 1))
local r = rng("oom")

local steps = math.floor(run_s * 1e9 / step_ns)
local ramp_steps = math.max(1, math.floor(ramp_s * 1e9 / step_ns))
local leak_per_step = leak_mb * MiB * step_ns / 1e9

-- the live set's target size after `step` steps
local function target(step)
  if step <= ramp_steps then return live_mb * MiB * step / ramp_steps end
  return live_mb * MiB + leak_per_step * (step - ramp_steps)
end

local function garbage(bytes)
  local made = 0
  while made < bytes do
    local n = math.floor(r:sample(size)) + 1
    free(alloc(n))
    made = made + n
  end
end

phase("ramp")
local held = ramp{to = 0, size = size}
for step = 1, steps do
  if step == ramp_steps + 1 then phase(leak_mb > 0 and "leak" or "plateau") end
  local t0 = now()
  garbage(churn)
  ramp{set = held, to = target(step), size = size}
  local left = step_ns - (now() - t0)
  if left > 0 then sleep(left) end
end
