-- replay: a recorded trace spliced in, its IDs mapped to fresh handles.
local h = alloc(8)
assert(h == 1)
local n = replay("replay.trace")
assert(n == 5, "events read: " .. n)
assert(alloc(8) == 5, "trace objects took handles 2, 3 and 4")
assert(now() >= 5000, "the trace's clock mark moved the script's clock")
replay("replay.trace", {drain = true})
