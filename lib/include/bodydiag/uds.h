/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * uds: ISO 14229-1 (UDS) request builders, response parsers, names, the response-pending /
 * busy-repeat wait logic as a pure state machine, and a one-line describer of any PDU.
 *
 * Builders write into the caller's buffer: int uds_build_*(..., uint8_t *buf, size_t cap,
 * size_t *ret_len) return 0 and the PDU length, -EINVAL for arguments the standard does
 * not allow, -ENOBUFS when cap is too small (nothing written to *ret_len).
 *
 * Parsers take the request a response answers (the echoes are checked against it) and
 * fill a result struct. They return 0 whenever they could classify the response, also
 * for negative or malformed ones: the outcome is data (struct uds_response.result, the
 * NRC), never -errno. -EINVAL means a programming error: NULL, an empty request, a request
 * whose first byte is a response SID, or a request of another service than the parser's.
 * Pointers in results point into the response buffer.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Service identifiers, ISO 14229-1:2013 Table 23 (and 2020 for 0x29). */
enum uds_sid {
	UDS_SID_DIAGNOSTIC_SESSION_CONTROL = 0x10,
	UDS_SID_ECU_RESET = 0x11,
	UDS_SID_CLEAR_DIAGNOSTIC_INFORMATION = 0x14,
	UDS_SID_READ_DTC_INFORMATION = 0x19,
	UDS_SID_READ_DATA_BY_IDENTIFIER = 0x22,
	UDS_SID_READ_MEMORY_BY_ADDRESS = 0x23,
	UDS_SID_READ_SCALING_DATA_BY_IDENTIFIER = 0x24,
	UDS_SID_SECURITY_ACCESS = 0x27,
	UDS_SID_COMMUNICATION_CONTROL = 0x28,
	UDS_SID_AUTHENTICATION = 0x29,
	UDS_SID_READ_DATA_BY_PERIODIC_IDENTIFIER = 0x2a,
	UDS_SID_DYNAMICALLY_DEFINE_DATA_IDENTIFIER = 0x2c,
	UDS_SID_WRITE_DATA_BY_IDENTIFIER = 0x2e,
	UDS_SID_INPUT_OUTPUT_CONTROL_BY_IDENTIFIER = 0x2f,
	UDS_SID_ROUTINE_CONTROL = 0x31,
	UDS_SID_REQUEST_DOWNLOAD = 0x34,
	UDS_SID_REQUEST_UPLOAD = 0x35,
	UDS_SID_TRANSFER_DATA = 0x36,
	UDS_SID_REQUEST_TRANSFER_EXIT = 0x37,
	UDS_SID_REQUEST_FILE_TRANSFER = 0x38,
	UDS_SID_WRITE_MEMORY_BY_ADDRESS = 0x3d,
	UDS_SID_TESTER_PRESENT = 0x3e,
	UDS_SID_NEGATIVE_RESPONSE = 0x7f,
	UDS_SID_ACCESS_TIMING_PARAMETER = 0x83,
	UDS_SID_SECURED_DATA_TRANSMISSION = 0x84,
	UDS_SID_CONTROL_DTC_SETTING = 0x85,
	UDS_SID_RESPONSE_ON_EVENT = 0x86,
	UDS_SID_LINK_CONTROL = 0x87,
	UDS_SID_MAX = 0x100,
};

/* Positive response SID = request SID + 0x40 (ISO 14229-1:2013 7.5.2). */
#define UDS_POSITIVE_OFFSET 0x40u
/* suppressPosRspMsgIndicationBit in the sub-function byte (ISO 14229-1:2013 7.5.2.1). */
#define UDS_SPRMIB 0x80u

