/* SPDX-License-Identifier: MIT */
/*
 * UDS in words: the names of NRCs, services, DIDs, sessions, sub-functions and parser
 * results, and the describer that turns one PDU into a line (uds_describe). ISO
 * 14229-1:2013 unless a 2020 addition is named.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bodydiag/dtc.h"
#include "bodydiag/uds.h"
#include "uds-private.h"

/* ---------------------------------------------------------------------------------- */
/* Names */

const char *uds_nrc_name(uint8_t nrc)
{
	/* ISO 14229-1:2020 Table A.1; 0x38-0x4F are ISO 15764 (extended data link security). */
	switch (nrc) {
	case 0x00: return "positiveResponse";
	case 0x10: return "generalReject";
	case 0x11: return "serviceNotSupported";
	case 0x12: return "subFunctionNotSupported";
	case 0x13: return "incorrectMessageLengthOrInvalidFormat";
	case 0x14: return "responseTooLong";
	case 0x21: return "busyRepeatRequest";
	case 0x22: return "conditionsNotCorrect";
	case 0x24: return "requestSequenceError";
	case 0x25: return "noResponseFromSubnetComponent";
	case 0x26: return "failurePreventsExecutionOfRequestedAction";
	case 0x31: return "requestOutOfRange";
	case 0x33: return "securityAccessDenied";
	case 0x34: return "authenticationRequired";
	case 0x35: return "invalidKey";
	case 0x36: return "exceedNumberOfAttempts";
	case 0x37: return "requiredTimeDelayNotExpired";
	case 0x50: return "certificateVerificationFailedInvalidTimePeriod";
	case 0x51: return "certificateVerificationFailedInvalidSignature";
	case 0x52: return "certificateVerificationFailedInvalidChainOfTrust";
	case 0x53: return "certificateVerificationFailedInvalidType";
	case 0x54: return "certificateVerificationFailedInvalidFormat";
	case 0x55: return "certificateVerificationFailedInvalidContent";
	case 0x56: return "certificateVerificationFailedInvalidScope";
	case 0x57: return "certificateVerificationFailedInvalidCertificateRevoked";
	case 0x58: return "ownershipVerificationFailed";
	case 0x59: return "challengeCalculationFailed";
	case 0x5a: return "settingAccessRightsFailed";
	case 0x5b: return "sessionKeyCreationDerivationFailed";
	case 0x5c: return "configurationDataUsageFailed";
	case 0x5d: return "deAuthenticationFailed";
	case 0x70: return "uploadDownloadNotAccepted";
	case 0x71: return "transferDataSuspended";
	case 0x72: return "generalProgrammingFailure";
	case 0x73: return "wrongBlockSequenceCounter";
	case 0x78: return "requestCorrectlyReceivedResponsePending";
	case 0x7e: return "subFunctionNotSupportedInActiveSession";
	case 0x7f: return "serviceNotSupportedInActiveSession";
	case 0x81: return "rpmTooHigh";
	case 0x82: return "rpmTooLow";
	case 0x83: return "engineIsRunning";
	case 0x84: return "engineIsNotRunning";
	case 0x85: return "engineRunTimeTooLow";
	case 0x86: return "temperatureTooHigh";
	case 0x87: return "temperatureTooLow";
	case 0x88: return "vehicleSpeedTooHigh";
	case 0x89: return "vehicleSpeedTooLow";
	case 0x8a: return "throttlePedalTooHigh";
	case 0x8b: return "throttlePedalTooLow";
	case 0x8c: return "transmissionRangeNotInNeutral";
	case 0x8d: return "transmissionRangeNotInGear";
	case 0x8f: return "brakeSwitchesNotClosed";
	case 0x90: return "shifterLeverNotInPark";
	case 0x91: return "torqueConverterClutchLocked";
	case 0x92: return "voltageTooHigh";
	case 0x93: return "voltageTooLow";
	case 0x94: return "resourceTemporarilyNotAvailable";
	}
	if (nrc >= 0x38 && nrc <= 0x4f)
		return "reservedByExtendedDataLinkSecurityDocument";
	if (nrc >= 0x95 && nrc <= 0xef)
		return "reservedForSpecificConditionsNotCorrect";
	if (nrc >= 0xf0 && nrc <= 0xfe)
		return "vehicleManufacturerSpecificConditionsNotCorrect";
	return "ISOSAEReserved";
}

