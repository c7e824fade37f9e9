-- determinism: threads on a random schedule, streams, math.random, a
-- generator; the results must depend only on the seed.
local ch = channel(8)
for p = 1, 3 do
  spawn(function()
    local r = rng("p" .. p)
    for i = 1, 2000 do ch:send(alloc(r:lognormal(5, 1))) end
  end)
end
spawn(function()
  for i = 1, 6000 do
    local o = ch:recv()
    if math.random() < 0.9 then free(o) end
  end
end)
wait()
steady{events = 20000, size = dist.pareto(1.5, 16), live = 500}
