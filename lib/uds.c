/* SPDX-License-Identifier: MIT */
/*
 * ISO 14229-1 (UDS) PDUs. Clause and table numbers refer to ISO 14229-1:2013 unless a
 * 2020 addition is named.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bodydiag/dtc.h"
#include "bodydiag/uds.h"

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
/* Helpers */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Services whose second byte is a sub-function with the SPRMIB (ISO 14229-1:2013 7.5). */
static bool has_subfunction(uint8_t sid)
{
	switch (sid) {
	case 0x10: case 0x11: case 0x19: case 0x27: case 0x28: case 0x29: case 0x2c: case 0x31:
	case 0x3e: case 0x83: case 0x85: case 0x86: case 0x87:
		return true;
	}
	return false;
}

bool uds_request_suppresses_response(const uint8_t *req, size_t len)
{
	return req && len >= 2 && has_subfunction(req[0]) && (req[1] & UDS_SPRMIB);
}

static int put(uint8_t *buf, size_t cap, size_t *ret_len, const uint8_t *hdr, size_t hdr_len,
	       const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	size_t n = hdr_len + a_len + b_len;

	if (!buf || !ret_len || (!a && a_len) || (!b && b_len))
		return -EINVAL;
	if (n > cap)
		return -ENOBUFS;
	memcpy(buf, hdr, hdr_len);
	if (a_len)
		memcpy(buf + hdr_len, a, a_len);
	if (b_len)
		memcpy(buf + hdr_len + a_len, b, b_len);
	*ret_len = n;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Response classification */

static enum uds_result classify(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
				struct uds_response *r)
{
	uint8_t sid = req[0];

	r->sid = sid;
	if (resp_len == 0)
		return UDS_RESULT_TRUNCATED;
	if (resp[0] == UDS_SID_NEGATIVE_RESPONSE) {
		/* 7.5.3 Table 14: 0x7F, requestServiceIdentifier, negativeResponseCode. */
		if (resp_len < 3)
			return UDS_RESULT_TRUNCATED;
		if (resp[1] != sid)
			return UDS_RESULT_WRONG_SID_ECHO;
		r->nrc = resp[2];
		return UDS_RESULT_NEGATIVE;
	}
	if (resp[0] != (uint8_t)(sid + UDS_POSITIVE_OFFSET))
		return (resp[0] & 0x40) ? UDS_RESULT_OTHER_SERVICE : UDS_RESULT_NOT_A_RESPONSE;
	r->data = resp + 1;
	r->len = resp_len - 1;
	if (has_subfunction(sid)) {
		/* Every positive response of these services echoes the sub-function, without
		 * the SPRMIB (7.5.2). */
		if (resp_len < 2)
			return UDS_RESULT_TRUNCATED;
		if (req_len >= 2 && (resp[1] & 0x7f) != (req[1] & 0x7f))
			return UDS_RESULT_WRONG_SUBFUNCTION;
	}
	switch (sid) {
	case UDS_SID_WRITE_DATA_BY_IDENTIFIER:
	case UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER:
		if (req_len >= 3) {
			if (resp_len < 3)
				return UDS_RESULT_TRUNCATED;
			if (be16(resp + 1) != be16(req + 1))
				return UDS_RESULT_WRONG_IDENTIFIER;
		}
		break;
	case UDS_SID_ROUTINE_CONTROL:
		if (req_len >= 4) {
			if (resp_len < 4)
				return UDS_RESULT_TRUNCATED;
			if (be16(resp + 2) != be16(req + 2))
				return UDS_RESULT_WRONG_IDENTIFIER;
		}
		break;
	}
	return UDS_RESULT_OK;
}

int uds_check_response(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		       struct uds_response *ret)
{
	struct uds_response r = {0};

	/* A "request" with bit 6 set is itself a response SID (7.5.1): no response to it. */
	if (!req || req_len == 0 || (req[0] & 0x40) || !ret || (!resp && resp_len))
		return -EINVAL;
	r.result = classify(req, req_len, resp, resp_len, &r);
	if (r.result != UDS_RESULT_OK) {
		r.data = NULL;
		r.len = 0;
	}
	*ret = r;
	return 0;
}

/* Per-service parsers are called with a request of their own service. */
static int check_for(uint8_t sid, const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		     struct uds_response *r)
{
	if (!req || req_len == 0 || req[0] != sid)
		return -EINVAL;
	return uds_check_response(req, req_len, resp, resp_len, r);
}

/* ---------------------------------------------------------------------------------- */
/* 0x10, 0x11, 0x14, 0x3E */

int uds_build_session_control(uint8_t session, bool suppress, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[2] = {UDS_SID_DIAGNOSTIC_SESSION_CONTROL, (uint8_t)(session | (suppress ? UDS_SPRMIB : 0))};

	/* 9.2.2.2 Table 25: 0x00 and 0x7F are ISOSAEReserved. */
	if (session == 0x00 || session >= 0x7f)
		return -EINVAL;
	return put(buf, cap, ret_len, h, 2, NULL, 0, NULL, 0);
}

int uds_parse_session_control(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			      struct uds_session_response *ret)
{
	struct uds_session_response s = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_DIAGNOSTIC_SESSION_CONTROL, req, req_len, resp, resp_len, &s.r) < 0)
		return -EINVAL;
	if (s.r.result == UDS_RESULT_OK) {
		s.session = resp[1] & 0x7f;
		/* 9.2.3.2 Table 29: sessionParameterRecord = P2Server_max (2 bytes, 1 ms),
		 * P2*Server_max (2 bytes, 10 ms). ISO 14229-1:2006 servers send none. */
		if (resp_len == 6) {
			s.has_timing = true;
			s.p2_us = (uint32_t)be16(resp + 2) * 1000u;
			s.p2star_us = (uint32_t)be16(resp + 4) * 10000u;
		} else if (resp_len != 2) {
			s.r.result = resp_len < 6 ? UDS_RESULT_TRUNCATED : UDS_RESULT_INVALID_LENGTH;
		}
	}
	*ret = s;
	return 0;
}

