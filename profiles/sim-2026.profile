; Vehicle profile of the simulated car that tools/bodydiag-sim implements.
; Format: profiles/README.md. Broadcast frames: dbc/bodydiag-sim.dbc.
; Every DTC number here is the simulator's own; each entry says which real code it is
; modelled on (../shared/docs/trunk-domain.md) and how sure that mapping is:
;   grade A = the real code's meaning is documented in the project's domain notes,
;   grade B = general service knowledge, not checked against an OEM document here,
;   grade C = no real counterpart; behaviour follows SAE J2012 failure-type semantics.
format = 1

[vehicle]
make = bodydiag
platform = sim-2026
; the VIN prefix this profile is chosen by ([data] profile = auto): the simulator's fictitious WMI (bodydiag-sim's VIN 1BDSM2AT5TR000042)
wmi = 1BD
name = bodydiag simulated car (body CAN, trunk release chain)
bus = can0
bitrate = 500000
dbc = bodydiag-sim.dbc

[ecu bcm]
name = Body control module
request = 0x726          ; physical request id
response = 0x72E
padding = 0xAA
p2_ms = 50
p2star_ms = 5000
s3_ms = 5000
; 0x2F on the release output: extended session only, refused (NRC 0x22) at speed > 0,
; out of P, or during the output lockout after a short.
output_control_did = 0xD101
; Routines (0x31, extended session): 0x0201 BCM self-test (answered after 0x78; result
; byte 00 passed / 01 internal fault, then TrunkOutputCircuitStatus); 0x0202 learn the
; trunk function on fob slot N (option byte N; needs 0x27 level 01).

[ecu obd]
name = OBD-II emulation for VIN and speed (engine ECU stand-in)
functional = 0x7DF
request = 0x7E0
response = 0x7E8
padding = 0xAA
p2_ms = 50
p2star_ms = 5000

; --- trunk release chain -----------------------------------------------------------
[did bcm 0xD100]
name = TrunkReleaseRequest
length = 1
signal = TrunkReleaseRequest : 0|8@1+ (1,0) [0|4] ""
values = 0 "idle" 1 "fob" 2 "interior" 3 "exterior" 4 "tester"

[did bcm 0xD101]
name = TrunkActuatorCmd
length = 1
signal = TrunkActuatorCmd : 0|8@1+ (1,0) [0|1] ""
values = 0 "off" 1 "on"

[did bcm 0xD102]
name = TrunkActuatorCurrent
length = 2
signal = TrunkActuatorCurrent : 7|16@0+ (0.01,0) [0|40] "A"

[did bcm 0xD103]
name = TrunkAjar
length = 1
signal = TrunkAjar : 0|8@1+ (1,0) [0|1] ""
values = 0 "closed" 1 "ajar"

[did bcm 0xD104]
name = TrunkInhibitReason
length = 1
signal = TrunkInhibitReason : 0|8@1+ (1,0) [0|9] ""
values = 0 "none" 1 "speed" 2 "gear" 3 "alarm_armed" 4 "valet" 5 "output_lockout" 6 "switch_stuck" 7 "low_voltage" 8 "external_request" 9 "vehicle_locked"

[did bcm 0xD105]
name = TrunkInteriorSwitch
length = 1
signal = TrunkInteriorSwitch : 0|8@1+ (1,0) [0|1] ""
values = 0 "released" 1 "pressed"

[did bcm 0xD106]
name = TrunkExteriorSwitch
length = 1
signal = TrunkExteriorSwitch : 0|8@1+ (1,0) [0|1] ""
values = 0 "released" 1 "pressed"

[did bcm 0xD107]
name = TrunkFuseVoltage
length = 2
signal = TrunkFuseVoltage : 7|16@0+ (0.01,0) [0|20] "V"

[did bcm 0xD108]
name = TrunkOutputLockoutTimer
length = 2
signal = TrunkOutputLockoutTimer : 7|16@0+ (0.1,0) [0|180] "s"

