format = 1
[vehicle]
make = m
platform = p
[ecu bcm]
request = 0x726
response = 0x72E
padding = 0x00
[did bcm 0x0001]
name = A
signal = A : 7|16@0- (0.5,-1) [0|0] "x"
values = 0 "zero" -1 "minus"
[did bcm 0x0002]
name = Any
signal = L : 0|4@1+ (1,0) [0|0] ""
signal = H : 4|4@1+ (1,0) [0|0] ""
[did bcm 0xF190]
name = VIN
ascii = 17
[dtc bcm U3000-49]
text = t ; c
source = "s;s"
