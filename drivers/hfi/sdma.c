// SPDX-License-Identifier: GPL-2.0
/*
 * Send DMA: writev parses requests and pins their payload in the sender's
 * context; an engine worker then copies the pinned pages straight into the
 * receiver's eager buffers or expected (tid) pages, posts the receive
 * entries and writes the sender's completion slot.
 *
 * Eager messages up to inline_max, and expected ones up to
 * inline_expected_max, skip all that when nothing of the sending context
 * is queued: writev copies the payload from the sender's iovecs straight
 * into the receiver's eager buffers or tid pages, posts the entries and
 * writes the completion before it returns: no allocation, no worker, no
 * wait, no pin that outlives the copy (the sender's CPU does the copy a
 * worker would have done, while the sender would only poll). Nothing
 * queued means per-flow order holds.
 *
 * Receiver not ready (RHQ or eager ring full): the message is dropped
 * whole, counted, and the sender's slot says ERROR/ENOBUFS: like an RNR
 * NAK, the sender decides when to resend. A packet is never half-posted.
 */
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>
#include "hfi.h"

struct hfi_seg {
	unsigned long first_page;	/* index in req->pages */
	unsigned int offset;		/* of the data in that page */
	u64 len;
};

struct hfi_req {
	struct work_struct work;
	struct hfi_ctxt *src;
	struct drvops_hfi_sdma_req r;
	struct page **pages;
	unsigned long npages;
	unsigned int nseg;
	struct hfi_seg segs[];
};

/* The source bytes at message offset off: a page, where, how many. */
static struct page *hfi_req_locate(struct hfi_req *req, u64 off,
				   unsigned int *poff, size_t *avail)
{
	unsigned int i;

	for (i = 0; i < req->nseg; i++) {
		struct hfi_seg *s = &req->segs[i];
		u64 pos;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		pos = s->offset + off;
		*poff = pos & ~PAGE_MASK;
		*avail = min_t(u64, s->len - off, PAGE_SIZE - *poff);
		return req->pages[s->first_page + (pos >> PAGE_SHIFT)];
	}
	return NULL;
}

/*
 * Where a payload is written: a kernel buffer (the stage on the stack), or
 * pages from byte pos of the first: a tid's pinned pages, or an eager
 * ring's (hfi_ctxt.eager_pages). The ring is written through its pages,
 * not its vmalloc address: hardened usercopy checks a vmalloc destination
 * under the global vmap_area_lock. Both go through swverbs_pages_io(),
 * whose page-bounded copy gcc emits inline as rep movsq; the ring used to
 * get an out-of-line memcpy(), which with ERMS is rep movsb, and qemu TCG
 * runs that a byte per step: the eager stream went from 18.2 to 9.0 us at
 * 4 KiB, 57 to 20 at 16 KiB (same boot; level without ERMS).
 */
struct hfi_sink {
	void *buf;
	struct page **pages;
	u64 pos;
};

/*
 * From kernel memory into the sink's pages. A buffer sink (the stage, less
 * than a page) is only ever filled from the user: hfi_sink_from_user().
 */
static void hfi_sink_write(const struct hfi_sink *k, u64 at, const void *src,
			   size_t n)
{
	swverbs_pages_io(k->pages, 0, k->pos + at, (void *)src, n, true);
}

/* Copy [off, off + n) of the message into the sink, from its byte at. */
static void hfi_req_copy_to_sink(struct hfi_req *req, u64 off,
				 const struct hfi_sink *k, u64 at, size_t n)
{
	while (n) {
		unsigned int poff;
		size_t avail, chunk;
		struct page *page = hfi_req_locate(req, off, &poff, &avail);
		void *va = kmap_local_page(page);

		chunk = min(n, avail);
		hfi_sink_write(k, at, va + poff, chunk);
		kunmap_local(va);
		off += chunk;
		at += chunk;
		n -= chunk;
	}
}

