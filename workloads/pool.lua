-- pool.lua - a sync.Pool experiment: a server whose requests each need a
-- scratch buffer, run twice, first allocating a fresh buffer per request
-- (and dropping it), then taking it from a pool() and putting it back, as
-- Go code does with sync.Pool.  Each request also makes a little garbage
-- (small objects), and the server holds a live set, so collections have
-- something to do.  Between the phases a forced collection; each phase is
-- labelled in the series ("no pool", "pool").
--
-- Exposes: allocations per request and GC cycles with and without a pool
-- (in GC mode the pool saves the buffer allocations and with them most
-- collections; in immediate mode a C allocator's own caches compete with
-- it), the pool's hit rate and what its victim cache catches after each
-- collection (the first gets of a cycle are victim hits), and the buffers
-- a collection drops from the victim cache.  The script prints one line a
-- phase on stderr and leaves the pool's counters in summary.json.
--
-- Parameters (-w): requests=100000 (per phase), threads=4, buf=8192 (bytes
-- of the scratch buffer), small=3 (garbage objects per request, 16-256 B),
-- live=4 (MiB held throughout), victim=true (false: a pool without Go
-- 1.13's victim cache, emulated; see below).  With -p span.gomaxprocs=4
-- (or tiny.) the pool has one private slot and shared queue per P.
local requests = param("requests", 100000)
local threads = param("threads", 4)
local buf = param("buf", 8192)
local small = param("small", 3)
local r = rng("pool")

local held = ramp{to = param("live", 4) * MiB, size = dist.uniform(64, 4096)}

local function garbage(n)
  for _ = 1, n do free(alloc(r:int(16, 256))) end
end

-- One request: garbage (parsing), a buffer from get() and garbage while
-- it is in use, the buffer back to put(), garbage (the response).
local function serve(get, put)
  garbage(small // 3)
  local b = get()
  garbage(small - 2 * (small // 3))
  put(b)
  garbage(small // 3)
end

local function phase_run(name, get, put)
  phase(name)
  local m0 = read_memstats()
  for t = 1, threads do
    spawn(function()
      for _ = 1, requests // threads do serve(get, put) end
    end)
  end
  wait()
  local m = read_memstats()
  local n = requests // threads * threads
  print(string.format("%-8s %8d requests  %.2f allocations/request  %d GC cycles",
                      name, n, (m.allocs - m0.allocs) / n,
                      m.gc_cycles - m0.gc_cycles))
end

phase_run("no pool", function() return alloc(buf) end, free)
gc()
local p = pool()
local get = function() return p:get(buf) end
local victim_misses = 0
if not param("victim", true) then
  -- Before Go 1.13 a collection emptied the pool.  Emulated: an object the
  -- victim cache returns is dropped (garbage, as that collection would have
  -- made it) and a new one allocated, so the allocations are a victimless
  -- pool's; the dropped objects only stay live one cycle longer.
  get = function()
    local v = p:stats().victim_hits
    local b = p:get(buf)
    if p:stats().victim_hits > v then
      free(b)
      b = alloc(buf)
      victim_misses = victim_misses + 1
    end
    return b
  end
end
phase_run("pool", get, function(b) p:put(b) end)
local s = p:stats()
if victim_misses > 0 then
  print(string.format("no victim cache: %d victim hits made misses", victim_misses))
end
print(string.format("pool: %d gets, %d hits (%d from the victim cache), " ..
                    "%d news, %d dropped by collections",
                    s.gets, s.hits, s.victim_hits, s.news, s.dropped))
held:free_all()
