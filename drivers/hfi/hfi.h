/* SPDX-License-Identifier: GPL-2.0 */
/*
 * drvops_hfi: an emulated Omni-Path-class HFI. Units are ib_devices on one
 * in-kernel fabric; each driver-ops fd may own one receive context; sends
 * go through SDMA engines (ordered workqueues) that copy the sender's
 * pinned pages straight into the receiver's eager buffers or expected
 * (TID) buffers. ABI: uapi/rdma/drvops_hfi.h.
 *
 * Locking and lifetime, in one place:
 *  - hfi_fabric_lock (spinlock) guards the LID -> unit table and every
 *    unit's context table. A context is reachable from the fabric, and
 *    from its fd, from the end of a successful ASSIGN_CTXT (nothing can
 *    fail after it is published) until its release starts.
 *  - A context is released by the fd's release() (the broker calls it
 *    exactly once). Release unpublishes it, then flushes every engine: no
 *    work item can still hold the pointer, as a worker finds contexts only
 *    through the fabric, and its own sending context is alive until then.
 *  - ctxt->rx_lock guards the receive producer indices, the TID table,
 *    each tid's "erased" and stale byte, and "dead". A NOTIFY tid's MMU
 *    notifier callback takes it (under the mm's invalidation), so it is
 *    never held across an allocation that may reclaim or anything that
 *    unmaps.
 *    A delivery wakes the receiver's fd while it holds the
 *    context (rx_busy, below): release waits for that, so the drvops_file
 *    is still there; a sender's completion wakes its own fd under rx_lock
 *    while not dead, since the drvops_file may go once release returns.
 *  - A tid id is reserved (a NULL entry: invisible to senders and to
 *    TID_FREE) until its registration can no longer fail, then published.
 *  - Requests hold their payload pages pinned (and counted in the owner's
 *    pinned_vm, like ib_umem: pin.c) from writev until their completion is
 *    written.
 *  - A context is drained on its own, never by flushing the shared
 *    engines (which would make one tenant wait for another's traffic):
 *    rx_busy counts workers delivering into it (taken under the fabric
 *    lock, so none starts once it is unpublished), sends_in_flight its own
 *    requests, and users of each tid the transfers into it; each drops
 *    under rx_lock and wakes "drain", which release and unbind wait on.
 */
#ifndef DRVOPS_HFI_H
#define DRVOPS_HFI_H

#include <linux/mmu_notifier.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <rdma/drvops_hfi.h>
#include "swverbs.h"

struct hfi_params {
	unsigned int num_contexts;
	unsigned int rhq_entries;
	unsigned int eager_count;
	unsigned int eager_size;
	unsigned int sdma_slots;
	unsigned int sdma_engines;
	unsigned int max_iovs;
	unsigned int inline_max;	/* eager bytes sent within writev */
	unsigned long inline_expected_max;	/* expected bytes, likewise */
	unsigned long engine_split_min;	/* engine copies spread from 2x this */
};

extern struct hfi_params hfi_params;

/* Largest expected buffer, and so largest expected message. */
#define HFI_TID_MAX_LENGTH (64ULL << 20)

struct hfi_counts {
	u64 tx_packets;
	u64 tx_bytes;
	u64 rx_packets;
	u64 rx_bytes;
	u64 rx_dropped;
	u64 tx_errors;
};

/*
 * Counters of a context or a unit, per CPU: every message counts on both
 * (fabric.c), and a shared atomic would cost a locked instruction each;
 * readers add the CPUs up (hfi_stats_read).
 */
struct hfi_stats {
	struct hfi_counts __percpu *pcpu;
};

struct hfi_unit {
	struct swverbs_dev sdev;	/* must be first: ib_alloc_device */
	unsigned int index;
	bool legacy;			/* an "old driver build" */
	struct hfi_ctxt **ctxts;	/* [num_contexts], fabric lock */
	struct hfi_stats stats;
	struct dentry *debugfs;
};

/*
 * An expected-receive buffer: user pages pinned by us, or a bound MR's.
 * A NOTIFY tid (sdma.opa 4) also watches its mapping: "erased" and the
 * user page's stale byte are guarded by the context's rx_lock, which the
 * notifier's callback takes (so rx_lock is never held across an
 * allocation that may reclaim, nor across anything that unmaps user
 * memory).
 */