const char *uds_service_name(uint8_t sid)
{
	if (sid >= 0x50 && sid <= 0x7e)
		sid = (uint8_t)(sid - UDS_POSITIVE_OFFSET);
	else if (sid >= 0xc3 && sid <= 0xc7)
		sid = (uint8_t)(sid - UDS_POSITIVE_OFFSET);
	switch (sid) {
	case 0x10: return "DiagnosticSessionControl";
	case 0x11: return "ECUReset";
	case 0x14: return "ClearDiagnosticInformation";
	case 0x19: return "ReadDTCInformation";
	case 0x22: return "ReadDataByIdentifier";
	case 0x23: return "ReadMemoryByAddress";
	case 0x24: return "ReadScalingDataByIdentifier";
	case 0x27: return "SecurityAccess";
	case 0x28: return "CommunicationControl";
	case 0x29: return "Authentication";
	case 0x2a: return "ReadDataByPeriodicIdentifier";
	case 0x2c: return "DynamicallyDefineDataIdentifier";
	case 0x2e: return "WriteDataByIdentifier";
	case 0x2f: return "InputOutputControlByIdentifier";
	case 0x31: return "RoutineControl";
	case 0x34: return "RequestDownload";
	case 0x35: return "RequestUpload";
	case 0x36: return "TransferData";
	case 0x37: return "RequestTransferExit";
	case 0x38: return "RequestFileTransfer";
	case 0x3d: return "WriteMemoryByAddress";
	case 0x3e: return "TesterPresent";
	case 0x7f: return "NegativeResponse";
	case 0x83: return "AccessTimingParameter";
	case 0x84: return "SecuredDataTransmission";
	case 0x85: return "ControlDTCSetting";
	case 0x86: return "ResponseOnEvent";
	case 0x87: return "LinkControl";
	}
	return NULL;
}

const char *uds_did_name(uint16_t did)
{
	/* ISO 14229-1:2013 Annex C.1, Table C.1. */
	static const char *const f18x[32] = {
		"bootSoftwareIdentification",
		"applicationSoftwareIdentification",
		"applicationDataIdentification",
		"bootSoftwareFingerprint",
		"applicationSoftwareFingerprint",
		"applicationDataFingerprint",
		"activeDiagnosticSession",
		"vehicleManufacturerSparePartNumber",
		"vehicleManufacturerECUSoftwareNumber",
		"vehicleManufacturerECUSoftwareVersionNumber",
		"systemSupplierIdentifier",
		"ECUManufacturingDate",
		"ECUSerialNumber",
		"supportedFunctionalUnits",
		"vehicleManufacturerKitAssemblyPartNumber",
		NULL,
		"VIN",
		"vehicleManufacturerECUHardwareNumber",
		"systemSupplierECUHardwareNumber",
		"systemSupplierECUHardwareVersionNumber",
		"systemSupplierECUSoftwareNumber",
		"systemSupplierECUSoftwareVersionNumber",
		"exhaustRegulationOrTypeApprovalNumber",
		"systemNameOrEngineType",
		"repairShopCodeOrTesterSerialNumber",
		"programmingDate",
		"calibrationRepairShopCodeOrCalibrationEquipmentSerialNumber",
		"calibrationDate",
		"calibrationEquipmentSoftwareNumber",
		"ECUInstallationDate",
		"ODXFile",
		"entity",
	};
	if (did >= 0xf180 && did <= 0xf19f)
		return f18x[did - 0xf180];
	return NULL;
}

const char *uds_session_name(uint8_t session)
{
	switch (session & 0x7f) {
	case 0x01: return "defaultSession";
	case 0x02: return "programmingSession";
	case 0x03: return "extendedDiagnosticSession";
	case 0x04: return "safetySystemDiagnosticSession";
	}
	return NULL;
}

static const char *reset_name(uint8_t t)
{
	switch (t & 0x7f) {
	case 0x01: return "hardReset";
	case 0x02: return "keyOffOnReset";
	case 0x03: return "softReset";
	case 0x04: return "enableRapidPowerShutDown";
	case 0x05: return "disableRapidPowerShutDown";
	}
	return NULL;
}

