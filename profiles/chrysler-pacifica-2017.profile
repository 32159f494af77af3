; Chrysler Pacifica (2017+) and the FCA cars of the openpilot Chrysler port sharing its
; frames (opendbc "chrysler_pacifica_2017_hybrid"): BCM_1 carries the doors and the
; liftgate. Format: profiles/README.md. Broadcast frames:
; dbc/chrysler_pacifica_2017_hybrid_generated.dbc (opendbc, MIT, dbc/LICENSE.opendbc).
; Grades as in profiles/README.md ("Grades"). Passive only.
format = 1

[vehicle]
make = chrysler
platform = pacifica-2017
; the VIN prefixes this profile is chosen by ([data] profile = auto): FCA (Chrysler, Dodge, Jeep, Ram) built in the US, Canada and Mexico
; (WMIs as in lib/vin.c's table: NHTSA vPIC, ISO 3780 assignments)
wmi = 1C3 1C4 1C6 2C3 2C4 3C4 3C6
name = Chrysler Pacifica 2017 and FCA siblings (opendbc chrysler_pacifica_2017_hybrid)
bus = can0
bitrate = 500000
dbc = chrysler_pacifica_2017_hybrid_generated.dbc

[role door_fl]
dbc_signal = BCM_1.DOOR_OPEN_FL
source = chrysler_pacifica_2017_hybrid_generated.dbc BCM_1 (0x334) DOOR_OPEN_FL, 1 bit; 1 = open from the name (the CUSW DBC of the same maker comments "1 = open, 0 = closed" on its own door bits)
grade = B

[role door_fr]
dbc_signal = BCM_1.DOOR_OPEN_FR
source = chrysler_pacifica_2017_hybrid_generated.dbc BCM_1 (0x334) DOOR_OPEN_FR, 1 bit; 1 = open from the name
grade = B

[role door_rl]
dbc_signal = BCM_1.DOOR_OPEN_RL
source = chrysler_pacifica_2017_hybrid_generated.dbc BCM_1 (0x334) DOOR_OPEN_RL (the left sliding door on a Pacifica), 1 bit; 1 = open from the name
grade = B

[role door_rr]
dbc_signal = BCM_1.DOOR_OPEN_RR
source = chrysler_pacifica_2017_hybrid_generated.dbc BCM_1 (0x334) DOOR_OPEN_RR (the right sliding door on a Pacifica), 1 bit; 1 = open from the name
grade = B

[role ajar]
dbc_signal = BCM_1.DOOR_OPEN_TRUNK
source = chrysler_pacifica_2017_hybrid_generated.dbc BCM_1 (0x334) DOOR_OPEN_TRUNK (liftgate), 1 bit; 1 = open from the name
grade = B

[role speed]
dbc_signal = ESP_8.Vehicle_Speed
source = chrysler_pacifica_2017_hybrid_generated.dbc ESP_8 (0x11C) Vehicle_Speed, 0.0078125 "km/h"
grade = A

[role gear]
dbc_signal = GEAR.PRNDL
map = P:park, R:reverse, N:neutral, D:drive, L:drive
source = chrysler_pacifica_2017_hybrid_generated.dbc GEAR (0x2EA) PRNDL, VAL_ 1 "P" 2 "R" 3 "N" 4 "D" 5 "L"
grade = A
