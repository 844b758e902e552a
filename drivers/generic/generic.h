/* SPDX-License-Identifier: GPL-2.0 */
/* drvops_generic: a software RDMA device, the template for drvops drivers. */
#ifndef DRVOPS_GENERIC_H
#define DRVOPS_GENERIC_H

#include "swverbs.h"

struct generic_dev {
	struct swverbs_dev sdev;	/* must be first: ib_alloc_device */
	unsigned int unit;
	bool legacy;			/* stands in for an old driver build */
};

/* copy.c: the "copy.generic" interface */
extern const struct drvops_interface generic_copy_interface;
extern const struct drvops_interface generic_copy_legacy_interface;

#endif /* DRVOPS_GENERIC_H */