static const char *routine_name(uint8_t t)
{
	switch (t & 0x7f) {
	case UDS_ROUTINE_START: return "startRoutine";
	case UDS_ROUTINE_STOP: return "stopRoutine";
	case UDS_ROUTINE_RESULTS: return "requestRoutineResults";
	}
	return NULL;
}

static const char *io_param_name(uint8_t p)
{
	switch (p) {
	case UDS_IO_RETURN_CONTROL_TO_ECU: return "returnControlToECU";
	case UDS_IO_RESET_TO_DEFAULT: return "resetToDefault";
	case UDS_IO_FREEZE_CURRENT_STATE: return "freezeCurrentState";
	case UDS_IO_SHORT_TERM_ADJUSTMENT: return "shortTermAdjustment";
	}
	return NULL;
}

const char *uds_rdtci_name(uint8_t subfn)
{
	/* ISO 14229-1:2013 Table 317 (0x01-0x19, 0x42, 0x55), 2020 Table 319 (0x1A, 0x56). */
	static const char *const names[0x1b] = {
		[0x01] = "reportNumberOfDTCByStatusMask",
		[0x02] = "reportDTCByStatusMask",
		[0x03] = "reportDTCSnapshotIdentification",
		[0x04] = "reportDTCSnapshotRecordByDTCNumber",
		[0x05] = "reportDTCStoredDataByRecordNumber",
		[0x06] = "reportDTCExtDataRecordByDTCNumber",
		[0x07] = "reportNumberOfDTCBySeverityMaskRecord",
		[0x08] = "reportDTCBySeverityMaskRecord",
		[0x09] = "reportSeverityInformationOfDTC",
		[0x0a] = "reportSupportedDTC",
		[0x0b] = "reportFirstTestFailedDTC",
		[0x0c] = "reportFirstConfirmedDTC",
		[0x0d] = "reportMostRecentTestFailedDTC",
		[0x0e] = "reportMostRecentConfirmedDTC",
		[0x0f] = "reportMirrorMemoryDTCByStatusMask",
		[0x10] = "reportMirrorMemoryDTCExtDataRecordByDTCNumber",
		[0x11] = "reportNumberOfMirrorMemoryDTCByStatusMask",
		[0x12] = "reportNumberOfEmissionsOBDDTCByStatusMask",
		[0x13] = "reportEmissionsOBDDTCByStatusMask",
		[0x14] = "reportDTCFaultDetectionCounter",
		[0x15] = "reportDTCWithPermanentStatus",
		[0x16] = "reportDTCExtDataRecordByRecordNumber",
		[0x17] = "reportUserDefMemoryDTCByStatusMask",
		[0x18] = "reportUserDefMemoryDTCSnapshotRecordByDTCNumber",
		[0x19] = "reportUserDefMemoryDTCExtDataRecordByDTCNumber",
		[0x1a] = "reportSupportedDTCExtDataRecord",
	};
	subfn &= 0x7f;
	if (subfn < 0x1b)
		return names[subfn];
	if (subfn == 0x42)
		return "reportWWHOBDDTCByMaskRecord";
	if (subfn == 0x55)
		return "reportWWHOBDDTCWithPermanentStatus";
	if (subfn == 0x56)
		return "reportDTCInformationByDTCReadinessGroupIdentifier";
	return NULL;
}

const char *uds_dtc_format_name(uint8_t format)
{
	/* ISO 14229-1:2013 Table 320: DTCFormatIdentifier. */
	switch (format) {
	case 0x00: return "SAE_J2012-DA_DTCFormat_00";
	case 0x01: return "ISO_14229-1_DTCFormat";
	case 0x02: return "SAE_J1939-73_DTCFormat";
	case 0x03: return "ISO_11992-4_DTCFormat";
	case 0x04: return "SAE_J2012-DA_DTCFormat_04";
	}
	return NULL;
}