/* Negative response codes, ISO 14229-1:2020 Table A.1. */
enum uds_nrc {
	UDS_NRC_POSITIVE_RESPONSE = 0x00,
	UDS_NRC_GENERAL_REJECT = 0x10,
	UDS_NRC_SERVICE_NOT_SUPPORTED = 0x11,
	UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED = 0x12,
	UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT = 0x13,
	UDS_NRC_RESPONSE_TOO_LONG = 0x14,
	UDS_NRC_BUSY_REPEAT_REQUEST = 0x21,
	UDS_NRC_CONDITIONS_NOT_CORRECT = 0x22,
	UDS_NRC_REQUEST_SEQUENCE_ERROR = 0x24,
	UDS_NRC_NO_RESPONSE_FROM_SUBNET_COMPONENT = 0x25,
	UDS_NRC_FAILURE_PREVENTS_EXECUTION_OF_REQUESTED_ACTION = 0x26,
	UDS_NRC_REQUEST_OUT_OF_RANGE = 0x31,
	UDS_NRC_SECURITY_ACCESS_DENIED = 0x33,
	UDS_NRC_AUTHENTICATION_REQUIRED = 0x34,
	UDS_NRC_INVALID_KEY = 0x35,
	UDS_NRC_EXCEEDED_NUMBER_OF_ATTEMPTS = 0x36,
	UDS_NRC_REQUIRED_TIME_DELAY_NOT_EXPIRED = 0x37,
	UDS_NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED = 0x70,
	UDS_NRC_TRANSFER_DATA_SUSPENDED = 0x71,
	UDS_NRC_GENERAL_PROGRAMMING_FAILURE = 0x72,
	UDS_NRC_WRONG_BLOCK_SEQUENCE_COUNTER = 0x73,
	UDS_NRC_RESPONSE_PENDING = 0x78,
	UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED_IN_ACTIVE_SESSION = 0x7e,
	UDS_NRC_SERVICE_NOT_SUPPORTED_IN_ACTIVE_SESSION = 0x7f,
	UDS_NRC_VOLTAGE_TOO_HIGH = 0x92,
	UDS_NRC_VOLTAGE_TOO_LOW = 0x93,
	UDS_NRC_RESOURCE_TEMPORARILY_NOT_AVAILABLE = 0x94,
	UDS_NRC_MAX = 0x100,
};

/* ISO 14229-1 name of any NRC value ("requestOutOfRange"), including the reserved and
 * manufacturer-specific ranges ("ISOSAEReserved",
 * "vehicleManufacturerSpecificConditionsNotCorrect"). Never NULL. */
const char *uds_nrc_name(uint8_t nrc);
/* Service name for a request SID, or for a positive response SID (then the service it
 * answers); NULL when unknown. */
const char *uds_service_name(uint8_t sid);
/* Name of a standard DID (0xF180-0xF19F range, ISO 14229-1:2013 Annex C.1), or NULL. */
const char *uds_did_name(uint16_t did);
/* Session type name (0x01 defaultSession ...), or NULL. */
const char *uds_session_name(uint8_t session);
/* ReadDTCInformation sub-function name (0x02 reportDTCByStatusMask ...), or NULL. */
const char *uds_rdtci_name(uint8_t subfn);

/* How a response relates to its request: data, not errors. */
enum uds_result {
	UDS_RESULT_OK,                 /* positive response, well formed */
	UDS_RESULT_NEGATIVE,           /* 0x7F for this service: see nrc */
	UDS_RESULT_TRUNCATED,          /* shorter than the service's minimum */
	UDS_RESULT_INVALID_LENGTH,     /* length does not fit the record structure */
	UDS_RESULT_OTHER_SERVICE,      /* positive response to another service */
	UDS_RESULT_WRONG_SID_ECHO,     /* 0x7F echoing another request SID */
	UDS_RESULT_WRONG_SUBFUNCTION,  /* sub-function / parameter echo differs */
	UDS_RESULT_WRONG_IDENTIFIER,   /* DID / RID echo differs */
	UDS_RESULT_UNEXPECTED_DID,     /* 0x62 carries a DID that was not requested */
	UDS_RESULT_UNKNOWN_DID_LENGTH, /* record length unknown: cannot split the response */
	UDS_RESULT_NOT_A_RESPONSE,     /* first byte is no response SID */
	UDS_RESULT_MAX,
};