int uds_parse_ecu_reset(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			struct uds_ecu_reset_response *ret)
{
	struct uds_ecu_reset_response e = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_ECU_RESET, req, req_len, resp, resp_len, &e.r) < 0)
		return -EINVAL;
	if (e.r.result == UDS_RESULT_OK) {
		e.reset_type = resp[1] & 0x7f;
		/* 9.3.3 Table 37: powerDownTime only for enableRapidPowerShutDown. */
		if (e.reset_type == 0x04) {
			if (resp_len == 3) {
				e.has_power_down_time = true;
				e.power_down_time_s = resp[2];
			} else {
				e.r.result = resp_len < 3 ? UDS_RESULT_TRUNCATED : UDS_RESULT_INVALID_LENGTH;
			}
		} else if (resp_len != 2) {
			e.r.result = UDS_RESULT_INVALID_LENGTH;
		}
	}
	*ret = e;
	return 0;
}

int uds_build_clear_dtc(uint32_t group, int memory_selection, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[5] = {UDS_SID_CLEAR_DIAGNOSTIC_INFORMATION, (uint8_t)(group >> 16), (uint8_t)(group >> 8),
			(uint8_t)group, 0};

	if (group > 0xffffffu || memory_selection < -1 || memory_selection > 0xff)
		return -EINVAL;
	if (memory_selection >= 0)
		h[4] = (uint8_t)memory_selection;
	return put(buf, cap, ret_len, h, memory_selection >= 0 ? 5 : 4, NULL, 0, NULL, 0);
}

static int parse_exact(uint8_t sid, const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		       size_t exact, struct uds_response *ret)
{
	struct uds_response r;

	if (!ret)
		return -EINVAL;
	if (check_for(sid, req, req_len, resp, resp_len, &r) < 0)
		return -EINVAL;
	if (r.result == UDS_RESULT_OK && resp_len != exact)
		r.result = resp_len < exact ? UDS_RESULT_TRUNCATED : UDS_RESULT_INVALID_LENGTH;
	*ret = r;
	return 0;
}

int uds_parse_clear_dtc(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			struct uds_response *ret)
{
	/* 11.2.3: the positive response is the SID alone. */
	return parse_exact(UDS_SID_CLEAR_DIAGNOSTIC_INFORMATION, req, req_len, resp, resp_len, 1, ret);
}

