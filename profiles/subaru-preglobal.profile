; Subaru cars before the "global" platform (Forester 2017, Outback 2015-2019, WRX / STI VA,
; and the Toyota 86 / Subaru BRZ twins sharing the frames), opendbc
; "subaru_forester_2017": BodyInfo (0x374) carries the doors and the hatch / trunk.
; Format: profiles/README.md. Broadcast frames: dbc/subaru_forester_2017_generated.dbc
; (opendbc, MIT, dbc/LICENSE.opendbc). Grades as in profiles/README.md ("Grades").
; Passive only. BodyInfo comes once a second: a door opened and closed within it is missed.
format = 1

[vehicle]
make = subaru
platform = preglobal
; the VIN prefixes this profile is chosen by ([data] profile = auto): Subaru of Japan and Indiana
; (WMIs as in lib/vin.c's table: NHTSA vPIC, ISO 3780 assignments)
wmi = 4S3 4S4 JF1 JF2
name = Subaru pre-global platform (opendbc subaru_forester_2017)
bus = can0
bitrate = 500000
dbc = subaru_forester_2017_generated.dbc

[role door_fl]
dbc_signal = BodyInfo.DOOR_OPEN_FL
source = subaru_forester_2017_generated.dbc BodyInfo (0x374) DOOR_OPEN_FL, 1 bit; 1 = open from the name (no VAL_)
grade = B

[role door_fr]
dbc_signal = BodyInfo.DOOR_OPEN_FR
source = subaru_forester_2017_generated.dbc BodyInfo (0x374) DOOR_OPEN_FR, 1 bit; 1 = open from the name
grade = B

[role door_rl]
dbc_signal = BodyInfo.DOOR_OPEN_RL
source = subaru_forester_2017_generated.dbc BodyInfo (0x374) DOOR_OPEN_RL, 1 bit; 1 = open from the name
grade = B

[role door_rr]
dbc_signal = BodyInfo.DOOR_OPEN_RR
source = subaru_forester_2017_generated.dbc BodyInfo (0x374) DOOR_OPEN_RR, 1 bit; 1 = open from the name
grade = B

[role ajar]
dbc_signal = BodyInfo.DOOR_OPEN_Hatch
source = subaru_forester_2017_generated.dbc BodyInfo (0x374) DOOR_OPEN_Hatch (hatch or trunk lid), 1 bit; 1 = open from the name
grade = B

[role speed]
dbc_signal = Brake_Pedal.Speed
source = subaru_forester_2017_generated.dbc Brake_Pedal (0xD1) Speed, 0.05625 "KPH"
grade = A

[role gear]
dbc_signal = Transmission.Gear
map = 15:park, 14:reverse, 0:neutral, 1:drive, 2:drive, 3:drive, 4:drive, 5:drive, 6:drive
source = subaru_forester_2017_generated.dbc Transmission (0x148) Gear, VAL_ 15 "P" 14 "R" 0 "N" 1-6 "D" and its comment (15 = P, 14 = R, 0 = N, 1-6 = gear); raw values, because "D" labels six of them
grade = A
