format = 2
