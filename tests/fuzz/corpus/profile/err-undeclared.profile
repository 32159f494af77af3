format = 1
[vehicle]
make = m
platform = p
[did abs 0xD100]
