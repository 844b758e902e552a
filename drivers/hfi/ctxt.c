// SPDX-License-Identifier: GPL-2.0
/*
 * Receive contexts: assignment, the four shared regions, release.
 *
 * Every region is vmalloc memory handed to userspace page by page by
 * the broker's fault path (never mapped at mmap time), so the broker can
 * take every page away at teardown.
 */
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include "hfi.h"

#define HFI_REGION_SHIFT 24		/* each region at n * 16 MiB */

u64 hfi_region_offset(enum drvops_hfi_mmap_region r)
{
	return (u64)r << HFI_REGION_SHIFT;
}

size_t hfi_region_length(enum drvops_hfi_mmap_region r)
{
	switch (r) {
	case DRVOPS_HFI_MMAP_RHQ:
		return PAGE_ALIGN(hfi_params.rhq_entries *
				  sizeof(struct drvops_hfi_rhq_entry));
	case DRVOPS_HFI_MMAP_EAGER:
		return PAGE_ALIGN((size_t)hfi_params.eager_count *
				  hfi_params.eager_size);
	case DRVOPS_HFI_MMAP_COMP:
		return PAGE_ALIGN(hfi_params.sdma_slots *
				  sizeof(struct drvops_hfi_comp));
	case DRVOPS_HFI_MMAP_USER:
		return PAGE_SIZE;
	default:
		return 0;
	}
}

/*
 * Largest eager message: half of what the receive rings hold, so that one
 * message never needs a completely empty receiver.
 */
u64 hfi_eager_max(void)
{
	return (u64)min(hfi_params.rhq_entries, hfi_params.eager_count) / 2 *
	       hfi_params.eager_size;
}

/*
 * Zeroed, charged to the caller's memory cgroup, mapped page by page. A
 * failure, or a cgroup at its memory.max, is ASSIGN_CTXT's ENOMEM, not a
 * kernel warning or an OOM kill.
 */
static void *hfi_region_alloc(enum drvops_hfi_mmap_region r)
{
	return __vmalloc(hfi_region_length(r),
			 GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN |
			 __GFP_RETRY_MAYFAIL);
}

/* The eager ring's pages, looked up once (sdma.c writes through them). */
static int hfi_eager_pages_init(struct hfi_ctxt *c)
{
	size_t i, n = hfi_region_length(DRVOPS_HFI_MMAP_EAGER) >> PAGE_SHIFT;

	c->eager_pages = kvmalloc_array(n, sizeof(*c->eager_pages),
					GFP_KERNEL_ACCOUNT);
	if (!c->eager_pages)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		c->eager_pages[i] = vmalloc_to_page(c->eager + i * PAGE_SIZE);
	return 0;
}

static void hfi_ctxt_free(struct hfi_ctxt *c)
{
	hfi_stats_free(&c->stats);
	vfree(c->rhq);
	kvfree(c->eager_pages);
	vfree(c->eager);
	vfree(c->comp);
	vfree(c->user);
	if (c->mm)
		mmdrop(c->mm);
	if (c->owner_ns)
		put_user_ns(c->owner_ns);
	kfree(c);
}

/* Contexts nobody holds or is assigning right now (UNIT_INFO). */
unsigned int hfi_unit_free_contexts(struct hfi_unit *unit)
{
	unsigned int i, n = 0;

	spin_lock(&hfi_fabric_lock);
	for (i = 0; i < hfi_params.num_contexts; i++)
		n += !unit->ctxts[i];
	spin_unlock(&hfi_fabric_lock);
	return n;
}

static struct hfi_ctxt *hfi_ctxt_alloc(struct hfi_file *hf, const u8 *job_key)
{
	struct hfi_ctxt *c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);

	if (!c)
		return NULL;
	c->rhq = hfi_region_alloc(DRVOPS_HFI_MMAP_RHQ);
	c->eager = hfi_region_alloc(DRVOPS_HFI_MMAP_EAGER);
	c->comp = hfi_region_alloc(DRVOPS_HFI_MMAP_COMP);
	c->user = hfi_region_alloc(DRVOPS_HFI_MMAP_USER);
	if (!c->rhq || !c->eager || !c->comp || !c->user ||
	    hfi_eager_pages_init(c) || hfi_stats_init(&c->stats)) {
		hfi_ctxt_free(c);
		return NULL;
	}
	c->unit = to_hfi_unit(drvops_file_ibdev(hf->file));
	c->file = hf->file;
	c->mm = current->mm;
	mmgrab(c->mm);
	c->owner = current_euid();
	c->owner_ns = get_user_ns(current_user_ns());
	c->legacy_abi = hf->legacy_abi;
	memcpy(c->job_key, job_key, DRVOPS_HFI_JOB_KEY_LEN);
	spin_lock_init(&c->rx_lock);
	init_waitqueue_head(&c->drain);
	xa_init_flags(&c->tids, XA_FLAGS_ALLOC1);
	return c;
}