static void hfi_fill_entry(struct drvops_hfi_rhq_entry *e,
			   const struct hfi_ctxt *src,
			   const struct drvops_hfi_sdma_req *r, u32 flags,
			   u32 eager_index, u32 length, u64 offset)
{
	e->flags = flags;
	e->src_lid = src->unit->sdev.lid;
	e->src_ctxt = src->ctxt;
	e->eager_index = eager_index;
	e->length = length;
	e->tid = r->opcode == DRVOPS_HFI_OP_EXPECTED ? r->tid : 0;
	e->msg_length = r->length;
	e->offset = offset;
	memcpy(e->hdr, r->hdr, sizeof(e->hdr));
}

/* Free RHQ entries / eager buffers; the user's heads are only hints. */
static u32 hfi_room(u32 tail, u32 head, u32 size)
{
	u32 used = tail - head;

	return used > size ? 0 : size - used;
}

/* Pages an inline copy pins at a time: an array on the stack. */
#define HFI_INLINE_PIN_PAGES 64

/*
 * Inline payloads up to this size are copied from the user once, onto the
 * stack, before anything of the receiver's is reserved: that copy is also
 * the check that they are readable (fault_in_readable() would be a second
 * user access). 8 B to 256 B messages are PSM2's small-message path.
 */
#define HFI_STAGE_MAX 256

/* copy_from_user into the sink: the bytes copied. */
static size_t hfi_sink_from_user(const struct hfi_sink *k, u64 at,
				 const void __user *src, size_t n)
{
	u64 pos = k->pos + at;
	size_t done = 0;

	if (k->buf)
		return n - copy_from_user(k->buf + at, src, n);
	while (done < n) {
		size_t poff = (pos + done) & ~PAGE_MASK;
		size_t chunk = min_t(size_t, n - done, PAGE_SIZE - poff);
		void *va = kmap_local_page(k->pages[(pos + done) >> PAGE_SHIFT]);
		size_t left = copy_from_user(va + poff, src + done, chunk);

		kunmap_local(va);
		done += chunk - left;
		if (left)
			break;
	}
	return done;
}

/*
 * n bytes at user address src into the sink at at: the bytes copied
 * (short if a page is unreadable). A page or more goes through short-term
 * pins and the kernel's memcpy, as a worker copies pinned pages: measured
 * under qemu TCG (-cpu max), copy_from_user moved 64 KiB into a tid at a
 * fifth of that speed and 1 MiB at a quarter (without ERMS the two are
 * within 10 % of each other). A short-term pin, as O_DIRECT takes, is not
 * counted in RLIMIT_MEMLOCK.
 */
static size_t hfi_user_copy(const struct hfi_sink *k, u64 at,
			    const void __user *src, size_t n)
{
	unsigned long addr = (unsigned long)src;
	size_t done = 0;

	if (n < PAGE_SIZE || k->buf)
		return hfi_sink_from_user(k, at, src, n);
	while (done < n) {
		struct page *pages[HFI_INLINE_PIN_PAGES];
		unsigned int off = (addr + done) & ~PAGE_MASK;
		int want = min_t(size_t, HFI_INLINE_PIN_PAGES,
				 DIV_ROUND_UP(off + n - done, PAGE_SIZE));
		int got = pin_user_pages_fast((addr + done) & PAGE_MASK, want,
					      0, pages);
		int i;

		/* Not pinnable (our own mappings, VM_IO): byte copies. */
		if (got <= 0)
			return done + hfi_sink_from_user(k, at + done,
							 src + done, n - done);
		for (i = 0; i < got; i++) {
			size_t chunk = min_t(size_t, n - done, PAGE_SIZE - off);
			void *va = kmap_local_page(pages[i]);

			hfi_sink_write(k, at + done, va + off, chunk);
			kunmap_local(va);
			done += chunk;
			off = 0;
		}
		unpin_user_pages(pages, got);
		if (got < want)
			break;
	}
	return done;
}

/*
 * Copy [off, off + n) of the payload (the sender's iovecs) into the sink:
 * the bytes copied (short if a page is unreadable).
 */
