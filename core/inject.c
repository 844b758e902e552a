// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection for the race tests, on kernels with
 * CONFIG_FAULT_INJECTION_DEBUG_FS (the test bed's debug kernel).
 *
 * ib_drvops/delay_unbind_all is a standard fault_attr (probability,
 * interval, times, ...: Documentation/fault-injection) whose "fault" is a
 * sleep in drvops_unbind_all() right after it has taken a binding off the
 * file's list and before it drops the binding's target: the window in
 * which a concurrent UNBIND of that binding must wait for it (bind.c).
 * Off (probability 0) until a test turns it on.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fault-inject.h>
#include "drvops_priv.h"

#define DRVOPS_INJECT_DELAY_MS 200

static DECLARE_FAULT_ATTR(drvops_delay_unbind_all_attr);

void drvops_inject_init(struct dentry *dir)
{
	/* A forced "failure" here is expected: no stack dump in the log. */
	drvops_delay_unbind_all_attr.verbose = 0;
	fault_create_debugfs_attr("delay_unbind_all", dir,
				  &drvops_delay_unbind_all_attr);
}

void drvops_inject_unbind_all_delay(void)
{
	if (should_fail(&drvops_delay_unbind_all_attr, 1))
		msleep(DRVOPS_INJECT_DELAY_MS);
}
