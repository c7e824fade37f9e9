-- tiny.lua - the paper's experiment on Go's tiny allocator: span (no tiny
-- path) against tiny (16-byte blocks in front of span) on the tiny_burst
-- workload at four object sizes (1, 4 and 8 bytes pack into a 16-byte block,
-- 12 does not) and on the recorded sed trace (37 % of its requests are under
-- 16 B).
-- Measures: allocations reaching the span allocator (Mallocs minus the
-- sub-allocations packed into an existing block), heap, peak RSS, mmap
-- traffic, GC cycles.  Post-processing: tiny.post.
sweep{
  name = "burst",
  workloads = {"workloads/tiny_burst.lua"},
  strategies = {"span", "tiny"},
  w = {size = {1, 4, 8, 12}},
  seeds = {1},
  args = {"--sample", "5000"},
}

sweep{
  name = "trace",
  workloads = {"tests/data/sed.trace.gz"},
  strategies = {"span", "tiny"},
  args = {"--sample", "500"},
}
