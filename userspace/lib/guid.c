// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Node GUID text forms: sysfs writes "xxxx:xxxx:xxxx:xxxx". */
#include <errno.h>
#include <stdio.h>

#include "drvops.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Accepts the sysfs form (colons between groups of 4 digits) or up to 16
 * hex digits with an optional 0x prefix.
 */
int drvops_parse_guid(const char *s, uint64_t *guid)
{
	uint64_t value = 0;
	int digits = 0, group = 0, colons = 0, v;

	if (!s || !guid)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s; s++) {
		if (*s == ':') {
			if (group != 4)
				return -EINVAL;
			group = 0;
			colons++;
			continue;
		}
		v = hex_value(*s);
		if (v < 0 || ++digits > 16)
			return -EINVAL;
		value = value << 4 | (unsigned)v;
		group++;
	}
	if (!digits || (colons && (colons != 3 || group != 4)))
		return -EINVAL;
	*guid = value;
	return 0;
}

char *drvops_format_guid(uint64_t guid, char *buf)
{
	snprintf(buf, DRVOPS_GUID_STRLEN, "%04x:%04x:%04x:%04x",
		 (unsigned)(guid >> 48) & 0xffff, (unsigned)(guid >> 32) & 0xffff,
		 (unsigned)(guid >> 16) & 0xffff, (unsigned)guid & 0xffff);
	return buf;
}
