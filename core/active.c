// SPDX-License-Identifier: GPL-2.0
/* The operations-in-flight counter of a driver-ops fd: see active.h. */
#include <linux/cpumask.h>
#include <linux/rcupdate.h>
#include "active.h"

int drvops_active_init(struct drvops_active *a, gfp_t gfp)
{
	a->count = alloc_percpu_gfp(unsigned long, gfp);
	if (!a->count)
		return -ENOMEM;
	a->killed = false;
	init_waitqueue_head(&a->drained);
	return 0;
}

void drvops_active_free(struct drvops_active *a)
{
	free_percpu(a->count);
	a->count = NULL;
}

static unsigned long drvops_active_sum(struct drvops_active *a)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr(a->count, cpu));
	return sum;
}

/* Call once: no enter succeeds once this returns. */
void drvops_active_kill(struct drvops_active *a)
{
	WRITE_ONCE(a->killed, true);
}

/*
 * After drvops_active_kill(): returns when no operation is in flight. The
 * sum is read only after a grace period: from then on no word goes up, so
 * a zero read word by word is a true zero.
 */
void drvops_active_wait_drained(struct drvops_active *a)
{
	synchronize_rcu();
	wait_event(a->drained, !drvops_active_sum(a));
}
