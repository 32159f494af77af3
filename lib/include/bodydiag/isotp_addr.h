/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * isotp_addr: how one ECU is reached over ISO-TP, ISO 15765-2:2016 10.3: the addressing
 * format, the CAN ids both ways, the address bytes in front of the N_PCI, padding, and the
 * flow control we send it. One description for the profile's [ecu] sections, the command
 * line, discovery results, the kernel socket options (lib/linux
 * isotp_socket_opts_from_addr()) and the user-space lib/isotp (isotp_addr_to_config()).
 *
 * The four formats, as the kernel's CAN_ISOTP socket can carry them (Linux 6.1 can/isotp.h:
 * CAN_ISOTP_EXTEND_ADDR with ext_address for what we send, CAN_ISOTP_RX_EXT_ADDR with
 * rx_ext_address when the answers carry another byte):
 *   normal        ids as given (11-bit, or 29-bit when above 0x7FF); data from byte 0.
 *   normal_fixed  29-bit ids 0x18DA<TA><SA> (requests) and 0x18DA<SA><TA> (responses); the
 *                 ECU is TA, the tester SA (0xF1 for external test equipment, ISO 15765-4).
 *   mixed         an address extension byte N_AE before the N_PCI, the same both ways;
 *                 29-bit ids 0x18CE<TA><SA> / 0x18CE<SA><TA>, or 11-bit ids as given.
 *   extended      a target address byte N_TA before the N_PCI: the ECU's address in the
 *                 requests, the tester's (BMW: 0xF1) or the ECU's again (Toyota-style
 *                 gateways on 0x750 -> 0x758) in the responses.
 *
 * Compact text form (command line, discovery output, JSON):
 *   addr   = [ mode ":" ] HEX "/" HEX { "," option }
 *   mode   = "normal" | "fixed" | "normal_fixed" | "mixed" | "ext" | "extended"
 *   option = "ta=" HEX | "sa=" HEX | "ae=" HEX | "pad=" HEX | "func=" HEX | "bs=" DEC
 *          | "stmin=" STMIN
 *   STMIN  = DEC [ "ms" ]  (0..127) | DEC "us"  (100..900 in steps of 100)
 * HEX with or without 0x. For fixed the two numbers are TA/SA (fixed:0x40/0xF1), for the
 * other modes request/response CAN ids; extended needs ta= (the byte in requests) and
 * takes sa= (the byte in responses; default: ta again); mixed needs ae=.
 * Examples: 0x726/0x72E,pad=0xAA  fixed:0x40/0xF1  ext:0x6F1/0x640,ta=0x40,sa=0xF1
 *           mixed:0x18CE40F1/0x18CEF140,ae=0x05
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/isotp.h"

enum isotp_addr_mode {
	ISOTP_ADDR_NORMAL,
	ISOTP_ADDR_NORMAL_FIXED,
	ISOTP_ADDR_MIXED,
	ISOTP_ADDR_EXTENDED,
	ISOTP_ADDR_MODE_MAX,
};

/* The tester's address of ISO 15765-4 (external test equipment): SA of normal_fixed. */
#define ISOTP_ADDR_TESTER 0xF1u

struct isotp_addr {
	enum isotp_addr_mode mode;
	uint32_t tx_id;		/* requests, tester -> ECU, without flag bits */
	uint32_t rx_id;		/* responses, ECU -> tester */
	uint32_t functional_id; /* functional requests; 0 = none */
	bool ext_ids;		/* the ids are 29-bit */
	uint8_t target, source; /* normal_fixed and 29-bit mixed: TA and SA inside the ids */
	uint8_t tx_ea;		/* extended: N_TA in requests; mixed: N_AE */
	uint8_t rx_ea;		/* extended: the address byte of responses; mixed: N_AE */
	int padding;		/* pad byte of the frames we send, -1 = none */
	uint8_t bs;		/* BS of the flow control we send (0 = no limit) */
	uint8_t stmin;		/* STmin of our flow control, coded as on the wire */
};

/* "normal", "normal_fixed", "mixed", "extended"; "?" out of range. */
const char *isotp_addr_mode_name(enum isotp_addr_mode m);
/* Accepts the names above and the short forms "fixed" and "ext". 0 or -EINVAL. */
int isotp_addr_mode_parse(const char *s, size_t n, enum isotp_addr_mode *ret);

/* Builders: everything not named is cleared (no padding, BS 0, STmin 0, no functional id).
 * Ids above 0x7FF make a normal or mixed address 29-bit. source < 0 in _extended: the
 * responses carry the target byte again. */
