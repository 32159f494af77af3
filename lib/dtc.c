/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bodydiag/dtc.h"
#include "bytes.h"

/* ISO 14229-1:2013 D.2, Table D.14 (DTCStatusMask bit definitions). */
static const char *const status_names[DTC_STATUS_BIT_MAX] = {
	[DTC_STATUS_TEST_FAILED] = "testFailed",
	[DTC_STATUS_TEST_FAILED_THIS_OPERATION_CYCLE] = "testFailedThisOperationCycle",
	[DTC_STATUS_PENDING_DTC] = "pendingDTC",
	[DTC_STATUS_CONFIRMED_DTC] = "confirmedDTC",
	[DTC_STATUS_TEST_NOT_COMPLETED_SINCE_LAST_CLEAR] = "testNotCompletedSinceLastClear",
	[DTC_STATUS_TEST_FAILED_SINCE_LAST_CLEAR] = "testFailedSinceLastClear",
	[DTC_STATUS_TEST_NOT_COMPLETED_THIS_OPERATION_CYCLE] = "testNotCompletedThisOperationCycle",
	[DTC_STATUS_WARNING_INDICATOR_REQUESTED] = "warningIndicatorRequested",
};

const char *dtc_status_bit_name(enum dtc_status_bit b)
{
	if ((unsigned)b >= DTC_STATUS_BIT_MAX)
		return "?";
	return status_names[b];
}

int dtc_status_bit_from_name(const char *name, enum dtc_status_bit *ret)
{
	if (!name || !ret)
		return -EINVAL;
	for (unsigned i = 0; i < DTC_STATUS_BIT_MAX; i++)
		if (strcmp(name, status_names[i]) == 0) {
			*ret = (enum dtc_status_bit)i;
			return 0;
		}
	return -EINVAL;
}

int dtc_status_format(uint8_t status, char *buf, size_t cap)
{
	size_t o = 0;

	if (!buf || cap == 0)
		return -EINVAL;
	buf[0] = '\0';
	if (status == 0) {
		int n = snprintf(buf, cap, "none");
		return (size_t)n >= cap ? -ENOBUFS : 0;
	}
	for (unsigned i = 0; i < DTC_STATUS_BIT_MAX; i++) {
		int n;
		if (!(status & (1u << i)))
			continue;
		n = snprintf(buf + o, cap - o, "%s%s", o ? "|" : "", status_names[i]);
		if (n < 0 || (size_t)n >= cap - o)
			return -ENOBUFS;
		o += (size_t)n;
	}
	return 0;
}

/* SAE J2012 / ISO 15031-6: the two top bits of the first byte select the system. */
static const char letters[4] = {'P', 'C', 'B', 'U'};

char dtc_system_letter(uint32_t dtc)
{
	return letters[(dtc >> 22) & 3];
}

int dtc_format(uint32_t dtc, char *buf, size_t cap)
{
	if (!buf)
		return -EINVAL;
	if (cap < DTC_TEXT_MAX)
		return -ENOBUFS;
	snprintf(buf, cap, "%c%u%03X-%02X", letters[(dtc >> 22) & 3], (unsigned)(dtc >> 20) & 3,
		 (unsigned)(dtc >> 8) & 0xfff, (unsigned)dtc & 0xff);
	return 0;
}

int dtc_format_obd(uint16_t dtc, char *buf, size_t cap)
{
	if (!buf)
		return -EINVAL;
	if (cap < DTC_OBD_TEXT_MAX)
		return -ENOBUFS;
	snprintf(buf, cap, "%c%u%03X", letters[(dtc >> 14) & 3], (unsigned)(dtc >> 12) & 3,
		 (unsigned)dtc & 0xfff);
	return 0;
}

static int letter_value(char c)
{
	switch (c) {
	case 'P': case 'p':
		return 0;
	case 'C': case 'c':
		return 1;
	case 'B': case 'b':
		return 2;
	case 'U': case 'u':
		return 3;
	}
	return -1;
}

