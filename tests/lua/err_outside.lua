spawn(function()
  local co = coroutine.wrap(function() alloc(5) end)
  co()
end)