static size_t hfi_inline_copy(const struct hfi_sink *k,
			      const struct iovec *piov, unsigned int niov,
			      u64 off, size_t n)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < niov && done < n; i++) {
		size_t len = piov[i].iov_len, chunk, got;

		if (off >= len) {
			off -= len;
			continue;
		}
		chunk = min_t(size_t, len - off, n - done);
		got = hfi_user_copy(k, done, piov[i].iov_base + off, chunk);
		done += got;
		if (got < chunk)
			break;
		off = 0;
	}
	return done;
}

/*
 * Where an eager message's payload comes from: the request's pinned pages
 * (an engine), or the sender's own iovecs (inline, in its writev).
 */
struct hfi_payload {
	struct hfi_req *req;
	const void *staged;		/* or already copied in (inline, small) */
	const struct iovec *iov;
	unsigned int niov;
};

/* [off, off + n) of the payload into the sink: the bytes copied. */
static size_t hfi_payload_copy(const struct hfi_payload *pl, u64 off,
			       const struct hfi_sink *k, size_t n)
{
	if (pl->staged) {
		hfi_sink_write(k, 0, pl->staged + off, n);
		return n;
	}
	if (!pl->req)
		return hfi_inline_copy(k, pl->iov, pl->niov, off, n);
	hfi_req_copy_to_sink(pl->req, off, k, 0, n);	/* pinned: all of it */
	return n;
}

/*
 * An eager message from src into dst: its packets are reserved under
 * dst's rx_lock (or ENOBUFS, nothing taken), copied outside it (page
 * faults allowed for an inline payload: the reservation keeps everyone
 * else off those buffers, rx_busy keeps dst alive), then posted in order.
 * An inline payload page that vanishes mid-copy (another thread unmapped
 * it) cannot undo the reservation: the message goes out zero-filled from
 * there and the result is -EFAULT; only the sender's own job sees it.
 */
static int hfi_deliver_eager(struct hfi_ctxt *src,
			     const struct drvops_hfi_sdma_req *r,
			     const struct hfi_payload *pl, struct hfi_ctxt *dst)
{
	const u32 esz = hfi_params.eager_size;
	u64 len = r->length;
	u32 npkts = len ? DIV_ROUND_UP(len, esz) : 1;
	u32 rhq0, eager0, p;
	int err = 0;

	spin_lock(&dst->rx_lock);
	if (dst->dead) {
		spin_unlock(&dst->rx_lock);
		return -EHOSTUNREACH;
	}
	if (hfi_room(dst->rhq_tail, READ_ONCE(dst->user->rhq_head),
		     hfi_params.rhq_entries) < npkts ||
	    (len && hfi_room(dst->eager_tail, READ_ONCE(dst->user->eager_head),
			     hfi_params.eager_count) < npkts)) {
		spin_unlock(&dst->rx_lock);
		hfi_stats_add(&dst->stats, &dst->unit->stats, 0, 0, 0, 0, 1, 0);
		return -ENOBUFS;
	}
	/* Reserved: nobody else writes these until the user releases them. */
	rhq0 = dst->rhq_tail;
	dst->rhq_tail += npkts;
	eager0 = dst->eager_tail;
	if (len)
		dst->eager_tail += npkts;
	spin_unlock(&dst->rx_lock);

	for (p = 0; p < npkts; p++) {
		u32 idx = rhq0 + p, eidx = len ? eager0 + p : U32_MAX;
		struct drvops_hfi_rhq_entry *e =
			&dst->rhq[idx & (hfi_params.rhq_entries - 1)];
		u32 plen = len ? min_t(u64, esz, len - (u64)p * esz) : 0;

		if (plen) {
			size_t at = (size_t)(eidx & (hfi_params.eager_count - 1)) *
				    esz;
			const struct hfi_sink k = { .pages = dst->eager_pages,
						    .pos = at };
			size_t got = err ? 0 : hfi_payload_copy(pl, (u64)p * esz,
								&k, plen);

			if (got < plen) {
				memset(dst->eager + at + got, 0, plen - got);
				err = -EFAULT;
			}
		}
		hfi_fill_entry(e, src, r, DRVOPS_HFI_RHQ_EAGER |
			       (p == npkts - 1 ? DRVOPS_HFI_RHQ_LAST : 0),
			       eidx, plen, (u64)p * esz);
		/* Entry and payload before seq: the user polls seq. */
		smp_store_release(&e->seq, idx + 1);
	}
	hfi_stats_add(&dst->stats, &dst->unit->stats, 0, 0, npkts, len, 0, 0);
	/* dst is held (rx_busy): its release waits for us, its file is there. */
	drvops_file_wake(dst->file);
	return err;
}