/* "OK", "negative response", "truncated", ... never NULL. */
const char *uds_result_name(enum uds_result r);

/* Common part of every parsed response. */
struct uds_response {
	enum uds_result result;
	uint8_t sid;         /* the request's SID */
	uint8_t nrc;         /* result NEGATIVE: the NRC (any value, also unknown ones) */
	const uint8_t *data; /* result OK: response bytes after the response SID */
	size_t len;
};

/* Classifies any response against its request: SID and 0x7F echo, sub-function echo for
 * services with a sub-function, DID echo for 0x2E/0x2F, RID for 0x31. */
int uds_check_response(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		       struct uds_response *ret);

/* True when the request's sub-function has the suppressPosRspMsgIndicationBit set (only
 * for services that have a sub-function). */
bool uds_request_suppresses_response(const uint8_t *req, size_t len);

/* ---- 0x10 DiagnosticSessionControl ---- */
int uds_build_session_control(uint8_t session, bool suppress, uint8_t *buf, size_t cap, size_t *ret_len);
struct uds_session_response {
	struct uds_response r;
	uint8_t session;
	bool has_timing;     /* sessionParameterRecord present */
	uint32_t p2_us;      /* P2server_max, 1 ms resolution on the wire */
	uint32_t p2star_us;  /* P2*server_max, 10 ms resolution on the wire */
};
int uds_parse_session_control(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			      struct uds_session_response *ret);

/* ---- 0x11 ECUReset (parse only) ---- */
struct uds_ecu_reset_response {
	struct uds_response r;
	uint8_t reset_type;
	bool has_power_down_time; /* reset type 0x04 enableRapidPowerShutDown */
	uint8_t power_down_time_s; /* 0xFF: failure or time not available */
};
int uds_parse_ecu_reset(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			struct uds_ecu_reset_response *ret);

/* ---- 0x14 ClearDiagnosticInformation ---- */
#define UDS_DTC_GROUP_ALL 0xffffffu
/* group: 24-bit groupOfDTC; memory_selection: -1 = none, 0..255 = the 2020 MemorySelection byte. */
int uds_build_clear_dtc(uint32_t group, int memory_selection, uint8_t *buf, size_t cap, size_t *ret_len);
int uds_parse_clear_dtc(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			struct uds_response *ret);

/* ---- 0x19 ReadDTCInformation ---- */
enum uds_rdtci_subfn {
	UDS_RDTCI_NUMBER_BY_STATUS_MASK = 0x01,
	UDS_RDTCI_DTC_BY_STATUS_MASK = 0x02,
	UDS_RDTCI_SNAPSHOT_IDENTIFICATION = 0x03,
	UDS_RDTCI_SNAPSHOT_BY_DTC = 0x04,
	UDS_RDTCI_SNAPSHOT_BY_RECORD = 0x05,
	UDS_RDTCI_EXT_DATA_BY_DTC = 0x06,
	UDS_RDTCI_NUMBER_BY_SEVERITY_MASK = 0x07,
	UDS_RDTCI_BY_SEVERITY_MASK = 0x08,
	UDS_RDTCI_SEVERITY_OF_DTC = 0x09,
	UDS_RDTCI_SUPPORTED_DTC = 0x0a,
	UDS_RDTCI_FIRST_TEST_FAILED = 0x0b,
	UDS_RDTCI_FIRST_CONFIRMED = 0x0c,
	UDS_RDTCI_MOST_RECENT_TEST_FAILED = 0x0d,
	UDS_RDTCI_MOST_RECENT_CONFIRMED = 0x0e,
	UDS_RDTCI_MIRROR_BY_STATUS_MASK = 0x0f,
	UDS_RDTCI_MIRROR_EXT_DATA_BY_DTC = 0x10,
	UDS_RDTCI_NUMBER_MIRROR_BY_STATUS_MASK = 0x11,
	UDS_RDTCI_NUMBER_EMISSIONS_BY_STATUS_MASK = 0x12,
	UDS_RDTCI_EMISSIONS_BY_STATUS_MASK = 0x13,
	UDS_RDTCI_FAULT_DETECTION_COUNTER = 0x14,
	UDS_RDTCI_WITH_PERMANENT_STATUS = 0x15,
	UDS_RDTCI_SUBFN_MAX = 0x80,
};
/* Sub-functions with a DTCStatusMask parameter: 0x01, 0x02, 0x0F, 0x11, 0x12, 0x13. */
int uds_build_rdtci_status_mask(uint8_t subfn, uint8_t mask, uint8_t *buf, size_t cap, size_t *ret_len);
/* Sub-functions with DTC + record number: 0x04, 0x06, 0x10 (record 0xFF = all). */
int uds_build_rdtci_dtc_record(uint8_t subfn, uint32_t dtc, uint8_t record, uint8_t *buf, size_t cap,
			       size_t *ret_len);
