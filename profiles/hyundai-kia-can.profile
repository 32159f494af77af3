; Hyundai / Kia / Genesis cars on the opendbc "hyundai_can" bus (CAN 2.0 platforms of the
; openpilot Hyundai port): the gateway's body frames CGW1 / CGW2 carry the door, trunk and
; hood switches. Format: profiles/README.md. Broadcast frames:
; dbc/hyundai_can_generated.dbc (opendbc, MIT, dbc/LICENSE.opendbc). Grades as in
; profiles/README.md ("Grades"). No diagnostic ECU is declared: passive only.
format = 1

[vehicle]
make = hyundai
platform = hyundai-can
; the VIN prefixes this profile is chosen by ([data] profile = auto): Hyundai, Kia and Genesis (Korea, the US, India, Slovakia)
; (WMIs as in lib/vin.c's table: NHTSA vPIC, ISO 3780 assignments)
wmi = 3KP 5NM 5NP 5XX 5XY KM8 KMH KMT KNA KND MAL U5Y U6Y
name = Hyundai / Kia / Genesis (opendbc hyundai_can)
bus = can0
bitrate = 500000
dbc = hyundai_can_generated.dbc

; --- doors, trunk, hood: CGW1 (0x541), CGW2 (0x553) -------------------------------------
[role door_fl]
dbc_signal = CGW1.CF_Gway_DrvDrSw
map = 0:closed
default = open
source = hyundai_can_generated.dbc CGW1 (0x541) CF_Gway_DrvDrSw (driver door switch, 2 bits, no VAL_); 0 = closed, anything else open, as the switch name and the openpilot Hyundai port read it; driver = front left on a left-hand-drive car
grade = B

[role door_fr]
dbc_signal = CGW1.CF_Gway_AstDrSw
source = hyundai_can_generated.dbc CGW1 (0x541) CF_Gway_AstDrSw (assistant door switch, 1 bit); 1 = open
grade = B

[role door_rl]
dbc_signal = CGW2.CF_Gway_RLDrSw
source = hyundai_can_generated.dbc CGW2 (0x553) CF_Gway_RLDrSw (rear left door switch, 1 bit); 1 = open
grade = B

[role door_rr]
dbc_signal = CGW2.CF_Gway_RRDrSw
source = hyundai_can_generated.dbc CGW2 (0x553) CF_Gway_RRDrSw (rear right door switch, 1 bit); 1 = open
grade = B

[role ajar]
dbc_signal = CGW1.CF_Gway_TrunkTgSw
map = 0:closed
default = open
source = hyundai_can_generated.dbc CGW1 (0x541) CF_Gway_TrunkTgSw (trunk / tailgate switch, 2 bits, no VAL_); 0 = closed, anything else open
grade = B

[role hood]
dbc_signal = CGW1.CF_Gway_HoodSw
map = 0:closed
default = open
source = hyundai_can_generated.dbc CGW1 (0x541) CF_Gway_HoodSw (hood switch, 2 bits, no VAL_); 0 = closed, anything else open
grade = B

; --- vehicle state ------------------------------------------------------------------
[role speed]
dbc_signal = EMS11.VS
source = hyundai_can_generated.dbc EMS11 (0x316) VS, 1 "km/h" (the engine ECU's vehicle speed)
grade = A

[role gear]
dbc_signal = LVR12.CF_Lvr_Gear
map = P:park, R:reverse, N:neutral, D:drive, S:drive, T:drive
source = hyundai_can_generated.dbc LVR12 (0x367) CF_Lvr_Gear, VAL_ 0 "P" 5 "D" 6 "N" 7 "R" 8 "S" 12 "T"
grade = A
