// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection for the race tests, on kernels with
 * CONFIG_FAULT_INJECTION_DEBUG_FS (the test bed's debug kernel).
 *
 * Each site is a standard fault_attr in debugfs (ib_drvops/<name>/:
 * probability, interval, times, ...: Documentation/fault-injection) whose
 * "fault" is a sleep that holds a race window open:
 *   delay_unbind_all  in drvops_unbind_all(), after a binding is off the
 *                     file's list and before its target is dropped: a
 *                     concurrent UNBIND must wait for it (bind.c)
 *   delay_fault       in the fault handler, after the fd is released:
 *                     whatever it maps must be in place by then, since a
 *                     kill may zap the mapping during the sleep (file.c)
 * All are off (probability 0) until a test turns them on.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fault-inject.h>
#include "drvops_priv.h"

#define DRVOPS_INJECT_DELAY_MS 200

static struct fault_attr drvops_inject_attrs[DRVOPS_INJECT_NR];

static const char *const drvops_inject_names[DRVOPS_INJECT_NR] = {
	[DRVOPS_INJECT_UNBIND_ALL] = "delay_unbind_all",
	[DRVOPS_INJECT_FAULT] = "delay_fault",
};

void drvops_inject_init(struct dentry *dir)
{
	static DECLARE_FAULT_ATTR(initial);
	int i;

	for (i = 0; i < DRVOPS_INJECT_NR; i++) {
		drvops_inject_attrs[i] = initial;
		/* A forced "failure" here is expected: no stack dump. */
		drvops_inject_attrs[i].verbose = 0;
		fault_create_debugfs_attr(drvops_inject_names[i], dir,
					  &drvops_inject_attrs[i]);
	}
}

void drvops_inject_delay(enum drvops_inject_site site)
{
	if (should_fail(&drvops_inject_attrs[site], 1))
		msleep(DRVOPS_INJECT_DELAY_MS);
}