/* Sub-functions without parameters: 0x0A-0x0E, 0x14, 0x15, 0x03. */
int uds_build_rdtci(uint8_t subfn, uint8_t *buf, size_t cap, size_t *ret_len);

enum uds_rdtci_shape {
	UDS_RDTCI_SHAPE_COUNT,       /* mask, format, count */
	UDS_RDTCI_SHAPE_DTC_LIST,    /* mask, {DTC, status}* */
	UDS_RDTCI_SHAPE_DTC_RECORDS, /* DTC, status, records (0x04, 0x06, 0x10) */
	UDS_RDTCI_SHAPE_OTHER,       /* not decoded further: r.data */
	UDS_RDTCI_SHAPE_MAX,
};

struct uds_dtc_record {
	uint32_t dtc;
	uint8_t status;
};

struct uds_rdtci_response {
	struct uds_response r;
	uint8_t subfn;
	enum uds_rdtci_shape shape;
	uint8_t availability_mask;   /* COUNT, DTC_LIST */
	uint8_t dtc_format;          /* COUNT: DTCFormatIdentifier */
	uint16_t dtc_count;          /* COUNT */
	size_t n_dtcs;               /* DTC_LIST: records, read with uds_rdtci_dtc() */
	const uint8_t *dtcs;
	uint32_t dtc;                /* DTC_RECORDS */
	uint8_t status;              /* DTC_RECORDS */
	const uint8_t *records;      /* DTC_RECORDS: snapshot / extended data records, raw */
	size_t records_len;
};
int uds_parse_rdtci(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		    struct uds_rdtci_response *ret);
/* The i-th DTC of a DTC_LIST response. Returns 0, -ERANGE past the end, -EINVAL. */
int uds_rdtci_dtc(const struct uds_rdtci_response *r, size_t i, struct uds_dtc_record *ret);
/* DTCFormatIdentifier name ("SAE_J2012-DA_DTCFormat_00" ...), or NULL. */
const char *uds_dtc_format_name(uint8_t format);

/* Length of a DID's data record (0x22, 0x19 04 snapshots) or of an extended data record
 * (0x19 06, key = record number): >= 0 bytes, or -1 when unknown. */
typedef int (*uds_len_fn)(void *userdata, uint16_t key);

/* A ready-made uds_len_fn over a table: pass the struct uds_len_table as userdata. */
struct uds_len_entry {
	uint16_t key;
	uint16_t len;
};
struct uds_len_table {
	const struct uds_len_entry *entries;
	size_t n;
};
int uds_len_table_lookup(void *table, uint16_t key);

/* One DID in a snapshot record (0x19 04). */
struct uds_snapshot_did {
	uint8_t record;     /* DTCSnapshotRecordNumber */
	uint16_t did;
	const uint8_t *data;
	size_t len;
};
/* Splits the records of a 0x19 04 response. The last DID of the response may have an
 * unknown length (it takes the rest). Returns 0 with *ret_n items and *ret_result (OK,
 * INVALID_LENGTH, UNKNOWN_DID_LENGTH), -ENOBUFS when cap items are too few. */