struct hfi_tid {
	u32 id;
	atomic_t users;			/* transfers into it right now */
	struct page **pages;
	unsigned long npages;
	unsigned int first_offset;
	u64 length;
	struct drvops_binding *binding;	/* MR-backed, else we pinned */
	struct hfi_ctxt *ctxt;
	bool notify;			/* mni is inserted */
	bool erased;			/* its id may belong to another tid */
	struct mmu_interval_notifier mni;
};

struct hfi_ctxt {
	struct hfi_unit *unit;
	struct drvops_file *file;
	struct mm_struct *mm;		/* owner, for pinned_vm; mmgrab'd */
	u16 ctxt;
	/* The job: packets flow only between equal (uid, user_ns, key). */
	kuid_t owner;			/* euid at ASSIGN_CTXT */
	struct user_namespace *owner_ns;	/* referenced */
	u8 job_key[DRVOPS_HFI_JOB_KEY_LEN];
	bool legacy_abi;

	spinlock_t rx_lock;
	bool dead;
	u32 rhq_tail;			/* next RHQ index to hand out */
	u32 eager_tail;			/* next eager buffer to hand out */
	struct xarray tids;
	u32 next_tid;

	/* Shared with userspace (vmalloc_user, mapped by fault). */
	struct drvops_hfi_rhq_entry *rhq;
	void *eager;
	struct page **eager_pages;	/* its pages: the kernel writes those */
	struct drvops_hfi_comp *comp;
	struct drvops_hfi_user_page *user;

	atomic_t sends_in_flight;	/* own requests not yet completed */
	atomic_t comps_done;		/* completions written (comp_head) */
	atomic_t rx_busy;		/* workers delivering into it */
	wait_queue_head_t drain;	/* the two above, and tid users */
	struct hfi_stats stats;
};

/*
 * Per-fd state: the context, once assigned. ctxt is published once, fully
 * built (hfi_ctxt_finalize), and stays until release: read it with
 * hfi_file_ctxt() without the lock.
 */
struct hfi_file {
	struct drvops_file *file;
	struct mutex lock;		/* assignment, submission, tid-vs-unbind */
	struct hfi_ctxt *ctxt;
	bool legacy_abi;
	u32 version;			/* of the interface, fixed at open */
	bool comp_events;		/* sdma.opa 3: EPOLLPRI, comp_head */
};

static inline struct hfi_ctxt *hfi_file_ctxt(struct hfi_file *hf)
{
	/* Pairs with the store-release in hfi_ctxt_finalize(). */
	return smp_load_acquire(&hf->ctxt);
}

/* A slot of unit->ctxts that holds a published context. */
static inline bool hfi_ctxt_live(const struct hfi_ctxt *c)
{
	return c && c != (const struct hfi_ctxt *)1;
}

static inline struct hfi_unit *to_hfi_unit(struct ib_device *ibdev)
{
	return container_of(to_swverbs_dev(ibdev), struct hfi_unit, sdev);
}

static inline struct hfi_file *to_hfi_file(struct drvops_file *file)
{
	return drvops_file_priv(file);
}

/* fabric.c */
extern spinlock_t hfi_fabric_lock;
int hfi_fabric_add(struct hfi_unit *unit);
void hfi_fabric_remove(struct hfi_unit *unit);
struct hfi_ctxt *hfi_fabric_get(u16 lid, u16 ctxt);
void hfi_fabric_put(struct hfi_ctxt *c);
int hfi_engines_init(void);
void hfi_engines_exit(void);

/* parts.c: a large engine copy spread over the engines. */
typedef void (*hfi_copy_fn)(void *arg, u64 off, u64 len);
/* copy(arg, off, n) over [0, len) in parts; returns when all are done. */
void hfi_copy_in_parts(hfi_copy_fn copy, void *arg, u64 len);
int hfi_parts_init(void);
void hfi_parts_exit(void);
struct workqueue_struct *hfi_engine_for(u16 slid, u16 sctxt, u16 dlid,
					u16 dctxt);

/* Only what moved; this_cpu_add is one unlocked, preempt-safe add. */
static inline void hfi_stats_add_one(struct hfi_stats *s, u64 txp, u64 txb,
				     u64 rxp, u64 rxb, u64 drop, u64 err)
{
	if (txp)
		this_cpu_add(s->pcpu->tx_packets, txp);
	if (txb)
		this_cpu_add(s->pcpu->tx_bytes, txb);
	if (rxp)
		this_cpu_add(s->pcpu->rx_packets, rxp);
	if (rxb)
		this_cpu_add(s->pcpu->rx_bytes, rxb);
	if (drop)
		this_cpu_add(s->pcpu->rx_dropped, drop);
	if (err)
		this_cpu_add(s->pcpu->tx_errors, err);
}

