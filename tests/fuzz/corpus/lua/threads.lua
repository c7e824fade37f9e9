local ch = channel(4)
spawn(function()
  for i = 1, 50 do ch:send(alloc(i * 8)) end
  ch:close()
end)
spawn(function()
  while true do
    local h = ch:recv()
    if not h then break end
    sleep(1000)
    free(h)
  end
end)
wait()
