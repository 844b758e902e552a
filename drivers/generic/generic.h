/* SPDX-License-Identifier: GPL-2.0 */
/* drvops_generic: a software RDMA device, the template for drvops drivers. */
#ifndef DRVOPS_GENERIC_H
#define DRVOPS_GENERIC_H

#include <rdma/ib_verbs.h>
#include <rdma/ib_umem.h>
#include "drvops.h"

struct generic_dev {
	struct ib_device ibdev;		/* must be first: ib_alloc_device */
	struct drvops_device drvops;
	unsigned int unit;
	bool legacy;			/* stands in for an old driver build */
	atomic_t next_key;
};

struct generic_ucontext {
	struct ib_ucontext ibuc;
};

struct generic_pd {
	struct ib_pd ibpd;
};

struct generic_cq {
	struct ib_cq ibcq;
};

/* A user MR: its pages are what a bound MR gives the copy engine. */
struct generic_mr {
	struct ib_mr ibmr;
	struct ib_umem *umem;
	struct page **pages;
	unsigned long npages;
	unsigned int first_offset;	/* of the MR start in pages[0] */
	u64 length;
	int access;
};

static inline struct generic_dev *to_generic_dev(struct ib_device *ibdev)
{
	return container_of(ibdev, struct generic_dev, ibdev);
}

static inline struct generic_mr *to_generic_mr(struct ib_mr *ibmr)
{
	return container_of(ibmr, struct generic_mr, ibmr);
}

/* verbs.c */
extern const struct ib_device_ops generic_dev_ops;
extern const struct uapi_definition generic_uapi_defs[];

/* copy.c: the "copy.generic" interface */
extern const struct drvops_interface generic_copy_interface;
extern const struct drvops_interface generic_copy_legacy_interface;

#endif /* DRVOPS_GENERIC_H */