[did bcm 0xD109]
name = TrunkOutputCircuitStatus
length = 1
signal = TrunkOutputCircuitStatus : 0|8@1+ (1,0) [0|4] ""
values = 0 "not_tested" 1 "ok" 2 "open" 3 "short_to_ground" 4 "low_current"

; --- vehicle state -----------------------------------------------------------------
[did bcm 0xD10A]
name = VehicleSpeed
length = 2
signal = VehicleSpeed : 7|16@0+ (0.01,0) [0|300] "km/h"

[did bcm 0xD10B]
name = GearPosition
length = 1
signal = GearPosition : 0|8@1+ (1,0) [0|7] ""
values = 0 "P" 1 "R" 2 "N" 3 "D" 7 "invalid"

[did bcm 0xD10C]
name = IgnitionState
length = 1
signal = IgnitionState : 0|8@1+ (1,0) [0|3] ""
values = 0 "off" 1 "acc" 2 "run" 3 "start"

[did bcm 0xD10D]
name = BatteryVoltage
length = 2
signal = BatteryVoltage : 7|16@0+ (0.01,0) [0|20] "V"

[did bcm 0xD10E]
name = DoorLockState
length = 1
signal = DoorLockState : 0|8@1+ (1,0) [0|1] ""
values = 0 "unlocked" 1 "locked"

[did bcm 0xD10F]
name = PerimeterAlarmState
length = 1
signal = PerimeterAlarmState : 0|8@1+ (1,0) [0|2] ""
values = 0 "disarmed" 1 "arming" 2 "armed"

[did bcm 0xD116]
name = ValetMode
length = 1
signal = ValetMode : 0|8@1+ (1,0) [0|1] ""
values = 0 "off" 1 "on"

[did bcm 0xD117]
name = BcmSupplyVoltage
length = 2
signal = BcmSupplyVoltage : 7|16@0+ (0.01,0) [0|20] "V"

; --- remote keyless entry ----------------------------------------------------------
[did bcm 0xD110]
name = RkeButton
length = 1
signal = RkeButton : 0|8@1+ (1,0) [0|4] ""
values = 0 "NONE" 1 "LOCK" 2 "UNLOCK" 3 "TRUNK" 4 "PANIC"

[did bcm 0xD111]
name = RkeRssi
length = 1
signal = RkeRssi : 0|8@1+ (1,-150) [-150|0] "dBm"
values = 0 "no_signal"

[did bcm 0xD112]
name = RkeFobBatteryLow
length = 1
signal = RkeFobBatteryLow : 0|8@1+ (1,0) [0|1] ""
values = 0 "ok" 1 "low"

[did bcm 0xD113]
name = RkeLastFobUsed
length = 1
signal = RkeLastFobUsed : 0|8@1+ (1,0) [0|7] ""
values = 7 "none"

[did bcm 0xD114]
name = RkeTelegramCounter
length = 1
signal = RkeTelegramCounter : 0|8@1+ (1,0) [0|255] ""

[did bcm 0xD115]
name = RkeTelegramStatus
length = 1
signal = RkeTelegramStatus : 0|8@1+ (1,0) [0|3] ""
values = 0 "idle" 1 "valid" 2 "crc_error" 3 "unknown_fob"

[did bcm 0xD118]
name = FobCount
length = 1
signal = FobCount : 0|8@1+ (1,0) [0|4] ""

[did bcm 0xD119]
name = FobProgrammed
length = 1
signal = Fob1Programmed : 0|1@1+ (1,0) [0|1] ""
values = 0 "no" 1 "yes"
signal = Fob2Programmed : 1|1@1+ (1,0) [0|1] ""
values = 0 "no" 1 "yes"
signal = Fob3Programmed : 2|1@1+ (1,0) [0|1] ""
values = 0 "no" 1 "yes"
signal = Fob4Programmed : 3|1@1+ (1,0) [0|1] ""
values = 0 "no" 1 "yes"

