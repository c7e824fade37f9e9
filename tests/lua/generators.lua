-- generators: steady (Little's law), ramp up and down, sets, errors.
local s = steady{events = 200000, size = 32, live = 1000, drain = false}
local n = s:count()
assert(n > 800 and n < 1200, "live set near 1000 objects: " .. n)
assert(s:bytes() == 32 * n)
s:free_all()
assert(s:count() == 0 and s:bytes() == 0)
local r = ramp{to = MiB, size = dist.uniform(100, 200)}
assert(r:bytes() >= MiB and r:bytes() < MiB + 200)
local before = r:count()
r:drop(0.5)
assert(r:count() == before - math.floor(before * 0.5 + 0.5))
ramp{set = r, to = 100 * KiB, order = "oldest"}
assert(r:bytes() <= 100 * KiB and r:bytes() > 100 * KiB - 200)
ramp{set = r, to = 50 * KiB}
assert(r:bytes() <= 50 * KiB)
ramp{set = r, to = 0, order = "newest"}
assert(r:count() == 0)
steady{events = 1000, size = dist.lognormal(4, 1),
       lifetime = dist.geometric(0.1), threads = 4}
local function fails(pat, f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok and msg:find(pat), msg)
end
fails("lifetime", steady, {events = 10, size = 8})
fails("unknown option 'colour'", ramp, {to = 10, size = 8, colour = 1})
fails("size must be a number or a dist", steady, {events = 1, size = "x", live = 1})
fails("growing needs 'size'", ramp, {to = 10})
fails("order 'sideways'", ramp, {set = ramp{to = 100, size = 10}, to = 0,
                                 order = "sideways"})