const char *uds_result_name(enum uds_result r)
{
	switch (r) {
	case UDS_RESULT_OK: return "OK";
	case UDS_RESULT_NEGATIVE: return "negative response";
	case UDS_RESULT_TRUNCATED: return "truncated response";
	case UDS_RESULT_INVALID_LENGTH: return "invalid length";
	case UDS_RESULT_OTHER_SERVICE: return "response to another service";
	case UDS_RESULT_WRONG_SID_ECHO: return "negative response for another service";
	case UDS_RESULT_WRONG_SUBFUNCTION: return "wrong sub-function echo";
	case UDS_RESULT_WRONG_IDENTIFIER: return "wrong identifier echo";
	case UDS_RESULT_UNEXPECTED_DID: return "DID not requested";
	case UDS_RESULT_UNKNOWN_DID_LENGTH: return "unknown data record length";
	case UDS_RESULT_NOT_A_RESPONSE: return "not a response";
	case UDS_RESULT_MAX: break;
	}
	return "?";
}

/* ---------------------------------------------------------------------------------- */
/* Describing PDUs */

struct sb {
	char *buf;
	size_t cap, len;
	bool trunc;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sb *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->trunc)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= s->cap - s->len) {
		s->trunc = true;
		s->len = s->cap - 1;
		return;
	}
	s->len += (size_t)n;
}

static void sb_hex(struct sb *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_printf(s, "%s%02X", i ? " " : "", p[i]);
}

/* Hex, plus the text when every byte is printable (VINs, part numbers). */
static void sb_data(struct sb *s, const uint8_t *p, size_t n)
{
	bool text = n > 0;

	sb_hex(s, p, n);
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"')
			text = false;
	if (text)
		sb_printf(s, " \"%.*s\"", (int)n, (const char *)p);
}

static void sb_did(struct sb *s, uint16_t did)
{
	const char *n = uds_did_name(did);
	sb_printf(s, "DID 0x%04X", did);
	if (n)
		sb_printf(s, " (%s)", n);
}

static void sb_dtc(struct sb *s, uint32_t dtc, uint8_t status, bool with_status)
{
	char t[DTC_TEXT_MAX], st[160];
	const char *f = dtc_ftb_name((uint8_t)dtc);

	dtc_format(dtc, t, sizeof(t));
	sb_printf(s, "%s", t);
	if (f)
		sb_printf(s, " (%s)", f);
	if (with_status) {
		dtc_status_format(status, st, sizeof(st));
		sb_printf(s, " status 0x%02X %s", status, st);
	}
}

static void sb_named(struct sb *s, const char *name, uint8_t v)
{
	if (name)
		sb_printf(s, " %s (0x%02X)", name, v);
	else
		sb_printf(s, " 0x%02X", v);
}

