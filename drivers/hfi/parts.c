// SPDX-License-Identifier: GPL-2.0
/*
 * One large engine copy into a tid spread over the SDMA engines, as a set
 * of DMA engines would share it. The flow's own engine (an ordered
 * workqueue) cuts a copy of at least twice engine_split_min bytes into up
 * to sdma_engines parts, hands all but the first to the copy helpers,
 * copies the first itself and waits for the others before anything is
 * posted: the next request of the flow starts only once this one is
 * whole, so requests of one flow still complete in submission order, as
 * the ABI promises. The helpers only copy and never wait on anything, so
 * an engine waiting for them cannot close a cycle; their work items live
 * on the engine's stack until it has flushed them.
 *
 * Inline copies (in the sender's writev) stay whole: measured under TCG,
 * splitting them gained nothing (the spare CPU is the receiver's), where
 * splitting an engine's copy made 4 MiB streams 1.2 to 1.6x faster.
 */
#include <linux/workqueue.h>
#include "hfi.h"

#define HFI_MAX_PARTS 8

struct hfi_part {
	struct work_struct work;
	hfi_copy_fn copy;
	void *arg;
	u64 off;
	u64 len;
};

static struct workqueue_struct *hfi_copy_helpers;

static void hfi_part_work(struct work_struct *work)
{
	struct hfi_part *p = container_of(work, struct hfi_part, work);

	p->copy(p->arg, p->off, p->len);
}

/* Parts for a copy of len bytes: 1 (not split) up to the engines. */
static unsigned int hfi_copy_parts(u64 len)
{
	unsigned long part = READ_ONCE(hfi_params.engine_split_min);

	if (!part || len < 2 * (u64)part)
		return 1;
	return min_t(u64, div64_u64(len, part),
		     min(hfi_params.sdma_engines, HFI_MAX_PARTS));
}

void hfi_copy_in_parts(hfi_copy_fn copy, void *arg, u64 len)
{
	/* The helpers' parts; the caller copies [0, step) itself. */
	struct hfi_part parts[HFI_MAX_PARTS - 1];
	unsigned int n = hfi_copy_parts(len), i, queued = 0;
	u64 step;

	if (n < 2) {
		copy(arg, 0, len);
		return;
	}
	step = round_up(div64_u64(len + n - 1, n), PAGE_SIZE);
	for (i = 1; i < n && i * step < len; i++, queued++) {
		struct hfi_part *p = &parts[queued];

		*p = (struct hfi_part){
			.copy = copy,
			.arg = arg,
			.off = i * step,
			.len = min(step, len - i * step),
		};
		INIT_WORK_ONSTACK(&p->work, hfi_part_work);
		queue_work(hfi_copy_helpers, &p->work);
	}
	copy(arg, 0, min(step, len));
	while (queued--) {
		flush_work(&parts[queued].work);
		destroy_work_on_stack(&parts[queued].work);
	}
}

int hfi_parts_init(void)
{
	hfi_copy_helpers = alloc_workqueue("drvops_hfi_copy", WQ_UNBOUND,
					   HFI_MAX_PARTS);
	return hfi_copy_helpers ? 0 : -ENOMEM;
}

/* After the engines: an engine worker may still be waiting for helpers. */
void hfi_parts_exit(void)
{
	if (hfi_copy_helpers)
		destroy_workqueue(hfi_copy_helpers);
	hfi_copy_helpers = NULL;
}
