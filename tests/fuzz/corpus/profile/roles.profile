format = 1
[vehicle]
make = m
platform = p
dbc = t.dbc
[ecu bcm]
request = 0x726
response = 0x72E
[did bcm 0xD110]
name = Flags
signal = F1 : 0|1@1+ (1,0) [0|1] ""
values = 0 "off" 1 "on"
signal = F2 : 1|1@1+ (1,0) [0|1] ""
[role actuator_cmd]
dbc_signal = Trunk.Cmd
source = t.dbc Trunk Cmd ; a comment
grade = A
[role release_request]
dbc_signal = 0x3A0.Req
map = Null:none, Remote:fob, "Key Cylinder":key, 2:interior
default = source_unknown
source = t.dbc Trunk Req, VAL_ labels
grade = B
note = 4..7 are not documented
[role speed]
dbc_signal = Trunk.Speed
source = mph by the DBC unit
grade = B
[role speed]
dbc_signal = Trunk.Speed
scale = 1.609344
offset = -0.5
source = the same signal, scaled by hand
grade = C
[role ajar]
dbc_signal = Trunk.Lid
map = -1:open, 0:closed
source = multiplexed
grade = C
[role fob1_trunk_enabled]
did = bcm 0xD110 F1
map = off:disabled, on:enabled
source = DID bit 0
grade = C
[role fob2_trunk_enabled]
did = bcm 0xD110 F2
source = DID bit 1
grade = C
