while true do
  free(alloc(1))
end