[did bcm 0xD11A]
name = FobTrunkFunctionEnabled
length = 1
signal = Fob1TrunkEnabled : 0|1@1+ (1,0) [0|1] ""
values = 0 "disabled" 1 "enabled"
signal = Fob2TrunkEnabled : 1|1@1+ (1,0) [0|1] ""
values = 0 "disabled" 1 "enabled"
signal = Fob3TrunkEnabled : 2|1@1+ (1,0) [0|1] ""
values = 0 "disabled" 1 "enabled"
signal = Fob4TrunkEnabled : 3|1@1+ (1,0) [0|1] ""
values = 0 "disabled" 1 "enabled"

[did bcm 0xD11B]
name = FobBatteryLow
length = 1
signal = Fob1BatteryLow : 0|1@1+ (1,0) [0|1] ""
values = 0 "ok" 1 "low"
signal = Fob2BatteryLow : 1|1@1+ (1,0) [0|1] ""
values = 0 "ok" 1 "low"
signal = Fob3BatteryLow : 2|1@1+ (1,0) [0|1] ""
values = 0 "ok" 1 "low"
signal = Fob4BatteryLow : 3|1@1+ (1,0) [0|1] ""
values = 0 "ok" 1 "low"

; --- chain roles: where this car shows each role of rules/trunk.rules ------------------
; Every broadcast role also has its DID (the guided test reads them); DID-only roles
; (lockout_timer, output_status, fob_index, fobN_trunk_enabled) need the diagnostic
; connection. Grade A: the simulator defines these signals itself (dbc/README.md,
; tools/bodydiag-sim/README.md), so each mapping is exact by construction.
[role fob_event]
dbc_signal = BCM_RkeStatus.RkeButton
map = NONE:none, LOCK:lock, UNLOCK:unlock, TRUNK:trunk, PANIC:panic
source = bodydiag-sim.dbc BCM_RkeStatus RkeButton
grade = A

[role fob_event]
did = bcm 0xD110
map = NONE:none, LOCK:lock, UNLOCK:unlock, TRUNK:trunk, PANIC:panic
source = sim-2026.profile [did bcm 0xD110] RkeButton
grade = A

[role fob_status]
dbc_signal = BCM_RkeStatus.RkeTelegramStatus
map = idle:idle, valid:valid, crc_error:crc_error, unknown_fob:unknown_fob
source = bodydiag-sim.dbc BCM_RkeStatus RkeTelegramStatus
grade = A

[role fob_status]
did = bcm 0xD115
map = idle:idle, valid:valid, crc_error:crc_error, unknown_fob:unknown_fob
source = sim-2026.profile [did bcm 0xD115] RkeTelegramStatus
grade = A

[role fob_battery_low]
dbc_signal = BCM_RkeStatus.RkeFobBatteryLow
source = bodydiag-sim.dbc BCM_RkeStatus RkeFobBatteryLow
grade = A

[role fob_battery_low]
did = bcm 0xD112
map = ok:ok, low:low
source = sim-2026.profile [did bcm 0xD112] RkeFobBatteryLow
grade = A

[role fob_rssi]
dbc_signal = BCM_RkeStatus.RkeRssi
source = bodydiag-sim.dbc BCM_RkeStatus RkeRssi
grade = A

[role fob_rssi]
did = bcm 0xD111
source = sim-2026.profile [did bcm 0xD111] RkeRssi
grade = A

[role fob_index]
did = bcm 0xD113
source = sim-2026.profile [did bcm 0xD113] RkeLastFobUsed; the slot of the last fob used, kept after its telegram (the broadcast RkeFobIndex falls back to 7 = none)
grade = A

[role fob1_trunk_enabled]
did = bcm 0xD11A Fob1TrunkEnabled
map = disabled:disabled, enabled:enabled
source = sim-2026.profile [did bcm 0xD11A] FobTrunkFunctionEnabled
grade = A

[role fob2_trunk_enabled]
did = bcm 0xD11A Fob2TrunkEnabled
map = disabled:disabled, enabled:enabled
source = sim-2026.profile [did bcm 0xD11A] FobTrunkFunctionEnabled
grade = A

