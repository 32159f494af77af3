format = 1
[vehicle]
make = m
platform = p
[ecu bcm]
request = 0x726
response = 0x72E
[dtc bcm B1A40-13]
text = a
source = b
[dtc bcm B1A40-13]
text = a
source = b