/* An engine's copy into a tid, done in parts (parts.c). */
struct hfi_tid_copy {
	struct hfi_req *req;
	struct hfi_tid *t;
	u64 toff;
};

static void hfi_tid_copy_part(void *arg, u64 off, u64 n)
{
	struct hfi_tid_copy *c = arg;
	const struct hfi_sink k = { .pages = c->t->pages,
				    .pos = c->t->first_offset + c->toff };

	hfi_req_copy_to_sink(c->req, off, &k, off, n);
}

/*
 * [0, n) of the payload into tid t at toff: the bytes copied (short if an
 * inline payload page is unreadable). Page faults are allowed: t is held
 * (its users count), its pages pinned.
 */
static size_t hfi_payload_copy_to_tid(const struct hfi_payload *pl,
				      struct hfi_tid *t, u64 toff, size_t n)
{
	const struct hfi_sink k = { .pages = t->pages,
				    .pos = t->first_offset + toff };

	if (pl->staged) {
		hfi_sink_write(&k, 0, pl->staged, n);
		return n;
	}
	if (pl->req) {
		struct hfi_tid_copy c = { .req = pl->req, .t = t, .toff = toff };

		/* Pinned on both sides: parts may copy at once. */
		hfi_copy_in_parts(hfi_tid_copy_part, &c, n);
		return n;
	}
	return hfi_inline_copy(&k, pl->iov, pl->niov, 0, n);
}

/* Look the tid up for a transfer of len at toff; held on success. */
static int hfi_expected_target(struct hfi_ctxt *dst,
			       const struct drvops_hfi_sdma_req *r,
			       struct hfi_tid **tp)
{
	struct hfi_tid *t;

	lockdep_assert_held(&dst->rx_lock);
	if (dst->dead)
		return -EHOSTUNREACH;
	t = hfi_tid_get(dst, r->tid);
	if (!t)
		return -ENOENT;
	if (r->toffset > t->length || r->length > t->length - r->toffset) {
		atomic_dec(&t->users);		/* under rx_lock: nobody waits */
		return -ERANGE;
	}
	*tp = t;
	return 0;
}

/*
 * An expected message from src into dst: one RHQ entry, the payload in
 * the tid. The payload is copied first, outside any lock (page faults
 * allowed for an inline payload), then the entry is reserved and posted:
 * a payload that turns out unreadable midway posts nothing (-EFAULT; the
 * tid holds a partial copy nobody was told about), and the receiver never
 * sees an entry for a message that did not arrive whole. Receiver not
 * ready is checked before the copy and again at the reservation.
 */
static int hfi_deliver_expected(struct hfi_ctxt *src,
				const struct drvops_hfi_sdma_req *r,
				const struct hfi_payload *pl,
				struct hfi_ctxt *dst)
{
	struct drvops_hfi_rhq_entry *e;
	struct hfi_tid *t;
	u64 len = r->length;
	u32 idx = 0;
	int err;

	spin_lock(&dst->rx_lock);
	err = hfi_expected_target(dst, r, &t);
	if (!err && !hfi_room(dst->rhq_tail, READ_ONCE(dst->user->rhq_head),
			      hfi_params.rhq_entries)) {
		atomic_dec(&t->users);
		err = -ENOBUFS;
	}
	spin_unlock(&dst->rx_lock);
	if (err)
		goto out_stats;

	if (len && hfi_payload_copy_to_tid(pl, t, r->toffset, len) < len) {
		hfi_tid_put(dst, t);
		return -EFAULT;
	}

