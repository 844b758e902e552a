// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The broker's uverbs methods: GET_FD and QUERY. */
#include <errno.h>
#include <string.h>

#include "drvops.h"

/* Packs names back to back ("a\0b\0"); returns the length or -errno. */
static int pack_names(const char *const *names, unsigned n_names, char *buf,
		      size_t size)
{
	size_t used = 0, len;
	unsigned i;

	for (i = 0; i < n_names; i++) {
		if (!names[i])
			return -EINVAL;
		len = strlen(names[i]) + 1;
		if (len > size - used)
			return -E2BIG;
		memcpy(buf + used, names[i], len);
		used += len;
	}
	return used;
}

int drvops_get_fd(int uverbs_fd, const char *const *names, unsigned n_names,
		  uint32_t min_version, uint32_t max_version, uint32_t flags,
		  unsigned *name_index, uint32_t *version)
{
	/*
	 * Room for one name more than the kernel accepts, so that tests can
	 * send too many names and watch the kernel refuse them.
	 */
	char packed[(DRVOPS_MAX_NAMES + 1) * DRVOPS_NAME_MAX];
	struct drvops_version_range range = {
		.min_version = min_version,
		.max_version = max_version,
	};
	uint32_t chosen_index = 0, chosen_version = 0;
	struct drvops_req req;
	int32_t fd = -1;
	int len, ret;

	if (!names && n_names)
		return -EINVAL;
	len = pack_names(names, n_names, packed, sizeof(packed));
	if (len < 0)
		return len;

	drvops_req_init(&req, DRVOPS_OBJECT_BROKER, DRVOPS_METHOD_GET_FD);
	drvops_req_fd(&req, DRVOPS_ATTR_GET_FD_UVERBS_FD, uverbs_fd);
	drvops_req_in(&req, DRVOPS_ATTR_GET_FD_NAMES, packed, len);
	drvops_req_in(&req, DRVOPS_ATTR_GET_FD_VERSIONS, &range, sizeof(range));
	/* Only when set: a kernel without FLAGS then still serves us. */
	if (flags)
		drvops_req_in_u32(&req, DRVOPS_ATTR_GET_FD_FLAGS, flags);
	/* PTR_OUT __s32 (not an FD uobject): the kernel copies the number. */
	drvops_req_out(&req, DRVOPS_ATTR_GET_FD_FD, &fd, sizeof(fd));
	drvops_req_out(&req, DRVOPS_ATTR_GET_FD_NAME_INDEX, &chosen_index,
		       sizeof(chosen_index));
	drvops_req_out(&req, DRVOPS_ATTR_GET_FD_VERSION, &chosen_version,
		       sizeof(chosen_version));

	ret = drvops_req_exec(uverbs_fd, &req);
	if (ret)
		return ret;
	if (name_index)
		*name_index = chosen_index;
	if (version)
		*version = chosen_version;
	return fd;
}

int drvops_query(int uverbs_fd, struct drvops_interface_entry *entries,
		 unsigned max, unsigned *total)
{
	const size_t max_fit = UINT16_MAX / sizeof(*entries);
	uint32_t num_entries = 0;
	struct drvops_req req;
	int ret;

	if (!entries && max)
		return -EINVAL;
	/* attr.len is 16 bits: ask for what fits, the count says the rest. */
	if (max > max_fit)
		max = max_fit;

	drvops_req_init(&req, DRVOPS_OBJECT_BROKER, DRVOPS_METHOD_QUERY);
	if (max)
		drvops_req_out(&req, DRVOPS_ATTR_QUERY_ENTRIES, entries,
			       max * sizeof(*entries));
	drvops_req_out(&req, DRVOPS_ATTR_QUERY_NUM_ENTRIES, &num_entries,
		       sizeof(num_entries));

	ret = drvops_req_exec(uverbs_fd, &req);
	if (ret)
		return ret;
	if (total)
		*total = num_entries;
	return num_entries < max ? (int)num_entries : (int)max;
}
