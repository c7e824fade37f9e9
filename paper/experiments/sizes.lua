-- sizes.lua - internal fragmentation against request size: every request
-- size from 1 byte to 32 KiB (workloads/sizeclass_sweep.lua), sampled at
-- every event so that each allocation's usable size shows, through Go's
-- size classes (span), glibc's 16-byte chunks with an 8-byte header and
-- the binary buddy system's powers of two.  One deterministic run each
-- (the workload draws no random numbers).  sizes.post draws
-- paper/figures/sizes.{pdf,png} and writes tables/sizes-numbers.tex.
sweep{
  name = "sizes",
  workloads = {"workloads/sizeclass_sweep.lua"},
  strategies = {"span", "glibc", "buddy"},
  seeds = {1},
  args = {"--sample", "1"},
}