static void describe_request(struct sb *s, const uint8_t *p, size_t len)
{
	uint8_t sid = p[0];
	bool spr = uds_request_suppresses_response(p, len);

	switch (sid) {
	case UDS_SID_DIAGNOSTIC_SESSION_CONTROL:
		if (len >= 2)
			sb_named(s, uds_session_name(p[1]), p[1] & 0x7f);
		break;
	case UDS_SID_ECU_RESET:
		if (len >= 2)
			sb_named(s, reset_name(p[1]), p[1] & 0x7f);
		break;
	case UDS_SID_CLEAR_DIAGNOSTIC_INFORMATION:
		if (len >= 4) {
			uint32_t g = be24(p + 1);
			if (g == UDS_DTC_GROUP_ALL)
				sb_printf(s, " all DTCs");
			else
				sb_printf(s, " group 0x%06X", g);
			if (len >= 5)
				sb_printf(s, " memory 0x%02X", p[4]);
		}
		break;
	case UDS_SID_READ_DTC_INFORMATION:
		if (len < 2)
			break;
		sb_named(s, uds_rdtci_name(p[1]), p[1] & 0x7f);
		if (len == 3) {
			char st[160];
			dtc_status_format(p[2], st, sizeof(st));
			sb_printf(s, " mask 0x%02X %s", p[2], st);
		} else if (len >= 6 && rdtci_shape(p[1] & 0x7f) == UDS_RDTCI_SHAPE_DTC_RECORDS) {
			sb_printf(s, " ");
			sb_dtc(s, be24(p + 2), 0, false);
			sb_printf(s, " record 0x%02X", p[5]);
		}
		break;
	case UDS_SID_READ_DATA_BY_IDENTIFIER:
		for (size_t i = 1; i + 1 < len; i += 2) {
			sb_printf(s, i == 1 ? " " : ", ");
			sb_did(s, be16(p + i));
		}
		if ((len - 1) % 2)
			sb_printf(s, " (odd length)");
		break;
	case UDS_SID_SECURITY_ACCESS:
		if (len < 2)
			break;
		if (p[1] & 1)
			sb_printf(s, " requestSeed level 0x%02X", p[1] & 0x7f);
		else
			sb_printf(s, " sendKey level 0x%02X", p[1] & 0x7f);
		if (len > 2) {
			sb_printf(s, " ");
			sb_hex(s, p + 2, len - 2);
		}
		break;
	case UDS_SID_WRITE_DATA_BY_IDENTIFIER:
		if (len >= 3) {
			sb_printf(s, " ");
			sb_did(s, be16(p + 1));
			sb_printf(s, " = ");
			sb_data(s, p + 3, len - 3);
		}
		break;
	case UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER:
		if (len >= 3) {
			sb_printf(s, " ");
			sb_did(s, be16(p + 1));
			if (len >= 4) {
				const char *n = io_param_name(p[3]);
				if (n)
					sb_printf(s, " %s", n);
				if (len > (n ? 4u : 3u)) {
					sb_printf(s, " ");
					sb_hex(s, p + (n ? 4 : 3), len - (n ? 4 : 3));
				}
			}
		}
		break;
	case UDS_SID_ROUTINE_CONTROL:
		if (len >= 4) {
			sb_named(s, routine_name(p[1]), p[1] & 0x7f);
			sb_printf(s, " RID 0x%04X", be16(p + 2));
			if (len > 4) {
				sb_printf(s, " ");
				sb_hex(s, p + 4, len - 4);
			}
		}
		break;
	case UDS_SID_TESTER_PRESENT:
		break;
	default:
		if (len > 1) {
			sb_printf(s, " ");
			sb_hex(s, p + 1, len - 1);
		}
		break;
	}
	if (spr)
		sb_printf(s, " [suppressPosRsp]");
}

/* Snapshot DIDs / extended data records split with the caller's lengths, else raw. */
static void describe_records(struct sb *s, const struct uds_rdtci_response *r, const struct uds_describe_opts *o)
{
	enum uds_result res = UDS_RESULT_MAX;
	size_t n = 0;

	if (r->subfn == UDS_RDTCI_SNAPSHOT_BY_DTC) {
		struct uds_snapshot_did d[16];
		if (uds_split_snapshots(r->records, r->records_len, o ? o->did_len : NULL, o ? o->userdata : NULL,
					d, 16, &n, &res) == 0 && res == UDS_RESULT_OK) {
			for (size_t i = 0; i < n; i++) {
				sb_printf(s, "%srecord 0x%02X ", i ? "; " : ", ", d[i].record);
				sb_did(s, d[i].did);
				sb_printf(s, " = ");
				sb_data(s, d[i].data, d[i].len);
			}
			return;
		}
	} else {
		struct uds_ext_record e[16];
		if (uds_split_ext_records(r->records, r->records_len, o ? o->ext_len : NULL, o ? o->userdata : NULL,
					  e, 16, &n, &res) == 0 && res == UDS_RESULT_OK && (n == 1 || (o && o->ext_len))) {
			for (size_t i = 0; i < n; i++) {
				sb_printf(s, "%sext 0x%02X = ", i ? "; " : ", ", e[i].number);
				sb_hex(s, e[i].data, e[i].len);
			}
			return;
		}
	}
	sb_printf(s, " records ");
	sb_hex(s, r->records, r->records_len);
}