int uds_build_tester_present(bool suppress, uint8_t *buf, size_t cap, size_t *ret_len)
{
	/* 9.5.2: zeroSubFunction, optionally with the SPRMIB (0x3E 0x80). */
	uint8_t h[2] = {UDS_SID_TESTER_PRESENT, suppress ? UDS_SPRMIB : 0x00};
	return put(buf, cap, ret_len, h, 2, NULL, 0, NULL, 0);
}

int uds_parse_tester_present(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			     struct uds_response *ret)
{
	return parse_exact(UDS_SID_TESTER_PRESENT, req, req_len, resp, resp_len, 2, ret);
}

/* ---------------------------------------------------------------------------------- */
/* 0x19 */

int uds_build_rdtci_status_mask(uint8_t subfn, uint8_t mask, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[3] = {UDS_SID_READ_DTC_INFORMATION, subfn, mask};

	switch (subfn) {
	case 0x01: case 0x02: case 0x0f: case 0x11: case 0x12: case 0x13:
		return put(buf, cap, ret_len, h, 3, NULL, 0, NULL, 0);
	}
	return -EINVAL;
}

int uds_build_rdtci_dtc_record(uint8_t subfn, uint32_t dtc, uint8_t record, uint8_t *buf, size_t cap,
			       size_t *ret_len)
{
	uint8_t h[6] = {UDS_SID_READ_DTC_INFORMATION, subfn, (uint8_t)(dtc >> 16), (uint8_t)(dtc >> 8),
			(uint8_t)dtc, record};

	if (dtc > 0xffffffu)
		return -EINVAL;
	switch (subfn) {
	case 0x04: case 0x06: case 0x10:
		return put(buf, cap, ret_len, h, 6, NULL, 0, NULL, 0);
	}
	return -EINVAL;
}

int uds_build_rdtci(uint8_t subfn, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[2] = {UDS_SID_READ_DTC_INFORMATION, subfn};

	switch (subfn) {
	case 0x03: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x0e: case 0x14: case 0x15:
		return put(buf, cap, ret_len, h, 2, NULL, 0, NULL, 0);
	}
	return -EINVAL;
}

static enum uds_rdtci_shape rdtci_shape(uint8_t subfn)
{
	switch (subfn) {
	case 0x01: case 0x07: case 0x11: case 0x12:
		return UDS_RDTCI_SHAPE_COUNT;
	case 0x02: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x0e: case 0x0f: case 0x13: case 0x15:
		return UDS_RDTCI_SHAPE_DTC_LIST;
	case 0x04: case 0x06: case 0x10:
		return UDS_RDTCI_SHAPE_DTC_RECORDS;
	}
	return UDS_RDTCI_SHAPE_OTHER;
}

int uds_parse_rdtci(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		    struct uds_rdtci_response *ret)
{
	struct uds_rdtci_response d = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_READ_DTC_INFORMATION, req, req_len, resp, resp_len, &d.r) < 0)
		return -EINVAL;
	if (d.r.result != UDS_RESULT_OK)
		goto out;
	if (resp_len < 2) {
		d.r.result = UDS_RESULT_TRUNCATED;
		goto out;
	}
	d.subfn = resp[1] & 0x7f;
	d.shape = rdtci_shape(d.subfn);
	switch (d.shape) {
	case UDS_RDTCI_SHAPE_COUNT:
		/* 11.3.3 Table 322: availabilityMask, DTCFormatIdentifier, DTCCount (2). */
		if (resp_len != 6) {
			d.r.result = resp_len < 6 ? UDS_RESULT_TRUNCATED : UDS_RESULT_INVALID_LENGTH;
			break;
		}
		d.availability_mask = resp[2];
		d.dtc_format = resp[3];
		d.dtc_count = be16(resp + 4);
		break;
	case UDS_RDTCI_SHAPE_DTC_LIST:
		/* availabilityMask, then DTCAndStatusRecord (3 + 1 bytes) repeated. The
		 * "first/most recent" sub-functions (0x0B-0x0E) send only the mask when empty. */
		if (resp_len < 3) {
			d.r.result = UDS_RESULT_TRUNCATED;
			break;
		}
		if ((resp_len - 3) % 4) {
			d.r.result = UDS_RESULT_INVALID_LENGTH;
			break;
		}
		d.availability_mask = resp[2];
		d.dtcs = resp + 3;
		d.n_dtcs = (resp_len - 3) / 4;
		break;
	case UDS_RDTCI_SHAPE_DTC_RECORDS:
		/* 11.3.3 Tables 326/328: DTCAndStatusRecord, then the records. */
		if (resp_len < 6) {
			d.r.result = UDS_RESULT_TRUNCATED;
			break;
		}
		d.dtc = be24(resp + 2);
		d.status = resp[5];
		if (req_len >= 5 && be24(req + 2) != d.dtc) {
			d.r.result = UDS_RESULT_WRONG_IDENTIFIER;
			break;
		}
		d.records = resp + 6;
		d.records_len = resp_len - 6;
		break;
	case UDS_RDTCI_SHAPE_OTHER:
	case UDS_RDTCI_SHAPE_MAX:
		break;
	}
