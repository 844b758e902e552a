// SPDX-License-Identifier: GPL-2.0
/*
 * Expected receive: buffers a sender can target by (LID, context, tid) so
 * the payload lands in place, one copy. A tid is either user memory that we
 * pin (counted in RLIMIT_MEMLOCK) or a range of an MR bound to the fd,
 * whose pages the MR has pinned already: the uverbs object shared with
 * the driver through the broker.
 *
 * A NOTIFY tid (sdma.opa 4) is for registration caches: it watches its
 * range with an MMU interval notifier, and once the range may have been
 * unmapped or replaced the user page says it is stale, so the cache does
 * not hand it out again. Transfers into it still land in its pinned pages:
 * the notifier also fires when the pages stay (a transparent huge page
 * split or collapse around them), and a receive posted before must not
 * fail for that. Its id is reserved before the notifier goes in, so the
 * callback always knows which byte of the user page to set.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include "hfi.h"

#define HFI_MAX_TIDS DRVOPS_HFI_MAX_TIDS
/* Pins of a NOTIFY tid that an invalidation may overtake before EAGAIN. */
#define HFI_TID_PIN_TRIES 3

static_assert(HFI_MAX_TIDS < DRVOPS_HFI_TID_STALE_BYTES);
static_assert(offsetof(struct drvops_hfi_user_page, tid_stale) ==
	      DRVOPS_HFI_TID_STALE_OFFSET);
static_assert(sizeof(struct drvops_hfi_user_page) <= PAGE_SIZE);

/*
 * Only what changes which pages the range maps makes a tid stale: the
 * pages are pinned, so a change of protection leaves them in place.
 */
static bool hfi_tid_invalidate(struct mmu_interval_notifier *mni,
			       const struct mmu_notifier_range *range,
			       unsigned long cur_seq)
{
	struct hfi_tid *t = container_of(mni, struct hfi_tid, mni);
	struct hfi_ctxt *c = t->ctxt;

	switch (range->event) {
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
	case MMU_NOTIFY_SOFT_DIRTY:
		return true;
	default:
		break;
	}
	spin_lock(&c->rx_lock);
	mmu_interval_set_seq(mni, cur_seq);
	if (!t->erased)
		WRITE_ONCE(c->user->tid_stale[t->id], 1);
	spin_unlock(&c->rx_lock);
	return true;
}

static const struct mmu_interval_notifier_ops hfi_tid_mn_ops = {
	.invalidate = hfi_tid_invalidate,
};

static void hfi_tid_unpin(struct hfi_ctxt *c, struct hfi_tid *t)
{
	unpin_user_pages_dirty_lock(t->pages, t->npages, true);
	hfi_pin_uncharge(c->mm, t->npages);
	kvfree(t->pages);
}

/* Called once nobody can find the tid (its id erased or released). */
static void hfi_tid_destroy(struct hfi_ctxt *c, struct hfi_tid *t)
{
	/* Waits for a callback in progress: it may still look at t. */
	if (t->notify)
		mmu_interval_notifier_remove(&t->mni);
	if (t->binding)
		drvops_binding_put(t->binding);
	else
		hfi_tid_unpin(c, t);
	kfree(t);
}

/* Reserve an id: the entry stays NULL, so senders and TID_FREE miss it. */
static int hfi_tid_reserve(struct hfi_ctxt *c, struct hfi_tid *t)
{
	int ret;

	spin_lock(&c->rx_lock);
	ret = xa_alloc(&c->tids, &t->id, NULL, XA_LIMIT(1, HFI_MAX_TIDS),
		       GFP_ATOMIC | __GFP_ACCOUNT);
	spin_unlock(&c->rx_lock);
	return ret == -EBUSY ? -ENOSPC : ret;
}

/* Give back a reserved id nobody has seen. */
static void hfi_tid_release_id(struct hfi_ctxt *c, struct hfi_tid *t)
{
	spin_lock(&c->rx_lock);
	t->erased = true;
	xa_release(&c->tids, t->id);
	spin_unlock(&c->rx_lock);
}

/* The registration can no longer fail: make the tid usable. */
void hfi_tid_publish(struct hfi_ctxt *c, struct hfi_tid *t)
{
	spin_lock(&c->rx_lock);
	/* Storing into a reserved entry never allocates. */
	xa_store(&c->tids, t->id, t, GFP_ATOMIC);
	spin_unlock(&c->rx_lock);
}

/* Undo a registration nobody has seen. */
void hfi_tid_abort(struct hfi_ctxt *c, struct hfi_tid *t)
{
	hfi_tid_release_id(c, t);
	hfi_tid_destroy(c, t);
}

/*
 * Pin the range. For a NOTIFY tid, as the MMU notifier API wants: a pin
 * that an invalidation overtook may hold pages the range no longer maps,
 * so it is undone and tried again; the stale byte starts clear under
 * rx_lock, the lock the callback takes.
 */
static int hfi_tid_pin(struct hfi_ctxt *c, struct hfi_tid *t, u64 vaddr)
{
	unsigned long seq = 0;
	unsigned int tries;
	long pinned;

	for (tries = 0; tries < HFI_TID_PIN_TRIES; tries++) {
		if (t->notify)
			seq = mmu_interval_read_begin(&t->mni);
		pinned = pin_user_pages_fast(vaddr & PAGE_MASK, t->npages,
					     FOLL_WRITE | FOLL_LONGTERM,
					     t->pages);
		if (pinned != t->npages) {
			if (pinned > 0)
				unpin_user_pages(t->pages, pinned);
			return -EFAULT;
		}
		if (!t->notify)
			return 0;
		spin_lock(&c->rx_lock);
		if (!mmu_interval_read_retry(&t->mni, seq)) {
			WRITE_ONCE(c->user->tid_stale[t->id], 0);
			spin_unlock(&c->rx_lock);
			return 0;
		}
		spin_unlock(&c->rx_lock);
		unpin_user_pages(t->pages, t->npages);
	}
	return -EAGAIN;
}

