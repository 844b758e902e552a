/* SPDX-License-Identifier: GPL-2.0 */
/*
 * drvops_swverbs: the verbs every drvops software device needs (ucontext
 * with disassociate, PD, CQ, user MR with its pinned pages reachable from
 * the kernel), so that a driver only writes its driver-ops interfaces.
 *
 * A driver embeds struct swverbs_dev first in its device struct, calls
 * swverbs_init_device() before ib_register_device(), then sets its own
 * ops (owner at least) with ib_set_device_ops().
 */
#ifndef DRVOPS_SWVERBS_H
#define DRVOPS_SWVERBS_H

#include <rdma/ib_verbs.h>
#include <rdma/ib_umem.h>
#include "drvops.h"

struct swverbs_dev {
	struct ib_device ibdev;		/* must be first: ib_alloc_device */
	struct drvops_device drvops;
	u16 lid;
	atomic_t next_key;
};

/* A user MR: pages[] reach its memory, first_offset into pages[0]. */
struct swverbs_mr {
	struct ib_mr ibmr;
	struct ib_umem *umem;
	struct page **pages;
	unsigned long npages;
	unsigned int first_offset;
	u64 length;
	int access;
};

static inline struct swverbs_dev *to_swverbs_dev(struct ib_device *ibdev)
{
	return container_of(ibdev, struct swverbs_dev, ibdev);
}

static inline struct swverbs_mr *to_swverbs_mr(struct ib_mr *ibmr)
{
	return container_of(ibmr, struct swverbs_mr, ibmr);
}

/*
 * Set up a device: node GUID, one port with this LID, the software verbs,
 * the drvops uverbs methods and sysfs list. Interfaces go in
 * sdev->drvops before drvops_register_device().
 */
void swverbs_init_device(struct swverbs_dev *sdev, u64 node_guid, u16 lid,
			 const char *node_desc);

/* Copy between buf and [off, off + n) of the bytes pages[] hold. */
void swverbs_pages_io(struct page **pages, unsigned int first_offset, u64 off,
		      void *buf, size_t n, bool to_pages);

/* Copy between a kernel buffer and [off, off + n) of the MR. */
void swverbs_mr_io(struct swverbs_mr *mr, u64 off, void *buf, size_t n,
		   bool to_mr);

#endif /* DRVOPS_SWVERBS_H */