/*
 * Contexts are created in two steps, as iommufd creates objects: create
 * reserves a slot of the fd's unit that the fabric cannot see yet, so the
 * caller can still fail (its reply copy) and abort without anybody having
 * used the context; finalize publishes it on the fabric and on the fd.
 * The caller holds hf->lock across both.
 */
#define HFI_CTXT_RESERVED ((struct hfi_ctxt *)1)

struct hfi_ctxt *hfi_ctxt_create(struct hfi_file *hf, const u8 *job_key)
{
	struct hfi_ctxt *c;
	struct hfi_unit *unit;
	unsigned int i;
	int ret = -ENOSPC;

	lockdep_assert_held(&hf->lock);
	c = hfi_ctxt_alloc(hf, job_key);
	if (!c)
		return ERR_PTR(-ENOMEM);
	unit = c->unit;
	spin_lock(&hfi_fabric_lock);
	for (i = 0; i < hfi_params.num_contexts; i++) {
		if (!unit->ctxts[i]) {
			c->ctxt = i;
			unit->ctxts[i] = HFI_CTXT_RESERVED;
			ret = 0;
			break;
		}
	}
	spin_unlock(&hfi_fabric_lock);
	if (ret) {
		hfi_ctxt_free(c);
		return ERR_PTR(ret);
	}
	return c;
}

void hfi_ctxt_finalize(struct hfi_file *hf, struct hfi_ctxt *c)
{
	lockdep_assert_held(&hf->lock);
	spin_lock(&hfi_fabric_lock);
	c->unit->ctxts[c->ctxt] = c;
	spin_unlock(&hfi_fabric_lock);
	/* Lockless readers (hfi_file_ctxt) see it only fully built. */
	smp_store_release(&hf->ctxt, c);
}

void hfi_ctxt_abort(struct hfi_ctxt *c)
{
	spin_lock(&hfi_fabric_lock);
	c->unit->ctxts[c->ctxt] = NULL;
	spin_unlock(&hfi_fabric_lock);
	hfi_ctxt_free(c);
}

/*
 * What isolates jobs on the fabric: a context exchanges packets only with
 * contexts of the same owner (effective uid at ASSIGN_CTXT, in the same
 * user namespace) and the same job key. The key, chosen by userspace,
 * separates the jobs of one user; the owner separates users, so knowing
 * another user's key gives no way to inject packets or write into that
 * job's tid buffers (hfi1 likewise derives job keys from the uid).
 */
bool hfi_same_job(const struct hfi_ctxt *a, const struct hfi_ctxt *b)
{
	return uid_eq(a->owner, b->owner) && a->owner_ns == b->owner_ns &&
	       !memcmp(a->job_key, b->job_key, sizeof(a->job_key));
}

/* Checked under rx_lock, which the last worker drops last (see hfi.h). */
static bool hfi_ctxt_idle(struct hfi_ctxt *c)
{
	bool idle;

	spin_lock(&c->rx_lock);
	idle = !atomic_read(&c->sends_in_flight) && !atomic_read(&c->rx_busy);
	spin_unlock(&c->rx_lock);
	return idle;
}

/*
 * Called from the fd's release, exactly once: unpublish, wait for this
 * context's own requests (they complete with EIO, see sdma.c) and for
 * deliveries into it, then free its buffers. Other contexts' traffic on
 * the same engines is never waited for.
 */
void hfi_ctxt_release(struct hfi_ctxt *c)
{
	spin_lock(&hfi_fabric_lock);
	c->unit->ctxts[c->ctxt] = NULL;
	spin_unlock(&hfi_fabric_lock);

	spin_lock(&c->rx_lock);
	c->dead = true;
	spin_unlock(&c->rx_lock);

	/* Our own requests end with EIO; deliveries into us finish. */
	wait_event(c->drain, hfi_ctxt_idle(c));
	hfi_tid_free_all(c, NULL);
	xa_destroy(&c->tids);
	hfi_ctxt_free(c);
}