struct hfi_tid *hfi_tid_register_user(struct hfi_ctxt *c, u64 vaddr,
				      u64 length, bool notify)
{
	unsigned long first = vaddr >> PAGE_SHIFT;
	struct hfi_tid *t;
	int ret;

	if (!length || length > HFI_TID_MAX_LENGTH || vaddr + length < vaddr)
		return ERR_PTR(-EINVAL);
	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return ERR_PTR(-ENOMEM);
	t->ctxt = c;
	t->npages = ((vaddr + length - 1) >> PAGE_SHIFT) - first + 1;
	t->first_offset = vaddr & ~PAGE_MASK;
	t->length = length;
	t->pages = kvcalloc(t->npages, sizeof(*t->pages), GFP_KERNEL_ACCOUNT);
	if (!t->pages) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = hfi_pin_charge(c->mm, t->npages);
	if (ret)
		goto err_free;
	ret = hfi_tid_reserve(c, t);
	if (ret)
		goto err_unaccount;
	if (notify) {
		ret = mmu_interval_notifier_insert(&t->mni, current->mm,
						   vaddr & PAGE_MASK,
						   t->npages << PAGE_SHIFT,
						   &hfi_tid_mn_ops);
		if (ret)
			goto err_release;
		t->notify = true;
	}
	ret = hfi_tid_pin(c, t, vaddr);
	if (ret)
		goto err_notifier;
	return t;

err_notifier:
	if (t->notify)
		mmu_interval_notifier_remove(&t->mni);
err_release:
	hfi_tid_release_id(c, t);
err_unaccount:
	hfi_pin_uncharge(c->mm, t->npages);
err_free:
	kvfree(t->pages);
	kfree(t);
	return ERR_PTR(ret);
}

struct hfi_tid *hfi_tid_register_mr(struct hfi_ctxt *c,
				    struct drvops_file *file, u32 mr_handle,
				    u64 offset, u64 length)
{
	struct drvops_binding *b;
	struct swverbs_mr *mr;
	struct hfi_tid *t;
	u64 first;
	int ret;

	b = drvops_file_get_binding(file, DRVOPS_OBJ_MR, mr_handle);
	if (!b)
		return ERR_PTR(-ENOENT);
	mr = to_swverbs_mr(b->mr);
	if (!length || offset > mr->length || length > mr->length - offset ||
	    !(mr->access & IB_ACCESS_LOCAL_WRITE)) {
		ret = -EINVAL;
		goto err_put;
	}
	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t) {
		ret = -ENOMEM;
		goto err_put;
	}
	t->ctxt = c;
	/* A window onto the MR's own page array. */
	first = mr->first_offset + offset;
	t->pages = mr->pages + (first >> PAGE_SHIFT);
	t->first_offset = first & ~PAGE_MASK;
	t->npages = mr->npages - (first >> PAGE_SHIFT);
	t->length = length;
	t->binding = b;			/* the tid keeps the binding in use */
	ret = hfi_tid_reserve(c, t);
	if (ret) {
		kfree(t);
		goto err_put;
	}
	return t;

err_put:
	drvops_binding_put(b);
	return ERR_PTR(ret);
}

int hfi_tid_free(struct hfi_ctxt *c, u32 id)
{
	struct hfi_tid *t;
	int ret = 0;

	spin_lock(&c->rx_lock);
	t = xa_load(&c->tids, id);
	if (!t) {
		ret = -ENOENT;
	} else if (atomic_read(&t->users)) {
		ret = -EBUSY;
	} else {
		xa_erase(&c->tids, id);
		t->erased = true;
	}
	spin_unlock(&c->rx_lock);
	if (!ret)
		hfi_tid_destroy(c, t);
	return ret;
}

/*
 * Free every tid (of one binding, or all with NULL). Whoever erases a tid
 * destroys it: a TID_FREE racing an unbind must not destroy it twice.
 * After the erase no new transfer can find it; one in flight is waited
 * for (its worker holds the context busy, so c stays).
 */
void hfi_tid_free_all(struct hfi_ctxt *c, struct drvops_binding *binding)
{
	struct hfi_tid *t;
	unsigned long id;

	xa_for_each(&c->tids, id, t) {
		/* Look again under the lock: TID_FREE may have won. */
		spin_lock(&c->rx_lock);
		t = xa_load(&c->tids, id);
		if (t && (!binding || t->binding == binding)) {
			xa_erase(&c->tids, id);
			t->erased = true;
		} else
			t = NULL;
		spin_unlock(&c->rx_lock);
		if (!t)
			continue;
		/* Erased: no new transfer finds it; let the current one end. */
		wait_event(c->drain, !atomic_read(&t->users));
		hfi_tid_destroy(c, t);
	}
}

/* For a transfer: the tid, held until hfi_tid_put. Caller has rx_lock. */
struct hfi_tid *hfi_tid_get(struct hfi_ctxt *c, u32 id)
{
	struct hfi_tid *t = xa_load(&c->tids, id);

	lockdep_assert_held(&c->rx_lock);
	if (t)
		atomic_inc(&t->users);
	return t;
}

void hfi_tid_put(struct hfi_ctxt *c, struct hfi_tid *t)
{
	if (atomic_dec_and_test(&t->users))
		hfi_drain_wake(c);
}