out:
	*ret = d;
	return 0;
}

int uds_rdtci_dtc(const struct uds_rdtci_response *r, size_t i, struct uds_dtc_record *ret)
{
	if (!r || !ret)
		return -EINVAL;
	if (r->shape != UDS_RDTCI_SHAPE_DTC_LIST || i >= r->n_dtcs)
		return -ERANGE;
	ret->dtc = be24(r->dtcs + 4 * i);
	ret->status = r->dtcs[4 * i + 3];
	return 0;
}

int uds_len_table_lookup(void *table, uint16_t key)
{
	const struct uds_len_table *t = table;

	if (!t)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		if (t->entries[i].key == key)
			return t->entries[i].len;
	return -1;
}

int uds_split_snapshots(const uint8_t *p, size_t left, uds_len_fn did_len, void *userdata,
			struct uds_snapshot_did *out, size_t cap, size_t *ret_n, enum uds_result *ret_result)
{
	size_t n = 0;
	enum uds_result res = UDS_RESULT_OK;

	if ((!p && left) || !ret_n || !ret_result || (!out && cap))
		return -EINVAL;
	/* 11.3.3 Table 327: {DTCSnapshotRecordNumber, DTCSnapshotRecordNumberOfIdentifiers,
	 * {dataIdentifier, snapshotData}*}*; a count of 0 means "more than 255": read on
	 * until the end. */
	while (left > 0 && res == UDS_RESULT_OK) {
		uint8_t rec, nids;
		unsigned k = 0;

		if (left < 2) {
			res = UDS_RESULT_INVALID_LENGTH;
			break;
		}
		rec = p[0];
		nids = p[1];
		p += 2;
		left -= 2;
		while (nids == 0 ? left > 0 : k < nids) {
			uint16_t did;
			int l;

			if (left < 2) {
				res = UDS_RESULT_INVALID_LENGTH;
				break;
			}
			did = be16(p);
			p += 2;
			left -= 2;
			l = did_len ? did_len(userdata, did) : -1;
			if (l < 0) {
				/* Unknown length: only the last DID of the response can be split. */
				if (nids != 0 && k + 1 < nids) {
					res = UDS_RESULT_UNKNOWN_DID_LENGTH;
					break;
				}
				l = (int)left;
			}
			if ((size_t)l > left) {
				res = UDS_RESULT_INVALID_LENGTH;
				break;
			}
			if (n == cap)
				return -ENOBUFS;
			out[n++] = (struct uds_snapshot_did){.record = rec, .did = did, .data = p, .len = (size_t)l};
			p += l;
			left -= (size_t)l;
			k++;
		}
	}
	*ret_n = n;
	*ret_result = res;
	return 0;
}

int uds_split_ext_records(const uint8_t *p, size_t left, uds_len_fn rec_len, void *userdata,
			  struct uds_ext_record *out, size_t cap, size_t *ret_n,
			  enum uds_result *ret_result)
{
	size_t n = 0;
	enum uds_result res = UDS_RESULT_OK;