int uds_split_snapshots(const uint8_t *records, size_t len, uds_len_fn did_len, void *userdata,
			struct uds_snapshot_did *out, size_t cap, size_t *ret_n, enum uds_result *ret_result);

/* One extended data record (0x19 06). */
struct uds_ext_record {
	uint8_t number;
	const uint8_t *data;
	size_t len;
};
/* Splits the records of a 0x19 06 response with record lengths from rec_len (key = record
 * number). A single record, or the last one, may be of unknown length. */
int uds_split_ext_records(const uint8_t *records, size_t len, uds_len_fn rec_len, void *userdata,
			  struct uds_ext_record *out, size_t cap, size_t *ret_n,
			  enum uds_result *ret_result);

/* ---- 0x22 ReadDataByIdentifier ---- */
int uds_build_read_did(const uint16_t *dids, size_t n, uint8_t *buf, size_t cap, size_t *ret_len);
struct uds_did_value {
	uint16_t did;
	const uint8_t *data;
	size_t len;
};
/* Splits a 0x62 response into DIDs. Each DID must be one the request asked for (a server
 * leaves out unsupported ones, ISO 14229-1:2013 10.2.1); lengths come from did_len; a DID
 * of unknown length is accepted only as the last one in the response. *ret_n DIDs are
 * written to out. Returns 0 (see ret->result), -ENOBUFS when cap is too small, -EINVAL. */
int uds_parse_read_did(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
		       uds_len_fn did_len, void *userdata, struct uds_did_value *out, size_t cap,
		       size_t *ret_n, struct uds_response *ret);

/* ---- 0x27 SecurityAccess ---- */
/* level: the odd requestSeed sub-function (0x01, 0x03, ... 0x7D). */
int uds_build_security_seed_request(uint8_t level, const uint8_t *record, size_t record_len,
				    uint8_t *buf, size_t cap, size_t *ret_len);
/* Sends the key for the seed of level (sub-function level + 1). */
int uds_build_security_send_key(uint8_t level, const uint8_t *key, size_t key_len, uint8_t *buf,
				size_t cap, size_t *ret_len);
/* The key algorithm plug-in: computes the key for seed into key[0..key_cap). Returns 0 and
 * *ret_key_len, or -errno. */
typedef int (*uds_key_fn)(void *userdata, uint8_t level, const uint8_t *seed, size_t seed_len,
			  uint8_t *key, size_t key_cap, size_t *ret_key_len);
/* Runs fn on seed and builds the sendKey request. Returns fn's error, or as the builders. */
int uds_build_security_key_from_seed(uint8_t level, const uint8_t *seed, size_t seed_len, uds_key_fn fn,
				     void *userdata, uint8_t *buf, size_t cap, size_t *ret_len);
struct uds_security_response {
	struct uds_response r;
	uint8_t subfn;
	const uint8_t *seed; /* requestSeed responses */
	size_t seed_len;
	bool already_unlocked; /* seed of all zeros (ISO 14229-1:2013 9.4.1) */
};
int uds_parse_security_access(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			      struct uds_security_response *ret);

/* ---- 0x2E WriteDataByIdentifier ---- */
int uds_build_write_did(uint16_t did, const uint8_t *data, size_t len, uint8_t *buf, size_t cap,
			size_t *ret_len);
int uds_parse_write_did(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			struct uds_response *ret);

/* ---- 0x2F InputOutputControlByIdentifier ---- */
enum uds_io_param {
	UDS_IO_RETURN_CONTROL_TO_ECU = 0x00,
	UDS_IO_RESET_TO_DEFAULT = 0x01,
	UDS_IO_FREEZE_CURRENT_STATE = 0x02,
	UDS_IO_SHORT_TERM_ADJUSTMENT = 0x03,
	UDS_IO_PARAM_MAX,
};
/* param: one of enum uds_io_param, or -1 when the DID's control record has no
 * inputOutputControlParameter (vehicle-manufacturer-defined record). state/mask may be
 * NULL/0. */
