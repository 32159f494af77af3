; Tesla Model 3 (and Model Y on the same vehicle bus), opendbc "tesla_model3_vehicle": the
; body controllers VCLEFT / VCRIGHT report every door latch and the trunk latch. Format:
; profiles/README.md. Broadcast frames: dbc/tesla_model3_vehicle.dbc (opendbc, MIT,
; dbc/LICENSE.opendbc). Grades as in profiles/README.md ("Grades"). Passive only.
; This DBC has no vehicle speed (it is on the party bus, tesla_model3_party): speed is not
; observable with this profile, so neither are the rules that need it.
format = 1

[vehicle]
make = tesla
platform = model3
; the VIN prefixes this profile is chosen by ([data] profile = auto): Tesla Fremont, Austin, Shanghai and Berlin
; (WMIs as in lib/vin.c's table: NHTSA vPIC, ISO 3780 assignments)
wmi = 5YJ 7SA LRW XP7
name = Tesla Model 3 vehicle bus (opendbc tesla_model3_vehicle)
bus = can0
bitrate = 500000
dbc = tesla_model3_vehicle.dbc

; --- the trunk: its latch and whether the lid is open (VCRIGHT_doorStatus, 0x103) -------
[role latch]
dbc_signal = VCRIGHT_doorStatus.VCRIGHT_trunkLatchStatus
map = LATCH_CLOSED:latched, LATCH_OPENED:released, LATCH_AJAR:released
source = tesla_model3_vehicle.dbc VCRIGHT_doorStatus (0x103) VCRIGHT_trunkLatchStatus, VAL_ 2 "LATCH_CLOSED" 1 "LATCH_OPENED" 5 "LATCH_AJAR" (opening, closing, SNA, fault give no value)
grade = A

[role ajar]
dbc_signal = VCRIGHT_doorStatus.VCRIGHT_trunkLatchStatus
map = LATCH_CLOSED:closed, LATCH_OPENED:open, LATCH_AJAR:open
source = tesla_model3_vehicle.dbc VCRIGHT_doorStatus (0x103) VCRIGHT_trunkLatchStatus: the lid is open when its latch is open or ajar (the car reports the latch, no separate lid switch)
grade = B

; --- doors: each door's latch (VCLEFT_doorStatus 0x102, VCRIGHT_doorStatus 0x103) ------
[role door_fl]
dbc_signal = VCLEFT_doorStatus.VCLEFT_frontLatchStatus
map = LATCH_CLOSED:closed, LATCH_OPENED:open, LATCH_AJAR:open
source = tesla_model3_vehicle.dbc VCLEFT_doorStatus (0x102) VCLEFT_frontLatchStatus, VAL_ LATCH_CLOSED / LATCH_OPENED / LATCH_AJAR
grade = A

[role door_rl]
dbc_signal = VCLEFT_doorStatus.VCLEFT_rearLatchStatus
map = LATCH_CLOSED:closed, LATCH_OPENED:open, LATCH_AJAR:open
source = tesla_model3_vehicle.dbc VCLEFT_doorStatus (0x102) VCLEFT_rearLatchStatus, VAL_ LATCH_CLOSED / LATCH_OPENED / LATCH_AJAR
grade = A

[role door_fr]
dbc_signal = VCRIGHT_doorStatus.VCRIGHT_frontLatchStatus
map = LATCH_CLOSED:closed, LATCH_OPENED:open, LATCH_AJAR:open
source = tesla_model3_vehicle.dbc VCRIGHT_doorStatus (0x103) VCRIGHT_frontLatchStatus, VAL_ LATCH_CLOSED / LATCH_OPENED / LATCH_AJAR
grade = A

[role door_rr]
dbc_signal = VCRIGHT_doorStatus.VCRIGHT_rearLatchStatus
map = LATCH_CLOSED:closed, LATCH_OPENED:open, LATCH_AJAR:open
source = tesla_model3_vehicle.dbc VCRIGHT_doorStatus (0x103) VCRIGHT_rearLatchStatus, VAL_ LATCH_CLOSED / LATCH_OPENED / LATCH_AJAR
grade = A

; --- vehicle state ------------------------------------------------------------------
[role gear]
dbc_signal = DI_systemStatus.DI_gear
map = DI_GEAR_P:park, DI_GEAR_R:reverse, DI_GEAR_N:neutral, DI_GEAR_D:drive
source = tesla_model3_vehicle.dbc DI_systemStatus (0x118) DI_gear, VAL_ 1 "DI_GEAR_P" 2 "DI_GEAR_R" 3 "DI_GEAR_N" 4 "DI_GEAR_D" (INVALID and SNA give no value)
grade = A

[role bcm_supply_voltage]
dbc_signal = VCRIGHT_status.VCRIGHT_vbatProt
source = tesla_model3_vehicle.dbc VCRIGHT_status (0x343) VCRIGHT_vbatProt, "V": the right body controller's protected 12 V supply
grade = B
