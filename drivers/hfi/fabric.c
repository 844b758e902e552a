// SPDX-License-Identifier: GPL-2.0
/*
 * The emulated fabric: a switch that knows every unit by LID, and the SDMA
 * engines that carry packets across it.
 *
 * Each engine is an ordered workqueue. A flow (source context, destination
 * LID and context) always maps to the same engine, so its requests are
 * carried, and complete, in submission order; different flows spread over
 * the engines and proceed in parallel.
 */
#include <linux/hash.h>
#include <linux/slab.h>
#include "hfi.h"

#define HFI_MAX_LID 64

DEFINE_SPINLOCK(hfi_fabric_lock);
static struct hfi_unit *hfi_lids[HFI_MAX_LID];

static struct workqueue_struct **hfi_engines;

int hfi_fabric_add(struct hfi_unit *unit)
{
	u16 lid = unit->sdev.lid;

	if (!lid || lid >= HFI_MAX_LID)
		return -EINVAL;
	spin_lock(&hfi_fabric_lock);
	if (hfi_lids[lid]) {
		spin_unlock(&hfi_fabric_lock);
		return -EEXIST;
	}
	hfi_lids[lid] = unit;
	spin_unlock(&hfi_fabric_lock);
	return 0;
}

void hfi_fabric_remove(struct hfi_unit *unit)
{
	spin_lock(&hfi_fabric_lock);
	hfi_lids[unit->sdev.lid] = NULL;
	spin_unlock(&hfi_fabric_lock);
}

/*
 * The live context at (lid, ctxt), or NULL, held for delivery until
 * hfi_fabric_put(): its release waits for that (see hfi.h).
 */
struct hfi_ctxt *hfi_fabric_get(u16 lid, u16 ctxt)
{
	struct hfi_ctxt *c = NULL;
	struct hfi_unit *unit;

	spin_lock(&hfi_fabric_lock);
	unit = lid < HFI_MAX_LID ? hfi_lids[lid] : NULL;
	if (unit && ctxt < hfi_params.num_contexts)
		c = unit->ctxts[ctxt];
	if (!hfi_ctxt_live(c))		/* reserved by a create in progress */
		c = NULL;
	if (c)
		atomic_inc(&c->rx_busy);
	spin_unlock(&hfi_fabric_lock);
	return c;
}

void hfi_fabric_put(struct hfi_ctxt *c)
{
	spin_lock(&c->rx_lock);
	if (atomic_dec_and_test(&c->rx_busy))
		hfi_drain_wake(c);
	/* Release may free c as soon as this unlock lets it look. */
	spin_unlock(&c->rx_lock);
}

int hfi_engines_init(void)
{
	unsigned int i;

	if (hfi_parts_init())
		return -ENOMEM;
	hfi_engines = kcalloc(hfi_params.sdma_engines, sizeof(*hfi_engines),
			      GFP_KERNEL);
	if (!hfi_engines) {
		hfi_parts_exit();
		return -ENOMEM;
	}
	for (i = 0; i < hfi_params.sdma_engines; i++) {
		hfi_engines[i] = alloc_ordered_workqueue("drvops_hfi_sdma%u", 0,
							 i);
		if (!hfi_engines[i]) {
			hfi_engines_exit();
			return -ENOMEM;
		}
	}
	return 0;
}

void hfi_engines_exit(void)
{
	unsigned int i;

	if (hfi_engines) {
		for (i = 0; i < hfi_params.sdma_engines; i++)
			if (hfi_engines[i])
				destroy_workqueue(hfi_engines[i]);
		kfree(hfi_engines);
		hfi_engines = NULL;
	}
	hfi_parts_exit();
}

struct workqueue_struct *hfi_engine_for(u16 slid, u16 sctxt, u16 dlid,
					u16 dctxt)
{
	u64 flow = ((u64)slid << 48) | ((u64)sctxt << 32) |
		   ((u64)dlid << 16) | dctxt;

	return hfi_engines[hash_64(flow, 16) % hfi_params.sdma_engines];
}

int hfi_stats_init(struct hfi_stats *s)
{
	s->pcpu = alloc_percpu_gfp(struct hfi_counts, GFP_KERNEL_ACCOUNT);
	return s->pcpu ? 0 : -ENOMEM;
}

void hfi_stats_free(struct hfi_stats *s)
{
	free_percpu(s->pcpu);
	s->pcpu = NULL;
}