int uds_build_io_control(uint16_t did, int param, const uint8_t *state, size_t state_len,
			 const uint8_t *mask, size_t mask_len, uint8_t *buf, size_t cap, size_t *ret_len);
struct uds_io_control_response {
	struct uds_response r;
	uint16_t did;
	const uint8_t *status; /* controlStatusRecord, starting with the parameter echo if any */
	size_t status_len;
};
int uds_parse_io_control(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			 struct uds_io_control_response *ret);

/* ---- 0x31 RoutineControl ---- */
enum uds_routine_control {
	UDS_ROUTINE_START = 0x01,
	UDS_ROUTINE_STOP = 0x02,
	UDS_ROUTINE_RESULTS = 0x03,
	UDS_ROUTINE_CONTROL_MAX,
};
int uds_build_routine_control(uint8_t type, uint16_t rid, const uint8_t *option, size_t option_len,
			      bool suppress, uint8_t *buf, size_t cap, size_t *ret_len);
struct uds_routine_response {
	struct uds_response r;
	uint8_t type;
	uint16_t rid;
	const uint8_t *status; /* routineInfo + routineStatusRecord, raw */
	size_t status_len;
};
int uds_parse_routine_control(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			      struct uds_routine_response *ret);

/* ---- 0x3E TesterPresent ---- */
int uds_build_tester_present(bool suppress, uint8_t *buf, size_t cap, size_t *ret_len);
int uds_parse_tester_present(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len,
			     struct uds_response *ret);

/* ---- waiting for a response: P2 / P2*, 0x78, 0x21 (ISO 14229-2:2013 7.2, ISO 14229-1 A.1) ---- */
struct uds_timing {
	uint32_t p2_us;          /* P2client: wait for the first response; default 50 ms */
	uint32_t p2star_us;      /* P2*client: wait after each 0x78; default 5000 ms */
	unsigned max_pending;    /* 0x78 responses accepted before giving up; default 20 */
	unsigned max_busy;       /* 0x21 resends before giving up; default 3 */
	uint32_t busy_delay_us;  /* first resend delay after 0x21; default 100 ms, doubled each time */
	uint32_t busy_delay_max_us; /* cap of that back-off; default 2 s */
	uint32_t n_cr_us;        /* once a segmented response has begun, the longest wait for
				  * its next consecutive frame (ISO 15765-2 N_Cr); default 1000 ms */
};

/* Defaults per trunk-domain.md / ISO 14229-2: P2 50 ms, P2* 5000 ms; N_Cr 1000 ms
 * (ISO 15765-2 Table 16, also the kernel's fixed CAN_ISOTP reception timeout). */
void uds_timing_init(struct uds_timing *t);
/* Takes P2/P2* from a positive 0x10 response (server values; a client adds its own
 * margin via extra_us for bus and transport latency). Leaves t unchanged when the response
 * carries no timing. */
void uds_timing_from_session(struct uds_timing *t, const struct uds_session_response *s, uint32_t extra_us);

enum uds_wait_action {
	UDS_WAIT_ARM,          /* (re)arm the timer: deadline in uds_wait_deadline() (P2 or P2*) */
	UDS_WAIT_RESEND,       /* send the request again at uds_wait_deadline(), then uds_wait_sent() */
	UDS_WAIT_DONE,         /* final response: hand it to the parser */
	UDS_WAIT_DONE_NO_RESPONSE, /* SPRMIB set and P2 passed without a response: success */
	UDS_WAIT_IGNORE,       /* not a response to this request: keep waiting; re-arm at
				* uds_wait_deadline() (back to P2/P2* after a transfer) */
	UDS_WAIT_TIMEOUT,      /* P2 / P2* expired */
	UDS_WAIT_TRANSFER_TIMEOUT, /* a segmented response began and its next frame is overdue
				    * (N_Cr): the ECU stopped answering mid-transfer */
	UDS_WAIT_TOO_MANY_PENDING, /* more 0x78 than max_pending */
	UDS_WAIT_TOO_MANY_BUSY,    /* more 0x21 than max_busy */
	UDS_WAIT_ACTION_MAX,
};

