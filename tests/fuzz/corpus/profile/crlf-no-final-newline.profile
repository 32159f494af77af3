format = 1
[vehicle]
make = m
platform = p