-- poolclaims.lua - claims 10 and 11 of the paper's table of claims:
-- what a sync.Pool saves, and how long pooled objects survive
-- collections.  One run does one thing, chosen by -w mode:
--
--   nopool   `ops` operations, each allocating a `buf`-byte buffer and
--            dropping it, plus `small` small garbage objects (16-256 B)
--   pool     the same with the buffer taken from a pool() and put back
--   idle1    get `n` buffers, put them back, one gc(), get `n` again
--   idle2    the same with two gc() calls before the second gets
--   borrow   get `n` buffers, gc() while the program holds them, put
--            them back, get `n` again
--
-- Exposes: allocations and bytes allocated per operation and GC cycles
-- with and without a pool (nopool, pool), and the pool's counters
-- (summary.json's "pools": gets, hits, victim_hits, news, dropped): the
-- first round makes n news, so gets, hits and news beyond n are the
-- second round's (idle1, idle2, borrow).
--
-- Parameters (-w): mode=pool, ops=20000, threads=4, buf=4096, small=2,
-- n=64.  Run with -p tiny.gomaxprocs=4 so each thread has its own P.
local mode = param("mode", "pool")
local ops = param("ops", 20000)
local threads = param("threads", 4)
local buf = param("buf", 4096)
local small = param("small", 2)
local n = param("n", 64)
local r = rng("poolclaims")

local function garbage(k)
  for _ = 1, k do free(alloc(r:int(16, 256))) end
end

-- ops operations over `threads` threads; get/put stand for the buffer's
-- life: alloc/free without a pool, p:get/p:put with one
local function serve(get, put)
  phase("ops")
  for _ = 1, threads do
    spawn(function()
      for _ = 1, ops // threads do
        garbage(small // 2)
        local b = get()
        garbage(small - small // 2)
        put(b)
      end
    end)
  end
  wait()
end

-- the idle and borrow modes run in the main script (thread 0, P 0), so
-- every get and put sees the same P, as a single goroutine would
local function get_all(p)
  local t = {}
  for i = 1, n do t[i] = p:get(buf) end
  return t
end

local function put_all(p, t)
  for i = 1, #t do p:put(t[i]) end
end

local function second_round(p)
  phase("second")
  put_all(p, get_all(p))
end

if mode == "nopool" then
  serve(function() return alloc(buf) end, free)
elseif mode == "pool" then
  local p = pool()
  serve(function() return p:get(buf) end, function(b) p:put(b) end)
elseif mode == "idle1" or mode == "idle2" then
  local p = pool()
  phase("first")
  put_all(p, get_all(p))
  gc()
  if mode == "idle2" then gc() end
  second_round(p)
elseif mode == "borrow" then
  local p = pool()
  phase("first")
  local held = get_all(p)
  gc()
  put_all(p, held)
  second_round(p)
else
  error("mode must be nopool, pool, idle1, idle2 or borrow, not " .. tostring(mode))
end
