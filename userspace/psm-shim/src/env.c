// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Numbers from the environment (PSM2_* variables). */
#include <errno.h>
#include <stdlib.h>

#include "shim.h"

void shim_env_u64(const char *name, uint64_t *out, uint64_t scale)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v == 0 || v > UINT64_MAX / scale)
		return;		/* ignore what we cannot read */
	*out = v * scale;
}
