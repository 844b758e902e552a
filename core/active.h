/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How many operations are running on a driver-ops fd, so that teardown can
 * stop new ones and wait for the rest (drvops_enter/drvops_exit).
 *
 * Each CPU counts in its own word, with preemption off around the check
 * and the add, and no function call: a preempt-disabled region is an RCU
 * read-side critical section (one RCU flavour since 4.20). Kill sets
 * "killed"; once drvops_active_wait_drained() has waited a grace period,
 * every enter either saw "killed" or is in the per-CPU sum, and every exit
 * that did not see it has its decrement there; the exits that do see it
 * wake the killer, which sleeps until the sum is zero. percpu_ref works
 * the same way but brackets each get and put with rcu_read_lock(), an
 * out-of-line call pair under PREEMPT_RCU (Debian's kernels): a tenth of a
 * NOOP ioctl under TCG, measured.
 *
 * The per-CPU words may wrap or go "negative" (an exit on another CPU than
 * its enter); their sum modulo 2^BITS_PER_LONG is the number in flight.
 */
#ifndef DRVOPS_ACTIVE_H
#define DRVOPS_ACTIVE_H

#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/wait.h>

struct drvops_active {
	unsigned long __percpu *count;
	bool killed;			/* set once, by drvops_active_kill */
	wait_queue_head_t drained;	/* the killer, waiting for zero */
};

int drvops_active_init(struct drvops_active *a, gfp_t gfp);
void drvops_active_free(struct drvops_active *a);
void drvops_active_kill(struct drvops_active *a);
void drvops_active_wait_drained(struct drvops_active *a);

static inline bool drvops_active_enter(struct drvops_active *a)
{
	bool live;

	preempt_disable();
	live = !READ_ONCE(a->killed);
	if (live)
		__this_cpu_inc(*a->count);
	preempt_enable();
	return live;
}

static inline void drvops_active_exit(struct drvops_active *a)
{
	preempt_disable();
	__this_cpu_dec(*a->count);
	if (unlikely(READ_ONCE(a->killed)))
		wake_up(&a->drained);
	preempt_enable();
}

#endif