/* Count on a context and on its unit; inline: every message counts. */
static inline void hfi_stats_add(struct hfi_stats *s,
				 struct hfi_stats *unit_s, u64 tx_packets,
				 u64 tx_bytes, u64 rx_packets, u64 rx_bytes,
				 u64 rx_dropped, u64 tx_errors)
{
	hfi_stats_add_one(s, tx_packets, tx_bytes, rx_packets, rx_bytes,
			  rx_dropped, tx_errors);
	hfi_stats_add_one(unit_s, tx_packets, tx_bytes, rx_packets, rx_bytes,
			  rx_dropped, tx_errors);
}

/*
 * Wake c->drain's waiters (release, tid free) after the count they wait
 * on moved; nobody waits almost always, and an empty wake_up_all() still
 * takes the queue's lock with interrupts off, once per message.
 * wq_has_sleeper()'s barrier pairs with the one in prepare_to_wait_event().
 */
static inline void hfi_drain_wake(struct hfi_ctxt *c)
{
	if (wq_has_sleeper(&c->drain))
		wake_up_all(&c->drain);
}

int hfi_stats_init(struct hfi_stats *s);
void hfi_stats_free(struct hfi_stats *s);

/*
 * The sum over CPUs: inline (it is most of a COUNTERS ioctl), and with
 * cpu_possible() rather than for_each_possible_cpu(), which calls
 * find_next_bit() per CPU (5 % of a COUNTERS ioctl).
 */
static inline void hfi_stats_read(const struct hfi_stats *s,
				  struct hfi_counts *out)
{
	struct hfi_counts sum = {};
	int cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		const struct hfi_counts *c;

		if (!cpu_possible(cpu))
			continue;
		c = per_cpu_ptr(s->pcpu, cpu);
		sum.tx_packets += READ_ONCE(c->tx_packets);
		sum.tx_bytes += READ_ONCE(c->tx_bytes);
		sum.rx_packets += READ_ONCE(c->rx_packets);
		sum.rx_bytes += READ_ONCE(c->rx_bytes);
		sum.rx_dropped += READ_ONCE(c->rx_dropped);
		sum.tx_errors += READ_ONCE(c->tx_errors);
	}
	*out = sum;
}

/* ctxt.c */
struct hfi_ctxt *hfi_ctxt_create(struct hfi_file *hf, const u8 *job_key);
unsigned int hfi_unit_free_contexts(struct hfi_unit *unit);
void hfi_ctxt_finalize(struct hfi_file *hf, struct hfi_ctxt *c);
void hfi_ctxt_abort(struct hfi_ctxt *c);
void hfi_ctxt_release(struct hfi_ctxt *ctxt);
size_t hfi_region_length(enum drvops_hfi_mmap_region r);
u64 hfi_eager_max(void);
u64 hfi_region_offset(enum drvops_hfi_mmap_region r);
bool hfi_same_job(const struct hfi_ctxt *a, const struct hfi_ctxt *b);

/* tid.c */
struct hfi_tid *hfi_tid_register_user(struct hfi_ctxt *ctxt, u64 vaddr,
				      u64 length, bool notify);
struct hfi_tid *hfi_tid_register_mr(struct hfi_ctxt *ctxt,
				    struct drvops_file *file, u32 mr_handle,
				    u64 offset, u64 length);
void hfi_tid_publish(struct hfi_ctxt *ctxt, struct hfi_tid *tid);
void hfi_tid_abort(struct hfi_ctxt *ctxt, struct hfi_tid *tid);
int hfi_tid_free(struct hfi_ctxt *ctxt, u32 tid);
void hfi_tid_free_all(struct hfi_ctxt *ctxt, struct drvops_binding *binding);
struct hfi_tid *hfi_tid_get(struct hfi_ctxt *ctxt, u32 tid);
void hfi_tid_put(struct hfi_ctxt *ctxt, struct hfi_tid *tid);

/* pin.c */
int hfi_pin_charge(struct mm_struct *mm, unsigned long npages);
void hfi_pin_uncharge(struct mm_struct *mm, unsigned long npages);

/* sdma.c */
ssize_t hfi_sdma_writev(struct hfi_file *hf, struct iov_iter *from);
ssize_t hfi_sdma_legacy_writev(struct hfi_file *hf, struct iov_iter *from);

/* iface.c */
extern const struct drvops_interface hfi_sdma_interface;
extern const struct drvops_interface hfi_psm2_interface;

#endif /* DRVOPS_HFI_H */
