-- phases.lua - a server-like day: a morning ramp of long-lived state, a
-- plateau of request churn, an afternoon spike of short-lived bulk data,
-- and a night where most state is dropped and the process idles.
--
-- Exposes: how each strategy's heap and RSS follow a changing live set:
-- growth, steady churn on top of long-lived data, a spike, and memory
-- returned (or not) after the drain.  The series is labelled by phase.
--
-- Parameters (-w): base_mb=64, requests=1000000, live=20000 (objects in
-- flight), spike_mb=128, threads=4, idle_s=10 (simulated seconds).
local threads = param("threads", 4)
local req = dist.lognormal(6, 1.3)

phase("ramp")
local base = ramp{to = param("base_mb", 64) * MiB, size = dist.lognormal(7, 1.5),
                  threads = threads}
phase("plateau")
steady{events = param("requests", 1000000), size = req,
       live = param("live", 20000), threads = threads}
phase("spike")
local spike = ramp{to = param("spike_mb", 128) * MiB,
                   size = dist.lognormal(10, 1), threads = threads}
steady{events = param("requests", 1000000) // 4, size = req,
       live = param("live", 20000), threads = threads}
spike:free_all()
phase("drain")
base:drop(0.9)
phase("night")
for i = 1, math.floor(param("idle_s", 10) * 100) do
  sleep(10000000)
  free(alloc(64))
end
