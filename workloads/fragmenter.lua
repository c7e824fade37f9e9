-- fragmenter.lua - allocate many small objects, then free all but every
-- k-th: each page or span keeps a few survivors, so little can be
-- returned to the OS.  Then allocate objects of a larger size class that
-- cannot reuse the small holes.
--
-- Exposes: span and page retention (heap and RSS held by few live bytes),
-- external fragmentation, and whether freed small space serves later
-- requests of another size.
--
-- Parameters (-w): n=400000 (small objects), k=16 (keep every k-th),
-- small_min=16, small_max=128 (bytes), large=4096, nlarge=4000.
local n = param("n", 400000)
local k = param("k", 16)
local r = rng("fragmenter")
local lo, hi = param("small_min", 16), param("small_max", 128)

phase("fill")
local objs = {}
for i = 1, n do objs[i] = alloc(r:int(lo, hi)) end
phase("thin")
for i = 1, n do
  if i % k ~= 0 then free(objs[i]); objs[i] = nil end
end
phase("large")
local big = {}
for i = 1, param("nlarge", 4000) do big[i] = alloc(param("large", 4096)) end