	spin_lock(&dst->rx_lock);
	if (dst->dead)
		err = -EHOSTUNREACH;
	else if (!hfi_room(dst->rhq_tail, READ_ONCE(dst->user->rhq_head),
			   hfi_params.rhq_entries))
		err = -ENOBUFS;
	else
		idx = dst->rhq_tail++;
	spin_unlock(&dst->rx_lock);
	hfi_tid_put(dst, t);
	if (err)
		goto out_stats;

	e = &dst->rhq[idx & (hfi_params.rhq_entries - 1)];
	hfi_fill_entry(e, src, r, DRVOPS_HFI_RHQ_EXPECTED | DRVOPS_HFI_RHQ_LAST,
		       U32_MAX, len, r->toffset);
	/* Payload and entry before seq: the user polls seq. */
	smp_store_release(&e->seq, idx + 1);
	hfi_stats_add(&dst->stats, &dst->unit->stats, 0, 0, 1, len, 0, 0);
	/* dst is held (rx_busy): its release waits for us, its file is there. */
	drvops_file_wake(dst->file);
	return 0;

out_stats:
	if (err == -ENOBUFS)
		hfi_stats_add(&dst->stats, &dst->unit->stats, 0, 0, 0, 0, 1, 0);
	return err;
}

static void hfi_req_free(struct hfi_req *req)
{
	unpin_user_pages(req->pages, req->npages);
	hfi_pin_uncharge(req->src->mm, req->npages);
	kvfree(req->pages);
	kfree(req);
}

static void hfi_tx_stats(struct hfi_ctxt *src,
			 const struct drvops_hfi_sdma_req *r, int err)
{
	u64 len = r->length;
	u32 npkts = r->opcode == DRVOPS_HFI_OP_EAGER && len ?
		    DIV_ROUND_UP(len, hfi_params.eager_size) : 1;

	if (err)
		hfi_stats_add(&src->stats, &src->unit->stats, 0, 0, 0, 0, 0, 1);
	else
		hfi_stats_add(&src->stats, &src->unit->stats, npkts, len,
			      0, 0, 0, 0);
}

/*
 * Write slot's completion (err: 0 or a negative errno), then count it: a
 * poller that sees the count (EPOLLPRI) sees the slot done.
 */
static void hfi_comp_post(struct hfi_ctxt *c, u16 slot, int err)
{
	struct drvops_hfi_comp *comp = &c->comp[slot];

	WRITE_ONCE(comp->errcode, -err);	/* positive in the ABI */
	/* errcode before status: the user reads status first. */
	smp_store_release(&comp->status, err ? DRVOPS_HFI_COMP_ERROR :
					  DRVOPS_HFI_COMP_COMPLETE);
	atomic_inc(&c->comps_done);
}

/* err: 0 or a negative errno. */
static void hfi_req_complete(struct hfi_req *req, int err)
{
	struct hfi_ctxt *src = req->src;
	u16 slot = req->r.slot;

	hfi_tx_stats(src, &req->r, err);
	/*
	 * Unpinned, uncounted and out of the in-flight count before the user
	 * can see the slot done: a sender at its memlock or slot limit may
	 * resubmit at once.
	 */
	hfi_req_free(req);
	spin_lock(&src->rx_lock);
	atomic_dec(&src->sends_in_flight);
	hfi_comp_post(src, slot, err);
	if (!src->dead)
		drvops_file_wake(src->file);
	hfi_drain_wake(src);
	/* The last touch of src: release may free it once it gets the lock. */
	spin_unlock(&src->rx_lock);
}

