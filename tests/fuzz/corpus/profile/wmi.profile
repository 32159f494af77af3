format = 1
[vehicle]
make = m
platform = p
wmi = 1FA, 1FM 1G
[ecu bcm]
request = 0x726
response = 0x72E
