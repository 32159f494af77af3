; Ford / Lincoln vehicles on the opendbc "ford_lincoln_base_pt" powertrain/body CAN
; (CAN 2.0 Ford platforms; opendbc uses it for the Ford car ports). Format:
; profiles/README.md. Broadcast frames: dbc/ford_lincoln_base_pt.dbc (opendbc, MIT, see
; dbc/LICENSE.opendbc). Every [role] names the message and signal it reads and why;
; grades: A = the DBC's own VAL_ labels or comment state the values, B = the signal's
; name says what it is but the values are inferred, C = a convention the DBC does not
; state (profiles/README.md, "Grades").
; No diagnostic ECU is declared: no public source was checked for this platform's BCM
; address here, so the profile works passively (listening only).
format = 1

[vehicle]
make = ford
platform = ford-lincoln-base
; the VIN prefixes this profile is chosen by ([data] profile = auto): Ford and Lincoln plants worldwide
; (WMIs as in lib/vin.c's table: NHTSA vPIC, ISO 3780 assignments)
wmi = 1FA 1FD 1FM 1FT 1LN 2FA 2FM 2FT 2LM 3FA 3FM 3LN 5LM 6FP 8AF 9BF LVS MAJ MNB NM0 SFA VS6 WF0
name = Ford / Lincoln (opendbc ford_lincoln_base_pt)
bus = can0
bitrate = 500000
dbc = ford_lincoln_base_pt.dbc

; --- doors, liftgate, hood: BodyInfo_3_FD1 (0x3B3), VAL_ "Ajar" / "Closed" ----------------
[role door_fl]
dbc_signal = BodyInfo_3_FD1.DrStatDrv_B_Actl
map = Closed:closed, Ajar:open
source = ford_lincoln_base_pt.dbc BodyInfo_3_FD1 (0x3B3) DrStatDrv_B_Actl, VAL_ 1 "Ajar" 0 "Closed"; the driver's door, front left on a left-hand-drive car
grade = A

[role door_fr]
dbc_signal = BodyInfo_3_FD1.DrStatPsngr_B_Actl
map = Closed:closed, Ajar:open
source = ford_lincoln_base_pt.dbc BodyInfo_3_FD1 (0x3B3) DrStatPsngr_B_Actl, VAL_ 1 "Ajar" 0 "Closed"; the passenger's door (front right, left-hand drive)
grade = A

[role door_rl]
dbc_signal = BodyInfo_3_FD1.DrStatRl_B_Actl
map = Closed:closed, Ajar:open
source = ford_lincoln_base_pt.dbc BodyInfo_3_FD1 (0x3B3) DrStatRl_B_Actl, VAL_ 1 "Ajar" 0 "Closed"
grade = A

[role door_rr]
dbc_signal = BodyInfo_3_FD1.DrStatRr_B_Actl
map = Closed:closed, Ajar:open
source = ford_lincoln_base_pt.dbc BodyInfo_3_FD1 (0x3B3) DrStatRr_B_Actl, VAL_ 1 "Ajar" 0 "Closed"
grade = A

[role ajar]
dbc_signal = BodyInfo_3_FD1.DrStatTgate_B_Actl
map = Closed:closed, Ajar:open
source = ford_lincoln_base_pt.dbc BodyInfo_3_FD1 (0x3B3) DrStatTgate_B_Actl (tailgate / liftgate), VAL_ 1 "Ajar" 0 "Closed"
grade = A

[role hood]
dbc_signal = BodyInfo_3_FD1.DrStatHood_B_Actl
map = Closed:closed, Ajar:open
source = ford_lincoln_base_pt.dbc BodyInfo_3_FD1 (0x3B3) DrStatHood_B_Actl, VAL_ 1 "Ajar" 0 "Closed"
grade = A

[role ignition]
dbc_signal = BodyInfo_3_FD1.Ignition_Status
map = Off:off, Accessory:accessory, Run:run, Start:start
source = ford_lincoln_base_pt.dbc BodyInfo_3_FD1 (0x3B3) Ignition_Status, VAL_ 1 "Off" 2 "Accessory" 4 "Run" 8 "Start" (0 "Unknown" and 15 "Invalid" give no value)
grade = A

; --- locks and requests: Locking_Systems_2_FD1 (0x331) ---------------------------------
[role lock_request]
dbc_signal = Locking_Systems_2_FD1.Veh_Lock_Requestor
map = Null:none, Remote:fob, Interior:interior, Keypad:keypad, Key_Cylinder:key_cylinder
map = Passive:passive, Passive_Driver:passive, Passive_Pasenger:passive, Passive_Smart_Unlock:passive
map = Diagnostics:tester, Autolock:auto, Auto_Unlock:auto, Autorelock:auto, RemoteStart:remote_start
map = SYNC:app
default = other
source = ford_lincoln_base_pt.dbc Locking_Systems_2_FD1 (0x331) Veh_Lock_Requestor, VAL_ labels (8 "Remote" = the key fob, 3 "Interior", 5 "Keypad", 4 "Key_Cylinder", 9 "Passive", 23 "Diagnostics", ...); the last lock change's requestor, counted by Veh_Lock_EvNum
grade = A

[role lock_state]
dbc_signal = Locking_Systems_2_FD1.Veh_Lock_Status
map = LOCK_DBL:double_locked, LOCK_ALL:locked, UNLOCK_ALL:unlocked, UNLOCK_DRV:partly_unlocked
source = ford_lincoln_base_pt.dbc Locking_Systems_2_FD1 (0x331) Veh_Lock_Status, VAL_ 0 "LOCK_DBL" 1 "LOCK_ALL" 2 "UNLOCK_ALL" 3 "UNLOCK_DRV"
grade = A

[role release_request]
dbc_signal = Locking_Systems_2_FD1.Power_Liftgate_Rqst
map = Null:none, Active:source_unknown
source = ford_lincoln_base_pt.dbc Locking_Systems_2_FD1 (0x331) Power_Liftgate_Rqst, VAL_ 1 "Active" 0 "Null"; that it is the release/open request is the name's reading, and it does not say who asked
grade = B
note = sedans with a power decklid carry Power_Decklid_Rqst (bit 1) in the same frame instead: map that one there

[role interior_switch]
dbc_signal = Power_Liftgate_Stat_FD1.PwLftgtIntSw_B_Stat
map = Null:released, Pressed:pressed
source = ford_lincoln_base_pt.dbc Power_Liftgate_Stat_FD1 (0x313) PwLftgtIntSw_B_Stat (power liftgate interior switch), VAL_ 1 "Pressed" 0 "Null"
grade = A

; --- vehicle state ------------------------------------------------------------------
[role speed]
dbc_signal = BrakeSysFeatures.Veh_V_ActlBrk
source = ford_lincoln_base_pt.dbc BrakeSysFeatures (0x415) Veh_V_ActlBrk, 0.01 "kph" (the ABS module's vehicle speed)
grade = A

[role gear]
dbc_signal = PowertrainData_10.GearLvr_D_ActlDrv
map = Park:park, Reverse:reverse, Neutral:neutral, Drive:drive, Sport_DriveSport_Mposition:drive, Low:drive
map = Range1_M1_L1:drive, Range2_M2_L2:drive, Range3_M3_L3:drive, Range4:drive, Range5:drive, Range6:drive
source = ford_lincoln_base_pt.dbc PowertrainData_10 (0x176) GearLvr_D_ActlDrv, VAL_ 0 "Park" 1 "Reverse" 2 "Neutral" 3 "Drive" ... (14 "Unknown_Position" and 15 "Fault" give no value)
grade = A

[role battery_voltage]
dbc_signal = Body_Info_4_FD1.BattULo_U_Actl
source = ford_lincoln_base_pt.dbc Body_Info_4_FD1 (0x242) BattULo_U_Actl, 0.0625 "volt" (the low-voltage, 12 V, battery); raw 255 "Fault" reads as 15.94 V
grade = A