static void hfi_req_work(struct work_struct *work)
{
	struct hfi_req *req = container_of(work, struct hfi_req, work);
	struct hfi_ctxt *src = req->src, *dst;
	int err;

	/* A dying sender's requests end with EIO, unsent. */
	if (READ_ONCE(src->dead)) {
		hfi_req_complete(req, -EIO);
		return;
	}
	dst = hfi_fabric_get(req->r.dlid, req->r.dctxt);
	if (!dst)
		err = -EHOSTUNREACH;
	else if (!hfi_same_job(src, dst))
		err = -EHOSTUNREACH;
	else if (req->r.opcode == DRVOPS_HFI_OP_EAGER)
		err = hfi_deliver_eager(src, &req->r,
					&(struct hfi_payload){ .req = req }, dst);
	else
		err = hfi_deliver_expected(src, &req->r,
					   &(struct hfi_payload){ .req = req },
					   dst);
	if (dst)
		hfi_fabric_put(dst);
	hfi_req_complete(req, err);
}

static unsigned long hfi_iov_pages(const struct iovec *iov)
{
	unsigned long start = (unsigned long)iov->iov_base;

	if (!iov->iov_len)
		return 0;
	return ((start + iov->iov_len - 1) >> PAGE_SHIFT) -
	       (start >> PAGE_SHIFT) + 1;
}

/* Pin every payload page for the engine; counted in RLIMIT_MEMLOCK. */
static int hfi_req_pin(struct hfi_req *req, const struct iovec *piov)
{
	unsigned long k = 0;
	unsigned int i;
	int ret;

	req->pages = kvcalloc(max(req->npages, 1UL), sizeof(*req->pages),
			      GFP_KERNEL_ACCOUNT);
	if (!req->pages)
		return -ENOMEM;
	ret = hfi_pin_charge(req->src->mm, req->npages);
	if (ret)
		goto err_free;
	for (i = 0; i < req->nseg; i++) {
		unsigned long start = (unsigned long)piov[i].iov_base;
		unsigned long n = hfi_iov_pages(&piov[i]);
		long pinned;

		req->segs[i].first_page = k;
		req->segs[i].offset = start & ~PAGE_MASK;
		req->segs[i].len = piov[i].iov_len;
		if (!n)
			continue;
		pinned = pin_user_pages_fast(start & PAGE_MASK, n, 0,
					     req->pages + k);
		if (pinned > 0)
			k += pinned;
		if (pinned != n) {
			ret = -EFAULT;
			goto err_unpin;
		}
	}
	return 0;

err_unpin:
	unpin_user_pages(req->pages, k);
	hfi_pin_uncharge(req->src->mm, req->npages);
err_free:
	kvfree(req->pages);
	return ret;
}

/*
 * May this slot take a request? Submissions of one fd are serialised
 * (hfi_file.lock) and workers only ever move a QUEUED slot on, so the
 * answer holds until the caller marks the slot QUEUED.
 */
static int hfi_slot_check(struct hfi_ctxt *c, u16 slot)
{
	if (atomic_read(&c->sends_in_flight) >= hfi_params.sdma_slots)
		return -ENOSPC;
	if (READ_ONCE(c->comp[slot].status) == DRVOPS_HFI_COMP_QUEUED)
		return -EBADSLT;
	return 0;
}

/*
 * Send r inline if it may go that way (see the top of this file): 0 when
 * its completion is written, -EAGAIN to queue it, or the writev error
 * (EFAULT: the payload is unreadable, nothing sent, the slot as it was).
 */
static int hfi_send_inline(struct hfi_ctxt *c,
			   const struct drvops_hfi_sdma_req *r,
			   const struct iovec *piov)
{
	struct hfi_payload pl = { .iov = piov, .niov = r->niov };
	u64 max = r->opcode == DRVOPS_HFI_OP_EAGER ?
		  hfi_params.inline_max :
		  READ_ONCE(hfi_params.inline_expected_max);
	u8 stage[HFI_STAGE_MAX] drvops_uninitialized;	/* read before used */
	const struct hfi_sink to_stage = { .buf = stage };
	struct hfi_ctxt *dst;
	unsigned int i;
	int err;

	if (r->length > max || atomic_read(&c->sends_in_flight))
		return -EAGAIN;
	/*
	 * Unreadable payload: refused before anything is reserved. A small
	 * one is read here once (the check and the copy in one user access)
	 * and delivered from the stack.
	 */
	if (r->length <= sizeof(stage)) {
		if (hfi_inline_copy(&to_stage, piov, r->niov, 0,
				    r->length) < r->length)
			return -EFAULT;
		pl.staged = stage;
	} else {
		for (i = 0; i < r->niov; i++)
			if (fault_in_readable(piov[i].iov_base,
					      piov[i].iov_len))
				return -EFAULT;
	}
	dst = hfi_fabric_get(r->dlid, r->dctxt);
	if (!dst || !hfi_same_job(c, dst))
		err = -EHOSTUNREACH;
	else if (r->opcode == DRVOPS_HFI_OP_EAGER)
		err = hfi_deliver_eager(c, r, &pl, dst);
	else
		err = hfi_deliver_expected(c, r, &pl, dst);
	if (dst)
		hfi_fabric_put(dst);
	hfi_tx_stats(c, r, err);
	/* As a worker completes it; the fd is alive: we are in its writev. */
	hfi_comp_post(c, r->slot, err);
	drvops_file_wake(c->file);
	return 0;
}

