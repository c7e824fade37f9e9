-- robson.lua - an adversary that forces fragmentation on allocators that
-- cannot move objects (after J. M. Robson, "Bounds for some functions
-- concerning dynamic storage allocation", JACM 21(3), 1974).  In phase k
-- it fills the live budget with objects of 2^k bytes, then frees every
-- other object of everything live, leaving holes of the old sizes
-- between survivors; the next phase asks for twice the size, which those
-- holes cannot hold.  Live bytes never exceed `budget`, yet a non-moving
-- allocator's heap grows with the number of phases.
--
-- This adversary does not see addresses: it assumes that allocation order
-- roughly follows address order, which holds for most strategies here.
--
-- Exposes: worst-case external fragmentation; heap/live against the
-- M * log2(n) / 2 order of Robson's bound.
--
-- Parameters (-w): budget_mb=4, min_log2=5 (32 B), max_log2=16 (64 KiB).
-- (First-fit strategies slow down quadratically on the many holes: a
-- bigger budget takes much longer.)
local budget = param("budget_mb", 4) * MiB
local live, bytes = {}, 0

for k = param("min_log2", 5), param("max_log2", 16) do
  local osize = 1 << k
  phase(string.format("2^%d", k))
  while bytes + osize <= budget do
    live[#live + 1] = alloc(osize)
    bytes = bytes + osize
  end
  local keep = {}
  for i, o in ipairs(live) do
    if i % 2 == 0 then
      bytes = bytes - size(o)
      free(o)
    else
      keep[#keep + 1] = o
    end
  end
  live = keep
end
