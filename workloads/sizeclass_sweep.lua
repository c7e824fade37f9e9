-- sizeclass_sweep.lua - every request size from 1 byte to 32 KiB, in
-- order.  At each size two objects are allocated and one freed at once;
-- the other is kept when the size is a multiple of `keep` (so the live
-- set samples every size band) and freed otherwise.
--
-- Exposes: internal fragmentation of size classes (usable - requested),
-- and how many spans or bins a strategy opens across the whole range.
--
-- Parameters (-w): max=32768 (bytes), keep=16, step=1 (size increment).
local max = param("max", 32768)
local keep = param("keep", 16)
local step = param("step", 1)

for s = 1, max, step do
  if s == 1 or s == 1025 or s == 8193 then
    phase(s == 1 and "1B-1KiB" or s == 1025 and "1-8KiB" or "8-32KiB")
  end
  local a = alloc(s)
  local b = alloc(s)
  free(a)
  if s % keep ~= 0 then free(b) end
end
