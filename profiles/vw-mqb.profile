; Volkswagen group cars on the MQB platform (Golf 7, Passat B8, Tiguan, Octavia 3, A3 8V,
; ...), opendbc "vw_mqb": the gateway's Gateway_72 carries the central locking's door,
; tailgate and hood contacts (ZV_*_offen = "Zentralverriegelung: ... offen"). Format:
; profiles/README.md. Broadcast frames: dbc/vw_mqb.dbc (opendbc, MIT, dbc/LICENSE.opendbc).
; Grades as in profiles/README.md ("Grades"). Passive only.
format = 1

[vehicle]
make = vw
platform = mqb
; the VIN prefixes this profile is chosen by ([data] profile = auto): Volkswagen group brands on MQB: VW, Audi, Skoda, SEAT, and their plants
; (WMIs as in lib/vin.c's table: NHTSA vPIC, ISO 3780 assignments)
wmi = 1VW 3VV 3VW 9BW AAV LFV LSV TMB TRU VSS WA1 WAU WUA WVG WVW
name = Volkswagen MQB (opendbc vw_mqb)
bus = can0
bitrate = 500000
dbc = vw_mqb.dbc

[role door_fl]
dbc_signal = Gateway_72.ZV_FT_offen
source = vw_mqb.dbc Gateway_72 (0x3DB) ZV_FT_offen (Fahrertuer offen: driver's door open), 1 bit; 1 = open from the name; driver = front left on a left-hand-drive car
grade = B

[role door_fr]
dbc_signal = Gateway_72.ZV_BT_offen
source = vw_mqb.dbc Gateway_72 (0x3DB) ZV_BT_offen (Beifahrertuer offen: passenger's door open), 1 bit; 1 = open from the name
grade = B

[role door_rl]
dbc_signal = Gateway_72.ZV_HFS_offen
source = vw_mqb.dbc Gateway_72 (0x3DB) ZV_HFS_offen (Hintertuer Fahrerseite offen: rear door, driver's side), 1 bit; 1 = open from the name
grade = B

[role door_rr]
dbc_signal = Gateway_72.ZV_HBFS_offen
source = vw_mqb.dbc Gateway_72 (0x3DB) ZV_HBFS_offen (Hintertuer Beifahrerseite offen: rear door, passenger's side), 1 bit; 1 = open from the name
grade = B

[role ajar]
dbc_signal = Gateway_72.ZV_HD_offen
source = vw_mqb.dbc Gateway_72 (0x3DB) ZV_HD_offen (Heckdeckel offen: tailgate / trunk lid open), 1 bit; 1 = open from the name
grade = B

[role hood]
dbc_signal = Gateway_72.BCM1_MH_Schalter
source = vw_mqb.dbc Gateway_72 (0x3DB) BCM1_MH_Schalter (Motorhaube Schalter: hood switch), 1 bit; 1 = open is inferred
grade = C

[role ignition]
dbc_signal = Klemmen_Status_01.ZAS_Kl_15
map = 0:off, 1:run
source = vw_mqb.dbc Klemmen_Status_01 (0x3C0) ZAS_Kl_15 (terminal 15), comment "Indicates ignition on"; accessory and start are not told apart
grade = A

[role speed]
dbc_signal = ESP_21.ESP_v_Signal
source = vw_mqb.dbc ESP_21 (0xFD) ESP_v_Signal, 0.01 "Unit_KiloMeterPerHour"
grade = A

[role gear]
dbc_signal = Gateway_73.GE_Fahrstufe
map = 5:park, 6:reverse, 7:neutral, 8:drive, 9:drive, 10:drive, 13:drive, 14:drive
source = vw_mqb.dbc Gateway_73 (0x3DC) GE_Fahrstufe, VAL_ 5 "P" 6 "R" 7 "N" 8 "D" 9 "D" 10 "E" 13 "T" 14 "T" (0 "Zwischenstellung", 1 "Init", 15 "Fehler" give no value); raw values, because "D" labels two of them
grade = A
