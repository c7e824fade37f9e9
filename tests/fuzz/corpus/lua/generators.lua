phase('ramp')
local s = ramp{to = 2 * MiB, size = dist.uniform(16, 4096)}
phase('steady')
steady{events = 2000, size = dist.choice({16, 32, 64, 1024}), live = 100}
s:drop(s:count() // 2, 'oldest')
gc()
s:free_all()