/* Validate one request and hand it to its engine. */
static int hfi_submit(struct hfi_ctxt *c, const struct drvops_hfi_sdma_req *r,
		      const struct iovec *piov)
{
	struct hfi_req *req;
	unsigned int i;
	u64 total = 0;
	int ret;

	if (r->flags)
		return -EOPNOTSUPP;
	if ((r->opcode != DRVOPS_HFI_OP_EAGER &&
	     r->opcode != DRVOPS_HFI_OP_EXPECTED) ||
	    r->niov > hfi_params.max_iovs || r->slot >= hfi_params.sdma_slots)
		return -EINVAL;
	for (i = 0; i < r->niov; i++) {
		if (piov[i].iov_len > MAX_RW_COUNT)
			return -EINVAL;
		total += piov[i].iov_len;
	}
	if (total != r->length)
		return -EINVAL;
	if (r->length > (r->opcode == DRVOPS_HFI_OP_EAGER ? hfi_eager_max() :
			 HFI_TID_MAX_LENGTH))
		return -EMSGSIZE;
	ret = hfi_slot_check(c, r->slot);
	if (ret)
		return ret;
	ret = hfi_send_inline(c, r, piov);
	if (ret != -EAGAIN)
		return ret;

	req = kzalloc(struct_size(req, segs, r->niov), GFP_KERNEL_ACCOUNT);
	if (!req)
		return -ENOMEM;
	req->src = c;
	req->r = *r;
	req->nseg = r->niov;
	for (i = 0; i < r->niov; i++)
		req->npages += hfi_iov_pages(&piov[i]);
	/* A refused request leaves its slot exactly as it was. */
	ret = hfi_req_pin(req, piov);
	if (ret)
		goto err_free;
	WRITE_ONCE(c->comp[r->slot].status, DRVOPS_HFI_COMP_QUEUED);
	atomic_inc(&c->sends_in_flight);
	INIT_WORK(&req->work, hfi_req_work);
	queue_work(hfi_engine_for(c->unit->sdev.lid, c->ctxt, r->dlid,
				  r->dctxt), &req->work);
	return 0;

err_free:
	kfree(req);
	return ret;
}

/* The iovecs of a writev (or the one buffer of a write). */
static const struct iovec *hfi_iovecs(struct iov_iter *from,
				      struct iovec *one, unsigned long *nr)
{
	if (iter_is_iovec(from) && !from->iov_offset) {
		*nr = from->nr_segs;
		return iter_iov(from);
	}
	if (iter_is_ubuf(from)) {
		one->iov_base = from->ubuf;
		one->iov_len = from->count;
		*nr = 1;
		return one;
	}
	return NULL;
}

/*
 * iov[0] of a request, read as its version defines it (uapi): 0 or the
 * writev error. Versions 1 and 2: exactly our struct, __reserved was
 * padding and is ignored. Version 3: size-extensible, as an ioctl.
 */
static int hfi_read_req(const struct iovec *iov, u32 version,
			struct drvops_hfi_sdma_req *r)
{
	int ret;