[role fob3_trunk_enabled]
did = bcm 0xD11A Fob3TrunkEnabled
map = disabled:disabled, enabled:enabled
source = sim-2026.profile [did bcm 0xD11A] FobTrunkFunctionEnabled
grade = A

[role fob4_trunk_enabled]
did = bcm 0xD11A Fob4TrunkEnabled
map = disabled:disabled, enabled:enabled
source = sim-2026.profile [did bcm 0xD11A] FobTrunkFunctionEnabled
grade = A

[role release_request]
dbc_signal = BCM_TrunkStatus.TrunkReleaseRequest
map = idle:none, fob:fob, interior:interior, exterior:exterior, tester:tester
source = bodydiag-sim.dbc BCM_TrunkStatus TrunkReleaseRequest
grade = A

[role release_request]
did = bcm 0xD100
map = idle:none, fob:fob, interior:interior, exterior:exterior, tester:tester
source = sim-2026.profile [did bcm 0xD100] TrunkReleaseRequest
grade = A

[role release_inhibit]
dbc_signal = BCM_TrunkStatus.TrunkInhibitReason
map = none:none, speed:speed, gear:gear, alarm_armed:alarm_armed, valet:valet, output_lockout:output_lockout, switch_stuck:switch_stuck, low_voltage:low_voltage, external_request:external_request, vehicle_locked:vehicle_locked
source = bodydiag-sim.dbc BCM_TrunkStatus TrunkInhibitReason
grade = A

[role release_inhibit]
did = bcm 0xD104
map = none:none, speed:speed, gear:gear, alarm_armed:alarm_armed, valet:valet, output_lockout:output_lockout, switch_stuck:switch_stuck, low_voltage:low_voltage, external_request:external_request, vehicle_locked:vehicle_locked
source = sim-2026.profile [did bcm 0xD104] TrunkInhibitReason
grade = A

[role interior_switch]
dbc_signal = BCM_TrunkStatus.TrunkInteriorSwitch
map = released:released, pressed:pressed
source = bodydiag-sim.dbc BCM_TrunkStatus TrunkInteriorSwitch
grade = A

[role interior_switch]
did = bcm 0xD105
map = released:released, pressed:pressed
source = sim-2026.profile [did bcm 0xD105] TrunkInteriorSwitch
grade = A

[role exterior_switch]
dbc_signal = BCM_TrunkStatus.TrunkExteriorSwitch
map = released:released, pressed:pressed
source = bodydiag-sim.dbc BCM_TrunkStatus TrunkExteriorSwitch
grade = A

[role exterior_switch]
did = bcm 0xD106
map = released:released, pressed:pressed
source = sim-2026.profile [did bcm 0xD106] TrunkExteriorSwitch
grade = A

[role actuator_cmd]
dbc_signal = BCM_TrunkStatus.TrunkActuatorCmd
map = off:off, on:on
source = bodydiag-sim.dbc BCM_TrunkStatus TrunkActuatorCmd
grade = A

[role actuator_cmd]
did = bcm 0xD101
map = off:off, on:on
source = sim-2026.profile [did bcm 0xD101] TrunkActuatorCmd
grade = A

[role lockout_timer]
did = bcm 0xD108
source = sim-2026.profile [did bcm 0xD108] TrunkOutputLockoutTimer
grade = A

[role actuator_current]
dbc_signal = BCM_TrunkStatus.TrunkActuatorCurrent
source = bodydiag-sim.dbc BCM_TrunkStatus TrunkActuatorCurrent
grade = A

[role actuator_current]
did = bcm 0xD102
source = sim-2026.profile [did bcm 0xD102] TrunkActuatorCurrent
grade = A

[role fuse_voltage]
dbc_signal = BCM_Power.TrunkFuseVoltage
source = bodydiag-sim.dbc BCM_Power TrunkFuseVoltage
grade = A