	if ((!p && left) || !ret_n || !ret_result || (!out && cap))
		return -EINVAL;
	/* 11.3.3 Table 329: {DTCExtDataRecordNumber, DTCExtDataRecord}*; record lengths are
	 * defined by the vehicle manufacturer, so they come from the caller. */
	while (left > 0) {
		uint8_t num = p[0];
		int l = rec_len ? rec_len(userdata, num) : -1;

		p++;
		left--;
		if (l < 0)
			l = (int)left;
		if ((size_t)l > left) {
			res = UDS_RESULT_INVALID_LENGTH;
			break;
		}
		if (n == cap)
			return -ENOBUFS;
		out[n++] = (struct uds_ext_record){.number = num, .data = p, .len = (size_t)l};
		p += l;
		left -= (size_t)l;
	}
	*ret_n = n;
	*ret_result = res;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* 0x22 */

int uds_build_read_did(const uint16_t *dids, size_t n, uint8_t *buf, size_t cap, size_t *ret_len)
{
	if (!dids || n == 0 || !buf || !ret_len)
		return -EINVAL;
	if (1 + 2 * n > cap)
		return -ENOBUFS;
	buf[0] = UDS_SID_READ_DATA_BY_IDENTIFIER;
	for (size_t i = 0; i < n; i++) {
		buf[1 + 2 * i] = (uint8_t)(dids[i] >> 8);
		buf[2 + 2 * i] = (uint8_t)dids[i];
	}
	*ret_len = 1 + 2 * n;
	return 0;
}

int uds_parse_read_did(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		       uds_len_fn did_len, void *userdata, struct uds_did_value *out, size_t cap,
		       size_t *ret_n, struct uds_response *ret)
{
	struct uds_response r;
	size_t n = 0, nreq, left;
	const uint8_t *p;

	if (!req || req_len < 3 || (req_len - 1) % 2 || !ret_n || !ret || (!out && cap))
		return -EINVAL;
	if (check_for(UDS_SID_READ_DATA_BY_IDENTIFIER, req, req_len, resp, resp_len, &r) < 0)
		return -EINVAL;
	nreq = (req_len - 1) / 2;
	if (r.result != UDS_RESULT_OK)
		goto out;
	p = resp + 1;
	left = resp_len - 1;
	if (left < 2) {
		r.result = UDS_RESULT_TRUNCATED;
		goto out;
	}
	/* 10.2.3 Table 198: {dataIdentifier, dataRecord}* in the order requested. */
	while (left > 0) {
		uint16_t did;
		size_t k;
		int l;

		if (left < 2) {
			r.result = UDS_RESULT_INVALID_LENGTH;
			break;
		}
		did = be16(p);
		for (k = 0; k < nreq; k++)
			if (be16(req + 1 + 2 * k) == did)
				break;
		if (k == nreq) {
			r.result = UDS_RESULT_UNEXPECTED_DID;
			break;
		}
		l = did_len ? did_len(userdata, did) : -1;
		if (l < 0) {
			if (k + 1 != nreq) {
				r.result = UDS_RESULT_UNKNOWN_DID_LENGTH;
				break;
			}
			l = (int)(left - 2);
		}
		if ((size_t)l > left - 2) {
			r.result = UDS_RESULT_TRUNCATED;
			break;
		}
		if (n == cap)
			return -ENOBUFS;
		out[n++] = (struct uds_did_value){.did = did, .data = p + 2, .len = (size_t)l};
		p += 2 + l;
		left -= 2 + (size_t)l;
	}
out:
	*ret_n = n;
	*ret = r;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* 0x27 */

static bool seed_level_ok(uint8_t level)
{
	/* 9.4.2.2 Table 42: requestSeed = odd values 0x01-0x7D (0x7F reserved). */
	return (level & 1) && level <= 0x7d;
}

int uds_build_security_seed_request(uint8_t level, const uint8_t *record, size_t record_len,
				    uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[2] = {UDS_SID_SECURITY_ACCESS, level};

	if (!seed_level_ok(level))
		return -EINVAL;
	return put(buf, cap, ret_len, h, 2, record, record_len, NULL, 0);
}

int uds_build_security_send_key(uint8_t level, const uint8_t *key, size_t key_len, uint8_t *buf,
				size_t cap, size_t *ret_len)
{
	uint8_t h[2] = {UDS_SID_SECURITY_ACCESS, (uint8_t)(level + 1)};

	if (!seed_level_ok(level) || key_len == 0)
		return -EINVAL;
	return put(buf, cap, ret_len, h, 2, key, key_len, NULL, 0);
}

int uds_build_security_key_from_seed(uint8_t level, const uint8_t *seed, size_t seed_len, uds_key_fn fn,
				     void *userdata, uint8_t *buf, size_t cap, size_t *ret_len)
{
	size_t key_len = 0;
	int r;

	if (!fn || !buf || !ret_len || cap < 3 || !seed_level_ok(level))
		return -EINVAL;
	/* The key goes straight into the request after the two header bytes. */
	r = fn(userdata, level, seed, seed_len, buf + 2, cap - 2, &key_len);
	if (r < 0)
		return r;
	if (key_len == 0 || key_len > cap - 2)
		return -EINVAL;
	buf[0] = UDS_SID_SECURITY_ACCESS;
	buf[1] = (uint8_t)(level + 1);
	*ret_len = key_len + 2;
	return 0;
}

int uds_parse_security_access(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			      struct uds_security_response *ret)
{
	struct uds_security_response s = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_SECURITY_ACCESS, req, req_len, resp, resp_len, &s.r) < 0)
		return -EINVAL;
	if (s.r.result == UDS_RESULT_OK) {
		s.subfn = resp[1] & 0x7f;
		if (s.subfn & 1) {
			/* 9.4.3 Table 45: securitySeed is mandatory; all zeros = already unlocked. */
			if (resp_len < 3) {
				s.r.result = UDS_RESULT_TRUNCATED;
			} else {
				s.seed = resp + 2;
				s.seed_len = resp_len - 2;
				s.already_unlocked = true;
				for (size_t i = 0; i < s.seed_len; i++)
					if (s.seed[i])
						s.already_unlocked = false;
			}
		} else if (resp_len != 2) {
			s.r.result = UDS_RESULT_INVALID_LENGTH;
		}
	}
	*ret = s;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* 0x2E, 0x2F, 0x31 */

int uds_build_write_did(uint16_t did, const uint8_t *data, size_t len, uint8_t *buf, size_t cap,
			size_t *ret_len)
{
	uint8_t h[3] = {UDS_SID_WRITE_DATA_BY_IDENTIFIER, (uint8_t)(did >> 8), (uint8_t)did};

	if (len == 0)
		return -EINVAL;
	return put(buf, cap, ret_len, h, 3, data, len, NULL, 0);
}

int uds_parse_write_did(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			struct uds_response *ret)
{
	/* 10.7.3 Table 215: SID, dataIdentifier. */
	return parse_exact(UDS_SID_WRITE_DATA_BY_IDENTIFIER, req, req_len, resp, resp_len, 3, ret);
}

int uds_build_io_control(uint16_t did, int param, const uint8_t *state, size_t state_len,
			 const uint8_t *mask, size_t mask_len, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[4] = {UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER, (uint8_t)(did >> 8), (uint8_t)did, 0};
	size_t hl = 3;

	if (param >= UDS_IO_PARAM_MAX || param < -1)
		return -EINVAL;
	/* 12.2.2 Table 360: shortTermAdjustment carries a controlState, the others none
	 * (only an optional controlEnableMask). */
	if (param == UDS_IO_SHORT_TERM_ADJUSTMENT && state_len == 0)
		return -EINVAL;
	if (param >= 0 && param != UDS_IO_SHORT_TERM_ADJUSTMENT && state_len)
		return -EINVAL;
	if (param < 0 && state_len == 0)
		return -EINVAL;
	if (param >= 0)
		h[hl++] = (uint8_t)param;
	return put(buf, cap, ret_len, h, hl, state, state_len, mask, mask_len);
}

int uds_parse_io_control(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			 struct uds_io_control_response *ret)
{
	struct uds_io_control_response o = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER, req, req_len, resp, resp_len, &o.r) < 0)
		return -EINVAL;
	if (o.r.result == UDS_RESULT_OK) {
		if (resp_len < 3) {
			o.r.result = UDS_RESULT_TRUNCATED;
		} else {
			o.did = be16(resp + 1);
			o.status = resp + 3;
			o.status_len = resp_len - 3;
			/* 12.2.3 Table 362: controlStatusRecord starts with the echoed
			 * inputOutputControlParameter when the request carried one. */
			if (req_len >= 4 && req[3] < UDS_IO_PARAM_MAX) {
				if (o.status_len == 0)
					o.r.result = UDS_RESULT_TRUNCATED;
				else if (o.status[0] != req[3])
					o.r.result = UDS_RESULT_WRONG_SUBFUNCTION;
			}
		}
	}
	*ret = o;
	return 0;
}