static void describe_response(struct sb *s, const uint8_t *p, size_t len, const struct uds_describe_opts *o)
{
	uint8_t sid = (uint8_t)(p[0] - UDS_POSITIVE_OFFSET);
	uint8_t fake[6] = {sid, len >= 2 ? p[1] : 0};
	size_t fake_len = has_subfunction(sid) ? 2 : 1;
	/* 0x62 without its request: assume a single DID (the data is the rest). Lives as long
	 * as req may point at it. */
	uint8_t one[3] = {UDS_SID_READ_DATA_BY_IDENTIFIER, len >= 3 ? p[1] : 0, len >= 3 ? p[2] : 0};
	const uint8_t *req = fake;
	size_t req_len = fake_len;

	if (o && o->request && o->request_len && o->request[0] == sid) {
		req = o->request;
		req_len = o->request_len;
	}

	switch (sid) {
	case UDS_SID_DIAGNOSTIC_SESSION_CONTROL: {
		struct uds_session_response r = {0};
		uds_parse_session_control(req, req_len, p, len, &r);
		if (r.r.result != UDS_RESULT_OK)
			break;
		sb_named(s, uds_session_name(r.session), r.session);
		if (r.has_timing)
			sb_printf(s, " P2 %u ms P2* %u ms", r.p2_us / 1000, r.p2star_us / 1000);
		return;
	}
	case UDS_SID_ECU_RESET: {
		struct uds_ecu_reset_response r = {0};
		uds_parse_ecu_reset(req, req_len, p, len, &r);
		if (r.r.result != UDS_RESULT_OK)
			break;
		sb_named(s, reset_name(r.reset_type), r.reset_type);
		if (r.has_power_down_time)
			sb_printf(s, " powerDownTime %u s", r.power_down_time_s);
		return;
	}
	case UDS_SID_READ_DTC_INFORMATION: {
		struct uds_rdtci_response r = {0};
		uds_parse_rdtci(req, req_len, p, len, &r);
		if (r.r.result != UDS_RESULT_OK)
			break;
		sb_named(s, uds_rdtci_name(r.subfn), r.subfn);
		switch (r.shape) {
		case UDS_RDTCI_SHAPE_COUNT: {
			const char *f = uds_dtc_format_name(r.dtc_format);
			sb_printf(s, " availability 0x%02X format %s count %u", r.availability_mask,
				  f ? f : "?", r.dtc_count);
			return;
		}
		case UDS_RDTCI_SHAPE_DTC_LIST:
			sb_printf(s, " availability 0x%02X, %zu DTC%s", r.availability_mask, r.n_dtcs,
				  r.n_dtcs == 1 ? "" : "s");
			for (size_t i = 0; i < r.n_dtcs; i++) {
				struct uds_dtc_record d;
				uds_rdtci_dtc(&r, i, &d);
				sb_printf(s, i ? "; " : ": ");
				sb_dtc(s, d.dtc, d.status, true);
			}
			return;
		case UDS_RDTCI_SHAPE_DTC_RECORDS:
			sb_printf(s, " ");
			sb_dtc(s, r.dtc, r.status, true);
			if (r.records_len)
				describe_records(s, &r, o);
			return;
		case UDS_RDTCI_SHAPE_OTHER:
		case UDS_RDTCI_SHAPE_MAX:
			if (len > 2) {
				sb_printf(s, " ");
				sb_hex(s, p + 2, len - 2);
			}
			return;
		}
		return;
	}
	case UDS_SID_READ_DATA_BY_IDENTIFIER: {
		struct uds_did_value v[32];
		struct uds_response r;
		size_t n = 0;

		if (req == fake) {
			req = one;
			req_len = 3;
		}
		if (uds_parse_read_did(req, req_len, p, len, o ? o->did_len : NULL, o ? o->userdata : NULL,
				       v, 32, &n, &r) < 0)
			break;
		for (size_t i = 0; i < n; i++) {
			sb_printf(s, i ? "; " : " ");
			sb_did(s, v[i].did);
			sb_printf(s, " = ");
			sb_data(s, v[i].data, v[i].len);
		}
		if (r.result != UDS_RESULT_OK)
			break;
		return;
	}
	case UDS_SID_SECURITY_ACCESS: {
		struct uds_security_response r = {0};
		uds_parse_security_access(req, req_len, p, len, &r);
		if (r.r.result != UDS_RESULT_OK)
			break;
		if (r.subfn & 1) {
			sb_printf(s, " seed level 0x%02X ", r.subfn);
			sb_hex(s, r.seed, r.seed_len);
			if (r.already_unlocked)
				sb_printf(s, " (already unlocked)");
		} else {
			sb_printf(s, " key accepted level 0x%02X", r.subfn);
		}
		return;
	}
	case UDS_SID_WRITE_DATA_BY_IDENTIFIER:
		if (len != 3)
			break;
		sb_printf(s, " ");
		sb_did(s, be16(p + 1));
		return;
	case UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER: {
		struct uds_io_control_response r = {0};
		uds_parse_io_control(req, req_len, p, len, &r);
		if (r.r.result != UDS_RESULT_OK)
			break;
		sb_printf(s, " ");
		sb_did(s, r.did);
		if (r.status_len) {
			const char *n = io_param_name(r.status[0]);
			if (n && req_len >= 4)
				sb_printf(s, " %s", n);
			sb_printf(s, " status ");
			sb_hex(s, r.status, r.status_len);
		}
		return;
	}
	case UDS_SID_ROUTINE_CONTROL: {
		struct uds_routine_response r = {0};
		uds_parse_routine_control(req, req_len, p, len, &r);
		if (r.r.result != UDS_RESULT_OK)
			break;
		sb_named(s, routine_name(r.type), r.type);
		sb_printf(s, " RID 0x%04X", r.rid);
		if (r.status_len) {
			sb_printf(s, " status ");
			sb_hex(s, r.status, r.status_len);
		}
		return;
	}
	case UDS_SID_CLEAR_DIAGNOSTIC_INFORMATION:
		if (len == 1)
			return;
		break;
	case UDS_SID_TESTER_PRESENT:
		if (len == 2)
			return;
		break;
	default:
		if (len > 1) {
			sb_printf(s, " ");
			sb_hex(s, p + 1, len - 1);
		}
		return;
	}
	/* Malformed for its service: say so and show the bytes. */
	{
		struct uds_response r = {.result = UDS_RESULT_INVALID_LENGTH};
		uds_check_response(req, req_len, p, len, &r);
		if (r.result == UDS_RESULT_OK)
			r.result = UDS_RESULT_INVALID_LENGTH;
		sb_printf(s, " [%s] ", uds_result_name(r.result));
		sb_hex(s, p, len);
	}
}

