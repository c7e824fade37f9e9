local function f()
  alloc(16)
  error("boom")
end
f()