[role fuse_voltage]
did = bcm 0xD107
source = sim-2026.profile [did bcm 0xD107] TrunkFuseVoltage
grade = A

[role output_status]
did = bcm 0xD109
map = not_tested:not_tested, ok:ok, open:open, short_to_ground:short_to_ground, low_current:low_current
source = sim-2026.profile [did bcm 0xD109] TrunkOutputCircuitStatus
grade = A

[role ajar]
dbc_signal = BCM_TrunkStatus.TrunkAjar
map = closed:closed, ajar:open
source = bodydiag-sim.dbc BCM_TrunkStatus TrunkAjar
grade = A

[role ajar]
did = bcm 0xD103
map = closed:closed, ajar:open
source = sim-2026.profile [did bcm 0xD103] TrunkAjar
grade = A

[role speed]
dbc_signal = BCM_VehicleState.VehicleSpeed
source = bodydiag-sim.dbc BCM_VehicleState VehicleSpeed
grade = A

[role speed]
did = bcm 0xD10A
source = sim-2026.profile [did bcm 0xD10A] VehicleSpeed
grade = A

[role gear]
dbc_signal = BCM_VehicleState.GearPosition
map = P:park, R:reverse, N:neutral, D:drive, invalid:other
source = bodydiag-sim.dbc BCM_VehicleState GearPosition
grade = A

[role gear]
did = bcm 0xD10B
map = P:park, R:reverse, N:neutral, D:drive, invalid:other
source = sim-2026.profile [did bcm 0xD10B] GearPosition
grade = A

[role ignition]
dbc_signal = BCM_VehicleState.IgnitionState
map = off:off, acc:accessory, run:run, start:start
source = bodydiag-sim.dbc BCM_VehicleState IgnitionState
grade = A

[role ignition]
did = bcm 0xD10C
map = off:off, acc:accessory, run:run, start:start
source = sim-2026.profile [did bcm 0xD10C] IgnitionState
grade = A

[role battery_voltage]
dbc_signal = BCM_VehicleState.BatteryVoltage
source = bodydiag-sim.dbc BCM_VehicleState BatteryVoltage
grade = A

[role battery_voltage]
did = bcm 0xD10D
source = sim-2026.profile [did bcm 0xD10D] BatteryVoltage
grade = A

[role bcm_supply_voltage]
dbc_signal = BCM_Power.BcmSupplyVoltage
source = bodydiag-sim.dbc BCM_Power BcmSupplyVoltage
grade = A

[role bcm_supply_voltage]
did = bcm 0xD117
source = sim-2026.profile [did bcm 0xD117] BcmSupplyVoltage
grade = A

[role lock_state]
dbc_signal = BCM_Power.DoorLockState
map = unlocked:unlocked, locked:locked
source = bodydiag-sim.dbc BCM_Power DoorLockState
grade = A

[role lock_state]
did = bcm 0xD10E
map = unlocked:unlocked, locked:locked
source = sim-2026.profile [did bcm 0xD10E] DoorLockState
grade = A

[role alarm_state]
dbc_signal = BCM_Power.PerimeterAlarmState
map = disarmed:disarmed, arming:arming, armed:armed
source = bodydiag-sim.dbc BCM_Power PerimeterAlarmState
grade = A

[role alarm_state]
did = bcm 0xD10F
map = disarmed:disarmed, arming:arming, armed:armed
source = sim-2026.profile [did bcm 0xD10F] PerimeterAlarmState
grade = A

[role valet_mode]
dbc_signal = BCM_Power.ValetMode
map = off:off, on:on
source = bodydiag-sim.dbc BCM_Power ValetMode
grade = A

[role valet_mode]
did = bcm 0xD116
map = off:off, on:on
source = sim-2026.profile [did bcm 0xD116] ValetMode
grade = A

[role addon_alarm_armed]
dbc_signal = ALARM_Status.AmAlarmArmed
source = bodydiag-sim.dbc ALARM_Status AmAlarmArmed; frame of the simulated aftermarket alarm (attribute Aftermarket = Yes)
grade = A