void isotp_addr_init_normal(struct isotp_addr *a, uint32_t tx_id, uint32_t rx_id);
void isotp_addr_init_fixed(struct isotp_addr *a, uint8_t target, uint8_t source);
void isotp_addr_init_mixed(struct isotp_addr *a, uint32_t tx_id, uint32_t rx_id, uint8_t ae);
void isotp_addr_init_mixed29(struct isotp_addr *a, uint8_t target, uint8_t source, uint8_t ae);
void isotp_addr_init_extended(struct isotp_addr *a, uint32_t tx_id, uint32_t rx_id, uint8_t target,
			      int source);

/* 0, or -EINVAL with the reason in err (may be NULL): ids out of range or equal (the
 * kernel refuses to bind a socket whose two ids are the same), normal_fixed ids that are
 * not 0x18DA<TA><SA>, a STmin code the standard reserves, padding outside 0..255. */
int isotp_addr_check(const struct isotp_addr *a, char *err, size_t errcap);

/* Field by field (never memcmp: the struct has padding bytes). */
bool isotp_addr_equal(const struct isotp_addr *a, const struct isotp_addr *b);

/* Parse error of the compact form: 1-based column of the offending text. */
struct isotp_addr_error {
	unsigned column;
	char message[128];
};

/* Parses the compact form (s need not be NUL-terminated). 0 and *ret, or -EINVAL with
 * *ret_err filled (may be NULL); the result has passed isotp_addr_check(). */
int isotp_addr_parse(const char *s, size_t n, struct isotp_addr *ret,
		     struct isotp_addr_error *ret_err);

/* Writes the compact form; parsing it gives the same address back. Returns snprintf's
 * result (>= size: truncated). */
int isotp_addr_format(const struct isotp_addr *a, char *buf, size_t size);
/* STmin code as text: "0ms" .. "127ms", "100us" .. "900us". */
int isotp_addr_format_stmin(uint8_t stmin, char *buf, size_t size);
/* "10", "10ms", "300us": the wire code. 0 or -EINVAL. */
int isotp_addr_parse_stmin(const char *s, size_t n, uint8_t *ret);

/* The ECU's side of the same link: ids, address bytes and TA/SA swapped (what a
 * simulator binds its server socket to). Padding, BS and STmin are kept. */
void isotp_addr_reverse(const struct isotp_addr *a, struct isotp_addr *ret);

/* The user-space lib/isotp configuration of this link (isotp_config_init() defaults for
 * everything the address does not say). */
void isotp_addr_to_config(const struct isotp_addr *a, struct isotp_config *ret);

/* The passive observer of this link (lib/isotp isotp_observer_new()): requests on tx_id
 * carrying tx_ea, responses on rx_id carrying rx_ea in extended and mixed addressing. */
void isotp_addr_observer_config(const struct isotp_addr *a, struct isotp_observer_config *ret);

/* Where the N_PCI starts in a frame of this link: 1 behind the address byte of extended and
 * mixed addressing, 0 otherwise. */
size_t isotp_addr_pci_offset(const struct isotp_addr *a);

/*
 * The settings of a profile's [ecu] section before they are checked together. Fields
 * hold -1 while absent. isotp_addr_spec_set() takes one key with its raw value;
 * isotp_addr_spec_build() applies the rules of profiles/README.md:
 *   normal        request and response; no target, source, ext_address
 *   normal_fixed  target (source: default 0xF1); the ids are computed, request/response refused
 *   mixed         ext_address, and either request/response or target (/source)
 *   extended      request, response and target; source = the byte in responses (default target)
 * `addressing` absent means normal, or extended when target is given with request/response.
 */
struct isotp_addr_spec {
	int mode;			       /* enum isotp_addr_mode, -1 absent */
	int64_t request, response, functional; /* CAN ids, -1 absent */
	int target, source, ext_address;       /* bytes, -1 absent */
	int padding, bs, stmin;		       /* -1 absent */
};

void isotp_addr_spec_init(struct isotp_addr_spec *s);

/* Sets one key: addressing, target, source, ext_address, bs or stmin (request, response,
 * functional and padding are parsed by the profile itself and copied into the spec).
 * 0; -ENOENT for any other key; -EINVAL with the reason in err for a bad value. */
int isotp_addr_spec_set(struct isotp_addr_spec *s, const char *key, const char *v, size_t vn,
			char *err, size_t errcap);

/* Builds the address. 0 and *ret, or -EINVAL with the reason in err and, in *ret_key, the
 * name of the key at fault (NULL when it concerns the section as a whole). */
int isotp_addr_spec_build(const struct isotp_addr_spec *s, struct isotp_addr *ret,
			  const char **ret_key, char *err, size_t errcap);
