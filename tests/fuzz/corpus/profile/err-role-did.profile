format = 1
[vehicle]
make = m
platform = p
[ecu bcm]
request = 0x1
response = 0x2
[role ajar]
did = bcm 0xD999
source = x
grade = B
