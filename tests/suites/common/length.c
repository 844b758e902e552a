// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The extensibility test of iommufd's selftest (TEST_LENGTH), for the
 * driver-ops fd ioctls whose structs start with __u32 size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "testlib.h"

/* Fresh copy of the command plus one extra byte, then the ioctl. */
static int run_sized(int fd, unsigned long cmd, uint8_t *buf,
		     const void *cmd_struct, size_t cmd_size, uint32_t size,
		     uint8_t extra)
{
	memcpy(buf, cmd_struct, cmd_size);
	memcpy(buf, &size, sizeof(size));
	buf[cmd_size] = extra;
	return ioctl(fd, cmd, buf) ? errno : 0;
}

int tl_check_length(int fd, unsigned long cmd, const void *cmd_struct,
		    size_t cmd_size, size_t min_size,
		    struct tl_length_result *res)
{
	uint8_t *buf, *exact_out;

	memset(res, 0, sizeof(*res));
	if (cmd_size < sizeof(uint32_t) || min_size < sizeof(uint32_t) ||
	    min_size > cmd_size)
		return -EINVAL;
	/* 8-byte aligned: the structs hold __u64 fields. */
	buf = aligned_alloc(8, (cmd_size + 8) & ~(size_t)7);
	exact_out = malloc(cmd_size);
	if (!buf || !exact_out) {
		free(buf);
		free(exact_out);
		return -ENOMEM;
	}

	res->short_errno = run_sized(fd, cmd, buf, cmd_struct, cmd_size,
				     min_size - 1, 0xff);
	res->e2big_errno = run_sized(fd, cmd, buf, cmd_struct, cmd_size,
				     cmd_size + 1, 0xff);
	res->exact_errno = run_sized(fd, cmd, buf, cmd_struct, cmd_size,
				     cmd_size, 0);
	memcpy(exact_out, buf, cmd_size);
	res->extended_errno = run_sized(fd, cmd, buf, cmd_struct, cmd_size,
					cmd_size + 1, 0);
	/* The size field differs by design; compare what follows it. */
	res->same_output = memcmp(exact_out + sizeof(uint32_t),
				  buf + sizeof(uint32_t),
				  cmd_size - sizeof(uint32_t)) == 0;

	res->ok = res->short_errno == EINVAL && res->e2big_errno == E2BIG &&
		  res->exact_errno == res->extended_errno && res->same_output;
	free(buf);
	free(exact_out);
	return 0;
}

static const char *errno_name(int err)
{
	return err ? strerror(err) : "success";
}

void tl_print_length_result(const char *what,
			    const struct tl_length_result *res)
{
	fprintf(stderr,
		"\n  %s length test: short -> %s (want EINVAL), "
		"long+0xff -> %s (want E2BIG), exact -> %s, long+0 -> %s%s\n",
		what, errno_name(res->short_errno),
		errno_name(res->e2big_errno), errno_name(res->exact_errno),
		errno_name(res->extended_errno),
		res->same_output ? "" : ", outputs differ");
}
