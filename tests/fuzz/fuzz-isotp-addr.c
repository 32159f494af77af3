/* SPDX-License-Identifier: MIT */
/*
 * The addressing texts: the compact form (command line), a profile's addressing keys and
 * discovery ranges. Input: [selector byte][text]. What parses must format back to text
 * that parses to the same address, and pass isotp_addr_check().
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bodydiag/discover.h"
#include "bodydiag/isotp_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {"addressing", "target", "source", "ext_address", "bs", "stmin"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct isotp_addr a, b;
	struct isotp_addr_error e;
	struct isotp_addr_spec s;
	struct discover_range r;
	char buf[200], err[160];
	const char *key;
	const char *t;
	size_t n;

	if (size < 1)
		return 0;
	t = (const char *)data + 1;
	n = size - 1;
	switch (data[0] % 3) {
	case 0:
		if (isotp_addr_parse(t, n, &a, &e) == 0) {
			if (isotp_addr_check(&a, NULL, 0) < 0)
				__builtin_trap();
			isotp_addr_format(&a, buf, sizeof(buf));
			if (isotp_addr_parse(buf, strlen(buf), &b, &e) < 0 ||
			    !isotp_addr_equal(&a, &b))
				__builtin_trap();
			isotp_addr_reverse(&a, &b);
		} else if (e.column == 0 || e.column > n + 1) {
			__builtin_trap();
		}
		break;
	case 1:
		/* key values separated by '\n', keys taken in turn; ids from the first bytes */
		isotp_addr_spec_init(&s);
		for (size_t i = 0, k = 0; i <= n; k++) {
			size_t j = i;
			while (j < n && t[j] != '\n')
				j++;
			(void)isotp_addr_spec_set(&s, keys[(data[0] / 3 + k) % 6], t + i, j - i,
						  err, sizeof(err));
			i = j + 1;
		}
		if (n >= 2 && (t[0] & 1))
			s.request = (uint8_t)t[0] << 3 | (uint8_t)t[1];
		if (n >= 3 && (t[0] & 2))
			s.response = (uint8_t)t[2] << 3;
		if (isotp_addr_spec_build(&s, &a, &key, err, sizeof(err)) == 0 &&
		    isotp_addr_check(&a, NULL, 0) < 0)
			__builtin_trap();
		break;
	case 2:
		if (discover_range_parse(t, n, &r, err, sizeof(err)) == 0) {
			struct discover_range r2;
			discover_range_format(&r, buf, sizeof(buf));
			if (discover_range_parse(buf, strlen(buf), &r2, err, sizeof(err)) < 0 ||
			    r2.kind != r.kind || r2.first != r.first || r2.last != r.last)
				__builtin_trap();
		}
		break;
	}
	return 0;
}
