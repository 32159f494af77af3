; GM Global A vehicles, the single-wire low-speed body bus (GMLAN SW-LS, 33.3 kbit/s, OBD
; pin 1), opendbc "gm_global_a_lowspeed_1818125". Format: profiles/README.md. Broadcast
; frames: dbc/gm_global_a_lowspeed_1818125.dbc (opendbc, MIT, dbc/LICENSE.opendbc).
; Grades as in profiles/README.md ("Grades"). Passive only.
; The DBC has no VAL_ tables: every value coding below is read from the signal names.
; GMLAN 29-bit ids carry the sender's source address in their low 13 bits; this DBC lists
; each frame with source 0, so frames from a node with another address do not match (the
; analyzer then warns that the capture's frames are not this DBC's).
format = 1

[vehicle]
make = gm
platform = global-a-lowspeed
; the VIN prefixes this profile is chosen by ([data] profile = auto): GM of North America (whole blocks), Korea and SAIC-GM
; (WMIs as in lib/vin.c's table: NHTSA vPIC, ISO 3780 assignments)
wmi = 1G 2G 3G 5GA KL1 KL4 KL7 LSG
name = GM Global A single-wire low-speed body bus (opendbc gm_global_a_lowspeed_1818125)
bus = can0
bitrate = 33333
dbc = gm_global_a_lowspeed_1818125.dbc

[role ajar]
dbc_signal = Rear_Closure_Ajar_Switch_Status.RrClosAjarSwAct
source = gm_global_a_lowspeed_1818125.dbc Rear_Closure_Ajar_Switch_Status (0x06AA000) RrClosAjarSwAct (rear closure ajar switch active), 1 bit; 1 = ajar from the name
grade = B

[role door_fl]
dbc_signal = Driver_Door_Status.DDAjrSwAtv
source = gm_global_a_lowspeed_1818125.dbc Driver_Door_Status (0x0630000) DDAjrSwAtv (driver door ajar switch active), 1 bit; 1 = open from the name; driver = front left on a left-hand-drive car
grade = B

[role door_fr]
dbc_signal = Passenger_Door_Status_LS.PDAjrSwAtv
source = gm_global_a_lowspeed_1818125.dbc Passenger_Door_Status_LS (0x02F6000) PDAjrSwAtv (passenger door ajar switch active), 1 bit; 1 = open from the name
grade = B

[role door_rl]
dbc_signal = Left_Rear_Door_Status.RLDoorAjarSwAct
source = gm_global_a_lowspeed_1818125.dbc Left_Rear_Door_Status (0x02F8000) RLDoorAjarSwAct, 1 bit; 1 = open from the name
grade = B

[role door_rr]
dbc_signal = Right_Rear_Door_Status.RRDoorAjarSwAct
source = gm_global_a_lowspeed_1818125.dbc Right_Rear_Door_Status (0x02FA000) RRDoorAjarSwAct, 1 bit; 1 = open from the name
grade = B

[role fob_battery_low]
dbc_signal = Fob_Status_LS.RFRmtCntFobBatLw
source = gm_global_a_lowspeed_1818125.dbc Fob_Status_LS (0x0718000) RFRmtCntFobBatLw (RF remote control fob battery low), 1 bit; 1 = low from the name
grade = B

[role fob_index]
dbc_signal = Fob_Status_LS.RFRmtCntFobNm
source = gm_global_a_lowspeed_1818125.dbc Fob_Status_LS (0x0718000) RFRmtCntFobNm (fob number, 3 bits); whether it counts from 0 or 1 is not stated
grade = C

[role lock_request]
dbc_signal = Drv_Dr_Key_Cyl_Status_LS.DrvrDrKeyCylUlkSwAct
map = 0:none, 1:key_cylinder
source = gm_global_a_lowspeed_1818125.dbc Drv_Dr_Key_Cyl_Status_LS (0x0790000) DrvrDrKeyCylUlkSwAct (driver door key cylinder unlock switch active), 1 bit
grade = B

[role speed]
dbc_signal = Vehicle_Speed_Information.VehSpdAvgDrvn
source = gm_global_a_lowspeed_1818125.dbc Vehicle_Speed_Information (0x0210000) VehSpdAvgDrvn (average driven-wheel speed), 0.015625 "km / h"
grade = A

[role ignition]
dbc_signal = System_Power_Mode_LS.SysPwrMd
map = 0:off, 1:accessory, 2:run, 3:start
source = gm_global_a_lowspeed_1818125.dbc System_Power_Mode_LS (0x0242000) SysPwrMd, 2 bits, no VAL_; the GMLAN system power mode coding (off, accessory, run, crank request) is a convention this DBC does not state
grade = C
