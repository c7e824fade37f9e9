-- malloc12.lua - claim 9 of the paper's table of claims: T threads, each
-- allocating a 12-byte object and freeing it at once, n times over (the
-- article's "16 threads x 1,000,000 malloc(12)/free").  The objects hold
-- no pointers (a Go []byte of 12), so Go's tiny allocator may pack them.
--
-- Exposes: new mmap regions (mmap_calls in series.csv) and the swing of
-- heap and RSS once the run has warmed up, per strategy.
--
-- Parameters (-w): threads=16, n=1000000 (alloc/free pairs per thread),
-- size=12.  A phase label "warm" covers the first tenth of each thread's
-- pairs, "steady" the rest, so the swing can be measured after warm-up.
local threads = param("threads", 16)
local n = param("n", 1000000)
local size = param("size", 12)
local opts = {noscan = true}
local warm = n // 10

phase("warm")
local warmed = 0
for _ = 1, threads do
  spawn(function()
    for _ = 1, warm do free(alloc(size, opts)) end
    warmed = warmed + 1
    -- the last thread to finish warming up switches the label: from
    -- here on every thread is past its first tenth
    if warmed == threads then phase("steady") end
    for _ = warm + 1, n do free(alloc(size, opts)) end
  end)
end