const char *uds_wait_action_name(enum uds_wait_action a);

enum uds_wait_timer {
	UDS_WAIT_TIMER_NONE,
	UDS_WAIT_TIMER_P2,
	UDS_WAIT_TIMER_P2STAR,
	UDS_WAIT_TIMER_RESEND,
	UDS_WAIT_TIMER_N_CR,   /* a segmented response is arriving */
	UDS_WAIT_TIMER_MAX,
};

/* Caller's memory; fields are private. */
struct uds_wait {
	struct uds_timing t;
	uint8_t sid;
	bool suppress;
	enum uds_wait_timer timer;
	int64_t deadline;
	unsigned pending, busy;
	uint32_t next_busy_delay_us;
	bool finished;
	enum uds_wait_timer resume_timer; /* N_Cr: the P2/P2* wait the transfer interrupted */
	int64_t resume_deadline;
};

/* Starts waiting for the response to req (copied: SID and SPRMIB only). */
void uds_wait_init(struct uds_wait *w, const struct uds_timing *t, const uint8_t *req, size_t req_len);
/* The request went out (first time or resend): arms P2. Returns UDS_WAIT_ARM. */
enum uds_wait_action uds_wait_sent(struct uds_wait *w, int64_t now_us);
/* A PDU arrived from the server. */
enum uds_wait_action uds_wait_response(struct uds_wait *w, const uint8_t *resp, size_t len, int64_t now_us);
/*
 * The transport showed a frame of a segmented response on the server's response id, at
 * now_us: its first frame (first = true) or a consecutive frame. ISO 14229-2 measures
 * P2/P2* to the start of the response (N_USDataFF.indication), not to the end of a long
 * transfer, so a first frame while P2/P2* runs ends that wait; from then on each
 * consecutive frame must follow the previous one within N_Cr. Returns ARM (deadline
 * moved), IGNORE (nothing waited for, a first frame during a resend delay, or a
 * consecutive frame of no transfer we saw begin).
 */
enum uds_wait_action uds_wait_frame(struct uds_wait *w, bool first, int64_t now_us);
/* The timer fired: TIMEOUT, TRANSFER_TIMEOUT, DONE_NO_RESPONSE or RESEND when the deadline has passed;
 * ARM (keep the timer) when called early; IGNORE when nothing is being waited for. */
enum uds_wait_action uds_wait_timer_expired(struct uds_wait *w, int64_t now_us);
int64_t uds_wait_deadline(const struct uds_wait *w);
enum uds_wait_timer uds_wait_timer_kind(const struct uds_wait *w);

/* ---- human-readable lines ---- */
struct uds_describe_opts {
	uds_len_fn did_len;   /* DID lengths (0x62 with several DIDs, 0x59 04 snapshots); may be NULL */
	uds_len_fn ext_len;   /* extended data record lengths (0x59 06); may be NULL */
	void *userdata;       /* passed to both */
	const uint8_t *request; /* the request a response answers; may be NULL */
	size_t request_len;
};
/*
 * One line for one UDS PDU: service name, sub-function, DIDs with names, DTCs as text with
 * status bit names and FTB meaning, NRC names. E.g. "7F 22 31" ->
 * "NR ReadDataByIdentifier: requestOutOfRange (0x31)".
 * Returns 0, -ENOBUFS when truncated (buf still NUL-terminated), -EINVAL.
 */
int uds_describe(const uint8_t *pdu, size_t len, bool is_response, char *buf, size_t cap);
int uds_describe_ex(const uint8_t *pdu, size_t len, bool is_response, const struct uds_describe_opts *o,
		    char *buf, size_t cap);
