local o = alloc(8)
free(o)
free(o)
