-- structs.lua - claim 12 of the paper's table of claims: how big a Go
-- struct is on amd64 and which size class holds it.  The script lays the
-- struct out by Go's rules for amd64 (each field at the next multiple of
-- its alignment, the size rounded up to the largest alignment) and keeps
-- `count` such objects live; the objects hold pointers when a field does
-- (string), so they take Go's scan span classes.
--
-- Exposes: the struct's size (live_bytes / live_objects) and the size
-- class it lands in (alloc_bytes / live_objects: usable bytes per object).
--
-- Parameters (-w): fields=bool-uint64-string (field types joined by "-":
-- bool, uint8, int32, uint64, int, string, pointer), count=1000,
-- size=0 (> 0: allocate this many bytes instead of the struct, e.g. the
-- sizes some text claims the struct has).
local fields = param("fields", "bool-uint64-string")
local count = param("count", 1000)
local size = param("size", 0)

-- size, alignment and whether it is a pointer, amd64 (Go spec, unsafe)
local types = {
  bool = {1, 1, false}, uint8 = {1, 1, false}, int32 = {4, 4, false},
  uint64 = {8, 8, false}, int = {8, 8, false},
  string = {16, 8, true}, pointer = {8, 8, true},
}

local function round_up(n, a) return (n + a - 1) // a * a end

-- the struct's size and whether it contains a pointer
local function layout(spec)
  local offset, align, pointers = 0, 1, false
  for name in string.gmatch(spec, "[^-]+") do
    local t = types[name]
    if not t then error("unknown field type " .. name) end
    offset = round_up(offset, t[2]) + t[1]
    align = math.max(align, t[2])
    pointers = pointers or t[3]
  end
  return round_up(offset, align), pointers
end

local bytes, pointers = layout(fields)
if size > 0 then bytes = size end
print(string.format("%s: %d bytes, %s", fields, bytes,
                    pointers and "scan" or "noscan"))
for _ = 1, count do alloc(bytes, {noscan = not pointers}) end
