-- memlimit.lua - the paper's GOMEMLIMIT experiment: steady.lua (50,000
-- live objects, lognormal sizes, 1,000,000 events) through tiny under a
-- 40 MiB memory.max (--memory-max), without GOMEMLIMIT and with it at 75,
-- 80, 85, 90, 95 and 100 % of memory.max, seeds 1-3.  Without a limit the
-- heap goal (twice the live heap) passes memory.max and the run is
-- OOM-killed; with one it survives at the cost of GC cycles.  A second
-- sweep runs it with neither memory.max nor GOMEMLIMIT.
-- Post-processing: memlimit.post.
local max = 40 * 1024 * 1024
local limits = {0}
for _, pct in ipairs{75, 80, 85, 90, 95, 100} do
  limits[#limits + 1] = max * pct // 100
end

sweep{
  name = "memlimit",
  workloads = {"workloads/steady.lua"},
  strategies = {"tiny"},
  p = {memlimit = limits},
  w = {live = 50000, events = 1000000},
  seeds = 3,
  args = {"--memory-max", tostring(max), "--sample", "20000"},
}

-- The same program without memory.max or GOMEMLIMIT: the GC cycles GOGC
-- alone costs, and the RSS it would need.
sweep{
  name = "unlimited",
  workloads = {"workloads/steady.lua"},
  strategies = {"tiny"},
  w = {live = 50000, events = 1000000},
  seeds = 3,
  args = {"--sample", "20000"},
}
