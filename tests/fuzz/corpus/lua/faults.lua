local hs = {}
for i = 1, 20 do hs[i] = alloc(64 * KiB) end
faults{max_mapped = 4 * MiB, every_brk = 3, madvise = 1}
for i = 21, 200 do hs[i] = alloc(64 * KiB) end