int uds_build_routine_control(uint8_t type, uint16_t rid, const uint8_t *option, size_t option_len,
			      bool suppress, uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t h[4] = {UDS_SID_ROUTINE_CONTROL, (uint8_t)(type | (suppress ? UDS_SPRMIB : 0)),
			(uint8_t)(rid >> 8), (uint8_t)rid};

	if (type < UDS_ROUTINE_START || type >= UDS_ROUTINE_CONTROL_MAX)
		return -EINVAL;
	return put(buf, cap, ret_len, h, 4, option, option_len, NULL, 0);
}

int uds_parse_routine_control(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			      struct uds_routine_response *ret)
{
	struct uds_routine_response r = {0};

	if (!ret)
		return -EINVAL;
	if (check_for(UDS_SID_ROUTINE_CONTROL, req, req_len, resp, resp_len, &r.r) < 0)
		return -EINVAL;
	if (r.r.result == UDS_RESULT_OK) {
		if (resp_len < 4) {
			r.r.result = UDS_RESULT_TRUNCATED;
		} else {
			r.type = resp[1] & 0x7f;
			r.rid = be16(resp + 2);
			r.status = resp + 4;
			r.status_len = resp_len - 4;
		}
	}
	*ret = r;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Waiting: P2/P2*, 0x78, 0x21 */

void uds_timing_init(struct uds_timing *t)
{
	*t = (struct uds_timing){
		.p2_us = 50000,
		.p2star_us = 5000000,
		.max_pending = 20,
		.max_busy = 3,
		.busy_delay_us = 100000,
		.busy_delay_max_us = 2000000,
	};
}

void uds_timing_from_session(struct uds_timing *t, const struct uds_session_response *s, uint32_t extra_us)
{
	if (!t || !s || s->r.result != UDS_RESULT_OK || !s->has_timing)
		return;
	/* ISO 14229-2:2013 7.2 Table 4: P2client_max > P2server_max + network delays. */
	t->p2_us = s->p2_us + extra_us;
	t->p2star_us = s->p2star_us + extra_us;
}

const char *uds_wait_action_name(enum uds_wait_action a)
{
	switch (a) {
	case UDS_WAIT_ARM: return "arm";
	case UDS_WAIT_RESEND: return "resend";
	case UDS_WAIT_DONE: return "done";
	case UDS_WAIT_DONE_NO_RESPONSE: return "done (no response expected)";
	case UDS_WAIT_IGNORE: return "ignore";
	case UDS_WAIT_TIMEOUT: return "timeout";
	case UDS_WAIT_TOO_MANY_PENDING: return "too many response-pending";
	case UDS_WAIT_TOO_MANY_BUSY: return "too many busy-repeat";
	case UDS_WAIT_ACTION_MAX: break;
	}
	return "?";
}

void uds_wait_init(struct uds_wait *w, const struct uds_timing *t, const uint8_t *req, size_t req_len)
{
	struct uds_timing def;

	if (!w)
		return;
	if (!t) {
		uds_timing_init(&def);
		t = &def;
	}
	*w = (struct uds_wait){
		.t = *t,
		.sid = req && req_len ? req[0] : 0,
		.suppress = uds_request_suppresses_response(req, req_len),
		.timer = UDS_WAIT_TIMER_NONE,
		.deadline = INT64_MAX,
		.next_busy_delay_us = t->busy_delay_us,
	};
}

static enum uds_wait_action wait_finish(struct uds_wait *w, enum uds_wait_action a)
{
	w->finished = true;
	w->timer = UDS_WAIT_TIMER_NONE;
	w->deadline = INT64_MAX;
	return a;
}

enum uds_wait_action uds_wait_sent(struct uds_wait *w, int64_t now_us)
{
	w->timer = UDS_WAIT_TIMER_P2;
	w->deadline = now_us + w->t.p2_us;
	return UDS_WAIT_ARM;
}

enum uds_wait_action uds_wait_response(struct uds_wait *w, const uint8_t *resp, size_t len, int64_t now_us)
{
	if (!w || w->finished || !resp || len == 0)
		return UDS_WAIT_IGNORE;
	if (resp[0] == UDS_SID_NEGATIVE_RESPONSE) {
		if (len < 2 || resp[1] != w->sid)
			return UDS_WAIT_IGNORE;
		if (len < 3)
			return wait_finish(w, UDS_WAIT_DONE); /* the parser names it: truncated */
		if (resp[2] == UDS_NRC_RESPONSE_PENDING) {
			/* ISO 14229-2:2013 7.2: each 0x78 restarts the client's P2* timer; we
			 * bound how many we accept so a stuck server cannot hold us forever. */
			if (++w->pending > w->t.max_pending)
				return wait_finish(w, UDS_WAIT_TOO_MANY_PENDING);
			w->timer = UDS_WAIT_TIMER_P2STAR;
			w->deadline = now_us + w->t.p2star_us;
			return UDS_WAIT_ARM;
		}
		if (resp[2] == UDS_NRC_BUSY_REPEAT_REQUEST) {
			/* ISO 14229-1 Annex A: 0x21 asks the client to repeat the request; we
			 * back off exponentially and give up after max_busy repeats. */
			uint32_t d = w->next_busy_delay_us;

			if (++w->busy > w->t.max_busy)
				return wait_finish(w, UDS_WAIT_TOO_MANY_BUSY);
			w->timer = UDS_WAIT_TIMER_RESEND;
			w->deadline = now_us + d;
			w->next_busy_delay_us = d > w->t.busy_delay_max_us / 2 ? w->t.busy_delay_max_us : d * 2;
			return UDS_WAIT_RESEND;
		}
		return wait_finish(w, UDS_WAIT_DONE);
	}
	if (resp[0] == (uint8_t)(w->sid + UDS_POSITIVE_OFFSET))
		return wait_finish(w, UDS_WAIT_DONE);
	return UDS_WAIT_IGNORE;
}

enum uds_wait_action uds_wait_timer_expired(struct uds_wait *w, int64_t now_us)
{
	if (!w || w->finished)
		return UDS_WAIT_IGNORE;
	if (now_us < w->deadline)
		return UDS_WAIT_ARM; /* not due: the timer stays as it is */
	switch (w->timer) {
	case UDS_WAIT_TIMER_NONE:
		return UDS_WAIT_IGNORE;
	case UDS_WAIT_TIMER_RESEND:
		/* Due now: the caller sends and calls uds_wait_sent(). */
		w->timer = UDS_WAIT_TIMER_NONE;
		w->deadline = INT64_MAX;
		return UDS_WAIT_RESEND;
	case UDS_WAIT_TIMER_P2:
		/* 7.5.2.1: with the SPRMIB set no positive response comes. */
		if (w->suppress && w->pending == 0)
			return wait_finish(w, UDS_WAIT_DONE_NO_RESPONSE);
		return wait_finish(w, UDS_WAIT_TIMEOUT);
	case UDS_WAIT_TIMER_P2STAR:
		return wait_finish(w, UDS_WAIT_TIMEOUT);
	case UDS_WAIT_TIMER_MAX:
		break;
	}
	return UDS_WAIT_IGNORE;
}

int64_t uds_wait_deadline(const struct uds_wait *w)
{
	return w ? w->deadline : INT64_MAX;
}

enum uds_wait_timer uds_wait_timer_kind(const struct uds_wait *w)
{
	return w ? w->timer : UDS_WAIT_TIMER_NONE;
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