/* Parses the 5-character code part ("B1A40") into 16 bits. */
static int parse_code(const char *s, uint16_t *ret)
{
	int l = letter_value(s[0]), d1 = s[0] ? hex_digit(s[1]) : -1;
	uint16_t v;

	if (l < 0 || d1 < 0 || d1 > 3)
		return -EINVAL;
	v = (uint16_t)(l << 14 | d1 << 12);
	for (int i = 2; i < 5; i++) {
		int h = hex_digit(s[i]);
		if (h < 0)
			return -EINVAL;
		v |= (uint16_t)(h << (4 * (4 - i)));
	}
	*ret = v;
	return 0;
}

int dtc_parse_obd(const char *s, uint16_t *ret_dtc)
{
	uint16_t v;

	if (!s || !ret_dtc || strlen(s) != 5 || parse_code(s, &v) < 0)
		return -EINVAL;
	*ret_dtc = v;
	return 0;
}

int dtc_parse(const char *s, uint32_t *ret_dtc)
{
	uint16_t code;
	size_t n;
	const char *f;
	int hi, lo;

	if (!s || !ret_dtc)
		return -EINVAL;
	n = strlen(s);
	if (n < 5 || parse_code(s, &code) < 0)
		return -EINVAL;
	if (n == 5) {
		*ret_dtc = (uint32_t)code << 8;
		return 0;
	}
	if (n == 7)
		f = s + 5;
	else if (n == 8 && (s[5] == '-' || s[5] == ':'))
		f = s + 6;
	else
		return -EINVAL;
	hi = hex_digit(f[0]);
	lo = hex_digit(f[1]);
	if (hi < 0 || lo < 0)
		return -EINVAL;
	*ret_dtc = (uint32_t)code << 8 | (uint32_t)(hi << 4 | lo);
	return 0;
}

int dtc_pattern_compile(const char *s, struct dtc_pattern *ret)
{
	/* Bit position and width of each text position: letter, digit 1 (2 bits), digits
	 * 2-4, then the two FTB nibbles. */
	static const struct {
		uint8_t shift, width;
	} pos[7] = {{22, 2}, {20, 2}, {16, 4}, {12, 4}, {8, 4}, {4, 4}, {0, 4}};
	struct dtc_pattern p = {0, 0};
	size_t n, i = 0, k = 0;

	if (!s || !ret)
		return -EINVAL;
	n = strlen(s);
	if (n == 0 || n > 8)
		return -EINVAL;
	for (k = 0; k < 7 && i < n; k++, i++) {
		char c = s[i];
		uint32_t m, v;
		int x;

		if (k == 5) {
			/* the FTB part: "-" or ":" before it is optional */
			if (c == '-' || c == ':') {
				if (++i >= n)
					return -EINVAL;
				c = s[i];
			}
		}
		if (c == '*') {
			if (i != n - 1)
				return -EINVAL;
			*ret = p;
			return 0;
		}
		m = ((1u << pos[k].width) - 1) << pos[k].shift;
		if (c == '?')
			continue;
		x = k == 0 ? letter_value(c) : hex_digit(c);
		if (x < 0 || (unsigned)x >= (1u << pos[k].width))
			return -EINVAL;
		v = (uint32_t)x << pos[k].shift;
		p.value |= v;
		p.mask |= m;
	}
	if (i != n)
		return -EINVAL;
	/* Only the full 5-character code (FTB free) or code + complete FTB are valid. */
	if (k != 5 && k != 7)
		return -EINVAL;
	*ret = p;
	return 0;
}

bool dtc_pattern_match(const struct dtc_pattern *p, uint32_t dtc)
{
	return p && ((dtc & 0xffffffu) & p->mask) == p->value;
}

