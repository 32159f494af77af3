format = 1
[vehicle]
make = m
platform = p
[ecu bcm]
request = 0x726
response = 0x72E
[did bcm 0xD100]
name = X
length = 1
signal = X : 7|16@0+ (1,0) [0|0] ""
