format = 1
[vehicle]
make = m
platform = p
wmi = 1FO 1FMX