/*
 * Failure type bytes. Sources (the authoritative SAE J2012-DA is paid and was not
 * consulted directly):
 *  - ISO 14229-1:2013 Annex D.2 refers the FTB to SAE J2012-DA (DTCFormatIdentifier 0x00
 *    / 0x04) and ISO 15031-6:2010 Annex (failure type categories 0x0-0x9 as high nibble).
 *  - The public Land Rover/JLR "DTC subcodes" list reproduced in
 *    github.com/jakka351/GenericDiagnosticTool lib/Protocol/DTC/LandRoverDTCSubcodes.md,
 *    which follows J2012-DA (2009+) wording; every entry below matches it.
 *  - bodydiag's trunk-domain notes (0x11 short to ground, 0x12 short to battery, 0x13
 *    open, 0x1F intermittent, 0x71 actuator stuck, 0x92 performance).
 * Uncertain: 0x9A ("component or system operating conditions") appears in the JLR list
 * only (newer J2012-DA edition); 0xF0-0xFF are listed as "reserved" there but are treated
 * as manufacturer specific by several OEMs and by ISO 14229-1 tools: we name the range
 * "manufacturer specific" and give no sub-type names for it.
 */
static const char *const ftb_names[0xa0] = {
	[0x00] = "no sub type information",
	[0x01] = "general electrical failure",
	[0x02] = "general signal failure",
	[0x03] = "FM (frequency modulated) / PWM (pulse width modulated) failure",
	[0x04] = "system internal failure",
	[0x05] = "system programming failure",
	[0x06] = "algorithm based failure",
	[0x07] = "mechanical failure",
	[0x08] = "bus signal / message failure",
	[0x09] = "component failure",
	[0x11] = "circuit short to ground",
	[0x12] = "circuit short to battery",
	[0x13] = "circuit open",
	[0x14] = "circuit short to ground or open",
	[0x15] = "circuit short to battery or open",
	[0x16] = "circuit voltage below threshold",
	[0x17] = "circuit voltage above threshold",
	[0x18] = "circuit current below threshold",
	[0x19] = "circuit current above threshold",
	[0x1a] = "circuit resistance below threshold",
	[0x1b] = "circuit resistance above threshold",
	[0x1c] = "circuit voltage out of range",
	[0x1d] = "circuit current out of range",
	[0x1e] = "circuit resistance out of range",
	[0x1f] = "circuit intermittent",
	[0x21] = "signal amplitude < minimum",
	[0x22] = "signal amplitude > maximum",
	[0x23] = "signal stuck low",
	[0x24] = "signal stuck high",
	[0x25] = "signal shape / waveform failure",
	[0x26] = "signal rate of change below threshold",
	[0x27] = "signal rate of change above threshold",
	[0x28] = "signal bias level out of range / zero adjustment failure",
	[0x29] = "signal invalid",
	[0x2a] = "signal stuck in range",
	[0x2b] = "signal cross coupled",
	[0x2f] = "signal erratic",
	[0x31] = "no signal",
	[0x32] = "signal low time < minimum",
	[0x33] = "signal low time > maximum",
	[0x34] = "signal high time < minimum",
	[0x35] = "signal high time > maximum",
	[0x36] = "signal frequency too low",
	[0x37] = "signal frequency too high",
	[0x38] = "signal frequency incorrect",
	[0x39] = "incorrect, has too few pulses",
	[0x3a] = "incorrect, has too many pulses",
	[0x41] = "general checksum failure",
	[0x42] = "general memory failure",
	[0x43] = "special memory failure",
	[0x44] = "data memory failure",
	[0x45] = "program memory failure",
	[0x46] = "calibration / parameter memory failure",
	[0x47] = "watchdog / safety µC failure",
	[0x48] = "supervision software failure",
	[0x49] = "internal electronic failure",
	[0x4a] = "incorrect component installed",
	[0x4b] = "over temperature",
	[0x51] = "not programmed",
	[0x52] = "not activated",
	[0x53] = "deactivated",
	[0x54] = "missing calibration",
	[0x55] = "not configured",
	[0x56] = "invalid / incompatible configuration",
	[0x57] = "invalid / incompatible software component",
	[0x61] = "signal calculation failure",
	[0x62] = "signal compare failure",
	[0x63] = "circuit / component protection time-out",
	[0x64] = "signal plausibility failure",
	[0x65] = "signal has too few transitions / events",
	[0x66] = "signal has too many transitions / events",
	[0x67] = "signal incorrect after event",
	[0x68] = "event information",
	[0x71] = "actuator stuck",
	[0x72] = "actuator stuck open",
	[0x73] = "actuator stuck closed",
	[0x74] = "actuator slipping",
	[0x75] = "emergency position not reachable",
	[0x76] = "wrong mounting position",
	[0x77] = "commanded position not reachable",
	[0x78] = "alignment or adjustment incorrect",
	[0x79] = "mechanical linkage failure",
	[0x7a] = "fluid leak or seal failure",
	[0x7b] = "low fluid level",
	[0x81] = "invalid serial data received",
	[0x82] = "alive / sequence counter incorrect / not updated",
	[0x83] = "value of signal protection calculation incorrect",
	[0x84] = "signal below allowable range",
	[0x85] = "signal above allowable range",
	[0x86] = "signal invalid",
	[0x87] = "missing message",
	[0x88] = "bus off",
	[0x8f] = "erratic",
	[0x91] = "parametric",
	[0x92] = "performance or incorrect operation",
	[0x93] = "no operation",
	[0x94] = "unexpected operation",
	[0x95] = "incorrect assembly",
	[0x96] = "component internal failure",
	[0x97] = "component or system operation obstructed or blocked",
	[0x98] = "component or system over temperature",
	[0x9a] = "component or system operating conditions",
};

