-- steady.lua - a server in steady state: a birth-death process (like
-- tcmalloc's empirical driver) with lognormal sizes and exponential
-- lifetimes.  One object is born per step and each lives an exponential
-- number of steps with mean `live`, so by Little's law the live set holds
-- near `live` objects.  Runs as a bulk generator in C (fast).
--
-- Exposes: steady-state fragmentation (internal and external), cache hit
-- rate and lock traffic under churn, spread over `threads` threads.
--
-- Parameters (-w): events=2000000, live=20000 (objects), mu=5.5 and
-- sigma=1.2 (of log size: median e^5.5 = 245 B), threads=4.
local events = param("events", 2000000)
local live = param("live", 20000)
local size = dist.lognormal(param("mu", 5.5), param("sigma", 1.2))

phase("steady")
steady{events = events, size = size, live = live,
       threads = param("threads", 4)}
