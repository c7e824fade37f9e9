local n = param('n', 30)
for i = 1, n do
  free(alloc(i * 24))
  if i % 10 == 0 then work(5000); gc() end
end
print(now(), thread_id())