[role addon_release_cut]
dbc_signal = ALARM_Status.AmReleaseCutActive
source = bodydiag-sim.dbc ALARM_Status AmReleaseCutActive; the add-on relay in the release wire is open
grade = A

[role addon_inhibit]
dbc_signal = ALARM_Status.AmInhibitActive
source = bodydiag-sim.dbc ALARM_Status AmInhibitActive; the add-on applies its inhibit
grade = A

[role addon_inhibit]
dbc_signal = ALARM_Command.AmTrunkInhibitRequest
map = none:off, inhibit:on
source = bodydiag-sim.dbc ALARM_Command AmTrunkInhibitRequest; event frame: the add-on asks the BCM for an inhibit
grade = A

; --- identification (ISO 14229-1 Annex C standard DIDs) -------------------------------
[did bcm 0xF190]
name = VIN
ascii = 17

[did bcm 0xF187]
name = SparePartNumber
ascii = 10

[did bcm 0xF18C]
name = EcuSerialNumber
ascii = 12

; --- DTCs --------------------------------------------------------------------------
[dtc bcm B1A40-11]
text = Trunk release output circuit short to ground
source = modelled on GM B3265 (trunk/liftgate release relay control circuit, short to ground) and Ford B273A (liftgate release output shorted to ground), grade A
set = on-state: driver overcurrent trip while the release output is on; the output is then locked out for 30 s - 3 min

[dtc bcm B1A40-13]
text = Trunk release output circuit open
source = modelled on GM B3265 (release relay control circuit open) and Ford B273B (liftgate release output open), grade A
set = off-state open-load check every 100 ms (3 in a row), or on-state sense current < 0.25 A for 30 ms; also set with a blown release fuse when the output is commanded

[dtc bcm B1A40-92]
text = Trunk release actuator performance (current too low)
source = no single OEM counterpart; failure type 0x92 (performance or incorrect operation) per SAE J2012-DA as commonly published, grade C
set = mean on-state current after the first 20 ms below 0.12 A per volt of supply

[dtc bcm B1A44-24]
text = Interior trunk release switch stuck (pressed over 2 min)
source = modelled on Ford B2666 (liftgate release switch circuit shorted, or pressed for over 2 min), grade A; failure type 0x24 (signal stuck high) per SAE J2012-DA as commonly published
set = switch seen pressed for 120 s; the switch is ignored until it is released

[dtc bcm B1A45-24]
text = Exterior trunk lid release switch stuck (pressed over 2 min)
source = modelled on Ford B2666 (liftgate release switch circuit shorted, or pressed for over 2 min), grade A
set = as B1A44-24 for the exterior switch

[dtc bcm B1A51-16]
text = Keyless entry transmitter 1 battery low
source = modelled on GM B3109 (keyless entry transmitter 1 low battery, set after 3 low-battery telegrams from the same fob), grade A; failure type 0x16 (circuit voltage below threshold)
set = 3 consecutive valid telegrams from fob slot 0 carrying the battery-low flag

[dtc bcm B1A52-16]
text = Keyless entry transmitter 2 battery low
source = modelled on GM B3109 (transmitter low battery) for the second fob, grade B (per-fob numbering is the simulator's)
set = as B1A51-16 for fob slot 1

[dtc bcm B1A53-16]
text = Keyless entry transmitter 3 battery low
source = modelled on GM B3109 (transmitter low battery) for the third fob, grade B
set = as B1A51-16 for fob slot 2

[dtc bcm B1A54-16]
text = Keyless entry transmitter 4 battery low
source = modelled on GM B3109 (transmitter low battery) for the fourth fob, grade B
set = as B1A51-16 for fob slot 3

[dtc bcm U3000-49]
text = Body control module internal electronic failure
source = modelled on Ford U3000:49 (control module internal electronic failure), grade B
set = BCM self-test every second and at each release attempt, when the release output stage does not acknowledge commands
