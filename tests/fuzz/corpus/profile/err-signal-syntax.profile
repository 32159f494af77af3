format = 1
[vehicle]
make = m
platform = p
[ecu bcm]
request = 0x726
response = 0x72E
[did bcm 0xD100]
name = X
signal = X : 0|8@1+ (1,0) [0|0 ""
