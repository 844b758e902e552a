// SPDX-License-Identifier: GPL-2.0
/*
 * Pinned pages are counted like ib_umem counts an MR's: in the owner's
 * mm->pinned_vm against RLIMIT_MEMLOCK, so MRs and HFI pins share one
 * limit. Charged in the caller's context (its rlimit and CAP_IPC_LOCK);
 * uncharged from anywhere (an engine worker) without taking a lock of the
 * owner's mm.
 */
#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include "hfi.h"

int hfi_pin_charge(struct mm_struct *mm, unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	s64 pinned;

	pinned = atomic64_add_return(npages, &mm->pinned_vm);
	if (pinned > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(npages, &mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

void hfi_pin_uncharge(struct mm_struct *mm, unsigned long npages)
{
	atomic64_sub(npages, &mm->pinned_vm);
}
