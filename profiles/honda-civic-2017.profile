; Honda Civic (10th generation: hatchback, sedan, Type R FK8) and Honda cars sharing its
; body and powertrain frames on the opendbc "honda_civic_hatchback_ex_2017_can" bus.
; Format: profiles/README.md. Broadcast frames: dbc/honda_civic_hatchback_ex_2017_can_generated.dbc
; (opendbc, MIT, dbc/LICENSE.opendbc). Grades as in profiles/README.md ("Grades").
; No diagnostic ECU is declared (no public BCM address checked): passive only.
format = 1

[vehicle]
make = honda
platform = civic-2017
; the VIN prefixes this profile is chosen by ([data] profile = auto): Honda; the only Honda profile here, so every Honda WMI comes to it
; (WMIs as in lib/vin.c's table: NHTSA vPIC, ISO 3780 assignments)
wmi = 19X 1HG 2HG 2HK 3HG 5FN 5J6 93H JHL JHM LHG LVH MRH SHH SHS
name = Honda Civic 10th gen (opendbc honda_civic_hatchback_ex_2017_can)
bus = can0
bitrate = 500000
dbc = honda_civic_hatchback_ex_2017_can_generated.dbc

; --- doors and trunk: DOORS_STATUS (0x405), one bit each, 1 = open ----------------------
[role door_fl]
dbc_signal = DOORS_STATUS.DOOR_OPEN_FL
source = honda_civic_hatchback_ex_2017_can_generated.dbc DOORS_STATUS (0x405) DOOR_OPEN_FL, 1 bit; 1 = open from the name (no VAL_)
grade = B

[role door_fr]
dbc_signal = DOORS_STATUS.DOOR_OPEN_FR
source = honda_civic_hatchback_ex_2017_can_generated.dbc DOORS_STATUS (0x405) DOOR_OPEN_FR, 1 bit; 1 = open from the name
grade = B

[role door_rl]
dbc_signal = DOORS_STATUS.DOOR_OPEN_RL
source = honda_civic_hatchback_ex_2017_can_generated.dbc DOORS_STATUS (0x405) DOOR_OPEN_RL, 1 bit; 1 = open from the name
grade = B

[role door_rr]
dbc_signal = DOORS_STATUS.DOOR_OPEN_RR
source = honda_civic_hatchback_ex_2017_can_generated.dbc DOORS_STATUS (0x405) DOOR_OPEN_RR, 1 bit; 1 = open from the name
grade = B

[role ajar]
dbc_signal = DOORS_STATUS.TRUNK_OPEN
source = honda_civic_hatchback_ex_2017_can_generated.dbc DOORS_STATUS (0x405) TRUNK_OPEN (trunk or tailgate), 1 bit; 1 = open from the name
grade = B

; --- vehicle state ------------------------------------------------------------------
[role speed]
dbc_signal = CAR_SPEED.CAR_SPEED
source = honda_civic_hatchback_ex_2017_can_generated.dbc CAR_SPEED (0x309) CAR_SPEED, 0.01 "kph"
grade = A

[role gear]
dbc_signal = GEARBOX_CVT.GEAR_SHIFTER
map = P:park, R:reverse, N:neutral, D:drive, L:drive, S:drive, B:drive
source = honda_civic_hatchback_ex_2017_can_generated.dbc GEARBOX_CVT (0x191) GEAR_SHIFTER, VAL_ 1 "P" 2 "R" 3 "N" 4 "D" 7 "L" 10 "S" 11 "B"; CVT cars only (a manual Type R sends no gear)
grade = A
