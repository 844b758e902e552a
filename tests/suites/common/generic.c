// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Shortcuts for the copy.generic ioctls and completions. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "testlib.h"

int tl_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

int tl_copy(int ops_fd, struct drvops_generic_buf src,
	    struct drvops_generic_buf dst, uint64_t length, uint64_t user_data)
{
	struct drvops_generic_copy copy = {
		.size = sizeof(copy),
		.src = src,
		.dst = dst,
		.length = length,
		.user_data = user_data,
	};

	return tl_ioctl(ops_fd, DRVOPS_GENERIC_IOCTL_COPY, &copy);
}

int tl_fill(int ops_fd, struct drvops_generic_buf dst, uint64_t length,
	    uint8_t pattern, uint64_t user_data)
{
	struct drvops_generic_fill fill = {
		.size = sizeof(fill),
		.dst = dst,
		.length = length,
		.user_data = user_data,
		.pattern = pattern,
	};

	return tl_ioctl(ops_fd, DRVOPS_GENERIC_IOCTL_FILL, &fill);
}

int tl_read_completion(int ops_fd, struct drvops_generic_completion *c)
{
	ssize_t n = read(ops_fd, c, sizeof(*c));

	if (n < 0)
		return -errno;
	return n == sizeof(*c) ? 0 : -EIO;
}

int tl_drain_completions(int ops_fd)
{
	struct drvops_generic_completion c;
	int flags, count = 0, ret;

	flags = fcntl(ops_fd, F_GETFL);
	if (flags < 0)
		return -errno;
	if (fcntl(ops_fd, F_SETFL, flags | O_NONBLOCK))
		return -errno;
	while ((ret = tl_read_completion(ops_fd, &c)) == 0)
		count++;
	if (fcntl(ops_fd, F_SETFL, flags))
		return -errno;
	return ret == -EAGAIN ? count : ret;
}