int uds_describe_ex(const uint8_t *pdu, size_t len, bool is_response, const struct uds_describe_opts *o,
		    char *buf, size_t cap)
{
	struct sb s = {.buf = buf, .cap = cap};
	const char *name;

	if (!buf || cap == 0 || (!pdu && len))
		return -EINVAL;
	buf[0] = '\0';
	if (len == 0) {
		sb_printf(&s, "empty PDU");
		return s.trunc ? -ENOBUFS : 0;
	}
	if (is_response && pdu[0] == UDS_SID_NEGATIVE_RESPONSE) {
		if (len < 3) {
			sb_printf(&s, "NR [truncated] ");
			sb_hex(&s, pdu, len);
		} else {
			name = uds_service_name(pdu[1]);
			if (name)
				sb_printf(&s, "NR %s (0x%02X): %s (0x%02X)", name, pdu[1], uds_nrc_name(pdu[2]),
					  pdu[2]);
			else
				sb_printf(&s, "NR service 0x%02X: %s (0x%02X)", pdu[1], uds_nrc_name(pdu[2]),
					  pdu[2]);
		}
		return s.trunc ? -ENOBUFS : 0;
	}
	if (is_response) {
		name = (pdu[0] & 0x40) ? uds_service_name(pdu[0]) : NULL;
		if (!name) {
			sb_printf(&s, "PR? unknown response 0x%02X", pdu[0]);
			if (len > 1) {
				sb_printf(&s, " ");
				sb_hex(&s, pdu + 1, len - 1);
			}
			return s.trunc ? -ENOBUFS : 0;
		}
		sb_printf(&s, "PR %s", name);
		describe_response(&s, pdu, len, o);
		return s.trunc ? -ENOBUFS : 0;
	}
	name = uds_service_name(pdu[0]);
	if (!name || (pdu[0] >= 0x50 && pdu[0] <= 0x7f)) {
		sb_printf(&s, "unknown service 0x%02X", pdu[0]);
		if (len > 1) {
			sb_printf(&s, " ");
			sb_hex(&s, pdu + 1, len - 1);
		}
		return s.trunc ? -ENOBUFS : 0;
	}
	sb_printf(&s, "%s", name);
	describe_request(&s, pdu, len);
	return s.trunc ? -ENOBUFS : 0;
}

int uds_describe(const uint8_t *pdu, size_t len, bool is_response, char *buf, size_t cap)
{
	return uds_describe_ex(pdu, len, is_response, NULL, buf, cap);
}