	BUILD_BUG_ON(sizeof(*r) != DRVOPS_HFI_SDMA_REQ_SIZE_V3);
	if (version < 3) {
		if (iov->iov_len != sizeof(*r))
			return -EINVAL;
		if (copy_from_user(r, iov->iov_base, sizeof(*r)))
			return -EFAULT;
		if (r->size != sizeof(*r))
			return -EINVAL;
		r->__reserved = 0;
		return 0;
	}
	if (iov->iov_len < DRVOPS_HFI_SDMA_REQ_SIZE_V3 ||
	    iov->iov_len > U32_MAX)
		return -EINVAL;
	BUILD_BUG_ON(sizeof(*r) % sizeof(u64));
	if (iov->iov_len == sizeof(*r)) {
		if (!drvops_read_user_words(r, iov->iov_base, sizeof(*r)))
			return -EFAULT;
	} else {
		ret = copy_struct_from_user(r, sizeof(*r), iov->iov_base,
					    iov->iov_len);
		if (ret)
			return ret;
	}
	if (r->size != iov->iov_len)
		return -EINVAL;
	return r->__reserved ? -EOPNOTSUPP : 0;
}

/*
 * sdma.opa: requests back to back, each iov[0] = struct drvops_hfi_sdma_req
 * then its niov payload iovecs (version 1: exactly one request). Returns
 * how many were accepted.
 */
ssize_t hfi_sdma_writev(struct hfi_file *hf, struct iov_iter *from)
{
	bool batched = hf->version >= 2;
	struct hfi_ctxt *c = hfi_file_ctxt(hf);
	const struct iovec *iov;
	struct drvops_hfi_sdma_req r;
	struct iovec one;
	unsigned long nr, i = 0;
	ssize_t done = 0;
	int ret = 0;

	if (!c)
		return -ENXIO;
	iov = hfi_iovecs(from, &one, &nr);
	if (!iov)
		return -EINVAL;
	mutex_lock(&hf->lock);		/* slot claims are per fd */
	while (i < nr) {
		ret = hfi_read_req(&iov[i], hf->version, &r);
		if (ret)
			break;
		if (r.niov > nr - i - 1 || (!batched && r.niov != nr - 1)) {
			ret = -EINVAL;
			break;
		}
		ret = hfi_submit(c, &r, iov + i + 1);
		if (ret)
			break;
		done++;
		i += 1 + r.niov;
		if (!batched)
			break;
	}
	mutex_unlock(&hf->lock);
	return done ? done : ret;
}

/* psm2.intel.com: one eager request, iov[0] = drvops_hfi_legacy_send. */
ssize_t hfi_sdma_legacy_writev(struct hfi_file *hf, struct iov_iter *from)
{
	struct drvops_hfi_legacy_send ls;
	struct drvops_hfi_sdma_req r = {};
	const struct iovec *iov;
	struct hfi_ctxt *c = hfi_file_ctxt(hf);
	struct iovec one;
	unsigned long nr;
	int ret;

	/* One read of the context: it never changes once set. */
	if (!c)
		return -ENXIO;
	iov = hfi_iovecs(from, &one, &nr);
	if (!iov || iov[0].iov_len != sizeof(ls))
		return -EINVAL;
	if (copy_from_user(&ls, iov[0].iov_base, sizeof(ls)))
		return -EFAULT;
	if (ls.size != sizeof(ls) || ls.niov != nr - 1)
		return -EINVAL;
	r.size = sizeof(r);
	r.opcode = DRVOPS_HFI_OP_EAGER;
	r.niov = ls.niov;
	r.slot = ls.slot;
	r.dlid = ls.dlid;
	r.dctxt = ls.dctxt;
	r.length = ls.length;
	memcpy(r.hdr, ls.hdr, sizeof(r.hdr));
	if (ls.niov != r.niov)		/* __u16 in, __u8 here */
		return -EINVAL;
	mutex_lock(&hf->lock);
	ret = hfi_submit(c, &r, iov + 1);
	mutex_unlock(&hf->lock);
	return ret ? ret : 1;
}
