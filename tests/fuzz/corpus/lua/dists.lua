local r = rng('sizes')
local d = dist.lognormal(5, 1)
local hs = {}
for i = 1, 200 do
  hs[#hs + 1] = alloc(math.floor(d:sample(r)) % 100000)
  if r:uniform() < 0.4 then free(table.remove(hs, r:int(1, #hs))) end
end
for _, h in ipairs(hs) do free(h) end
