-- producer_consumer.lua - producers allocate messages and send them over
-- a bounded channel; consumers receive and free them.  Every object is
-- freed by a different thread than the one that allocated it.
--
-- Exposes: cross-thread frees (remote frees into another thread's cache,
-- Go's mcache flushes, glibc's arena lookup), cache hit rate when the
-- allocating and freeing threads differ.
--
-- Parameters (-w): producers=4, consumers=4, n=200000 (messages per
-- producer), capacity=64 (channel), mu=6 and sigma=1 (of log size),
-- work_ns=200 (simulated work per message).
local producers = param("producers", 4)
local consumers = param("consumers", 4)
local n = param("n", 200000)
local work_ns = param("work_ns", 200)
local ch = channel(param("capacity", 64))
local size = dist.lognormal(param("mu", 6), param("sigma", 1))
local running = producers

for p = 1, producers do
  spawn(function()
    local r = rng("producer" .. p)
    for i = 1, n do
      ch:send(alloc(r:sample(size)))
    end
    running = running - 1
    if running == 0 then ch:close() end
  end)
end
for c = 1, consumers do
  spawn(function()
    for msg in function() return ch:recv() end do
      work(work_ns)
      free(msg)
    end
  end)
end
