for i = 1, 1000 do
  alloc(MiB)
end
