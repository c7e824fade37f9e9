-- tiny_burst.lua - 16 threads, each allocating and freeing a 12-byte object
-- over and over: the classic case for Go's tiny allocator, which packs
-- small noscan objects into one 16-byte block per P.
--
-- Exposes: per-thread cache hit rate and lock traffic when the live set
-- is tiny and the allocation rate is huge; tiny-block packing.
--
-- Parameters (-w): threads=16, n=200000 (alloc/free pairs per thread;
-- -w n=1000000 is the full-size classic case, about 5x longer), size=12,
-- scale=1 (multiplies n: -w scale=0.1 for a quick look).
local threads = param("threads", 16)
local n = math.floor(param("n", 200000) * param("scale", 1))
local size = param("size", 12)
local opts = {noscan = true}

for t = 1, threads do
  spawn(function()
    for i = 1, n do
      free(alloc(size, opts))
    end
  end)
end
