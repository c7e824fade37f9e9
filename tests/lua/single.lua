-- single: one simulated thread; its results must not depend on the
-- schedule (--quantum, --schedule).
spawn(function()
  local r = rng("single")
  local live = {}
  for i = 1, 5000 do
    local k = r:int(1, 64)
    if live[k] then free(live[k]) end
    live[k] = alloc(r:int(1, 4096))
    if i % 1000 == 0 then sleep(100000) end
  end
end)
