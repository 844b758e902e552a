// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Numbers from the environment (PSM2_* variables). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "shim.h"

bool shim_env_number(const char *name, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return false;	/* ignore what we cannot read */
	*out = v;
	return true;
}

void shim_env_u64(const char *name, uint64_t *out, uint64_t scale)
{
	uint64_t v;

	if (shim_env_number(name, 1, UINT64_MAX / scale, &v))
		*out = v * scale;
}
