; Hyundai i30 (2014) and cars answering with the same cluster frames, on the opendbc
; "hyundai_i30_2014" bus; the shared corpus pairs it with a Genesis capture. Format:
; profiles/README.md. Broadcast frames: dbc/hyundai_i30_2014.dbc (opendbc, MIT,
; dbc/LICENSE.opendbc). Grades as in profiles/README.md ("Grades"). Passive only.
; Not mapped, on purpose: CLU2.CF_Clu_IGNSw reads 0 on the Genesis capture while EMS1
; reports the engine at ~890 rpm (its coding is unknown); CLU1.CF_Clu_Vanz (0x4F0) moves
; between 0 and 5 km/h there while EMS1.VS, the accelerator and the steering-angle speed
; stay 0 (0x4F0 is not this car's speed frame), so speed comes from EMS1.
format = 1

[vehicle]
make = hyundai
platform = i30-2014
; the VIN prefixes this profile is chosen by ([data] profile = auto): Hyundai Motor Manufacturing Czech, where the i30 is built
; (WMIs as in lib/vin.c's table: NHTSA vPIC, ISO 3780 assignments)
wmi = TMA
name = Hyundai i30 2014 (opendbc hyundai_i30_2014)
bus = can0
bitrate = 500000
dbc = hyundai_i30_2014.dbc

; --- doors, trunk, hood: the cluster's copy of the body switches, CLU2 (0x690) ---------
[role door_fl]
dbc_signal = CLU2.CF_Clu_DrvDrSw
map = 0:closed
default = open
source = hyundai_i30_2014.dbc CLU2 (0x690) CF_Clu_DrvDrSw (driver door switch, 2 bits, no VAL_); 0 = closed, anything else open
grade = B

[role door_fr]
dbc_signal = CLU2.CF_Clu_AstDrSw
map = 0:closed
default = open
source = hyundai_i30_2014.dbc CLU2 (0x690) CF_Clu_AstDrSw (assistant door switch, 2 bits, no VAL_); 0 = closed, anything else open
grade = B

[role ajar]
dbc_signal = CLU2.CF_Clu_TrunkTgSw
map = 0:closed
default = open
source = hyundai_i30_2014.dbc CLU2 (0x690) CF_Clu_TrunkTgSw (trunk / tailgate switch, 2 bits, no VAL_); 0 = closed, anything else open
grade = B

[role hood]
dbc_signal = CLU2.CF_Clu_HoodSw
map = 0:closed
default = open
source = hyundai_i30_2014.dbc CLU2 (0x690) CF_Clu_HoodSw (hood switch, 2 bits, no VAL_); 0 = closed, anything else open
grade = B

[role speed]
dbc_signal = EMS1.VS
source = hyundai_i30_2014.dbc EMS1 (0x316) VS, 1 "km/h" (the engine ECU's vehicle speed)
grade = A
