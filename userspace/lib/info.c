// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* DRVOPS_IOCTL_GET_INFO: understood by every driver-ops fd. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "drvops.h"

int drvops_get_info(int drvops_fd, struct drvops_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	if (ioctl(drvops_fd, DRVOPS_IOCTL_GET_INFO, info) < 0)
		return -errno;
	return 0;
}