static const char *const category_names[DTC_FTB_CATEGORY_MAX] = {
	[DTC_FTB_GENERAL] = "general failure information",
	[DTC_FTB_ELECTRICAL] = "general electrical failure",
	[DTC_FTB_SIGNAL] = "general signal failure",
	[DTC_FTB_FM_PWM] = "FM/PWM failure",
	[DTC_FTB_INTERNAL] = "system internal failure",
	[DTC_FTB_PROGRAMMING] = "system programming failure",
	[DTC_FTB_ALGORITHM] = "algorithm based failure",
	[DTC_FTB_MECHANICAL] = "mechanical failure",
	[DTC_FTB_BUS] = "bus signal / message failure",
	[DTC_FTB_COMPONENT] = "component failure",
	[DTC_FTB_RESERVED] = "ISO/SAE reserved",
	[DTC_FTB_MANUFACTURER] = "manufacturer specific",
};

enum dtc_ftb_category dtc_ftb_category(uint8_t ftb)
{
	if (ftb >= 0xf0)
		return DTC_FTB_MANUFACTURER;
	if (ftb >= 0xa0)
		return DTC_FTB_RESERVED;
	return (enum dtc_ftb_category)(ftb >> 4);
}

const char *dtc_ftb_category_name(enum dtc_ftb_category c)
{
	if ((unsigned)c >= DTC_FTB_CATEGORY_MAX)
		return "?";
	return category_names[c];
}

const char *dtc_ftb_name(uint8_t ftb)
{
	if (ftb >= 0xa0)
		return NULL;
	return ftb_names[ftb];
}

int dtc_describe(uint32_t dtc, uint8_t status, char *buf, size_t cap)
{
	char text[DTC_TEXT_MAX], st[160];
	const char *ftb;
	int n;

	if (!buf || cap == 0)
		return -EINVAL;
	dtc_format(dtc, text, sizeof(text));
	dtc_status_format(status, st, sizeof(st));
	ftb = dtc_ftb_name((uint8_t)dtc);
	if (!ftb)
		ftb = dtc_ftb_category_name(dtc_ftb_category((uint8_t)dtc));
	n = snprintf(buf, cap, "%s %s, status 0x%02X %s", text, ftb, status, st);
	return n < 0 || (size_t)n >= cap ? -ENOBUFS : 0;
}
