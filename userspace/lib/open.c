// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Opening a uverbs device and creating its ucontext. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "drvops.h"

int drvops_open_device(const struct drvops_device_info *dev)
{
	int fd = open(dev->uverbs_path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/*
 * The ioctl form of GET_CONTEXT: unlike write(GET_CONTEXT) it creates no
 * async event fd, which we do not need. Both outs are optional in 6.1;
 * we ask for them so the kernel exercises its copy-out path.
 */
int drvops_get_context(int uverbs_fd)
{
	struct drvops_req req;
	uint32_t num_comp_vectors = 0;
	uint64_t core_support = 0;

	drvops_req_init(&req, UVERBS_OBJECT_DEVICE, UVERBS_METHOD_GET_CONTEXT);
	drvops_req_out(&req, UVERBS_ATTR_GET_CONTEXT_NUM_COMP_VECTORS,
		       &num_comp_vectors, sizeof(num_comp_vectors));
	drvops_req_out(&req, UVERBS_ATTR_GET_CONTEXT_CORE_SUPPORT,
		       &core_support, sizeof(core_support));
	return drvops_req_exec(uverbs_fd, &req);
}

static int open_with_context(const struct drvops_device_info *dev)
{
	int fd, ret;

	fd = drvops_open_device(dev);
	if (fd < 0)
		return fd;
	ret = drvops_get_context(fd);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int drvops_open_index(unsigned index)
{
	struct drvops_device_info dev;
	int ret = drvops_device_by_index(index, &dev);

	return ret ? ret : open_with_context(&dev);
}

int drvops_open_guid(uint64_t guid)
{
	struct drvops_device_info dev;
	int ret = drvops_device_by_guid(guid, &dev);

	return ret ? ret : open_with_context(&dev);
}
