local n = param("n", 10)
