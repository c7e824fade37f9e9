-- threads: spawn with arguments, thread_id, round-robin turns, wait,
-- channels between threads and with the main script, sleeping threads,
-- spawn from a thread, wait() refused inside a thread.
local q = param("q", 1)
local order = {}
for t = 1, 2 do
  spawn(function(tag)
    assert(tag == "t" .. t and thread_id() == t)
    for i = 1, 4 do
      alloc(8)
      order[#order + 1] = thread_id()
    end
  end, "t" .. t)
end
assert(thread_id() == 0)
wait()
local s = table.concat(order)
if q == 1 then assert(s == "12121212", s) end
if q >= 8 then assert(s == "11112222", s) end

local ch = channel(2)
spawn(function()
  for i = 1, 10 do ch:send(alloc(i)) end
  ch:close()
end)
local got = {}
spawn(function()
  for o in function() return ch:recv() end do
    got[#got + 1] = size(o)
    free(o)
  end
end)
wait()
assert(#got == 10)
for i = 1, 10 do assert(got[i] == i) end

local c2 = channel()
spawn(function() c2:send("hi") end)
assert(c2:recv() == "hi", "the main script's recv runs the threads")
assert(#c2 == 0 and c2:len() == 0)
local ok, msg = pcall(c2.send, c2, nil)
assert(not ok and msg:find("cannot send nil"), msg)
c2:close()
assert(c2:recv() == nil, "recv on a closed, empty channel")
ok, msg = pcall(c2.send, c2, 1)
assert(not ok and msg:find("closed"), msg)

local woke = {}
spawn(function() sleep(3000); woke[#woke + 1] = "a" end)
spawn(function() sleep(1000); woke[#woke + 1] = "b" end)
local t0 = now()
wait()
assert(table.concat(woke) == "ba")
assert(now() >= t0 + 3000, "the clock jumped to the last wake-up")

spawn(function()
  local ok2, m = pcall(wait)
  assert(not ok2 and m:find("only the main script"), m)
  spawn(function() free(alloc(1)) end)
end)

-- a thread's error reaches wait(); pcall(wait) can go on afterwards
spawn(function() error("thread boom") end)
spawn(function() free(alloc(2)) end)
local okw, mw = pcall(wait)
assert(not okw and mw:find("threads.lua:%d+: thread boom") and
       mw:find("in simulated thread"), mw)
wait()
