/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The registration cache of expected-receive buffers: tids kept after a
 * receive so that the next receive into the same buffer (MPI reuses its
 * buffers) needs no TID_REGISTER, no pinning and no TID_FREE.
 *
 * Only a tid that follows its mapping may be kept (sdma.opa 4,
 * DRVOPS_HFI_TID_NOTIFY): free() and a new malloc() may give the same
 * address other pages, and the device then says the tid is stale. This
 * file is the bookkeeping only; hfi_transport.c asks the device.
 *
 * An entry is in use (refs > 0: a receive window holds it) or idle, on an
 * LRU list that is trimmed to max_idle entries and max_idle_bytes. A
 * stale entry is unhashed at once (no lookup finds it) and freed when
 * its last user lets go.
 */
#ifndef PSM_SHIM_TID_CACHE_H
#define PSM_SHIM_TID_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include <rdma/drvops_hfi.h>

#include "list.h"

#define TID_CACHE_BUCKETS 256

struct tid_cache_entry {
	struct tid_cache_entry *hnext;	/* hash chain; unhashed: not found */
	struct shim_list lru;		/* on idle while refs == 0 */
	uintptr_t addr;
	uint64_t len;
	uint32_t tid;
	unsigned refs;
	bool hashed;
};

struct tid_cache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t stale;			/* found stale, registered again */
	uint64_t evicted;		/* idle ones freed for room */
};

struct tid_cache {
	struct tid_cache_entry *bucket[TID_CACHE_BUCKETS];
	struct tid_cache_entry *by_tid[DRVOPS_HFI_MAX_TIDS + 1];
	struct shim_list idle;		/* least recently used first */
	unsigned nidle, max_idle;
	uint64_t idle_bytes, max_idle_bytes;
	struct tid_cache_stats stats;
};

void tid_cache_init(struct tid_cache *c, unsigned max_idle,
		    uint64_t max_idle_bytes);
/* Frees the entries (not the tids: the context's end does). */
void tid_cache_fini(struct tid_cache *c);

/*
 * An entry for a receive of len bytes at addr (a tid made at addr for at
 * least len), not yet checked for staleness; NULL if none.
 */
struct tid_cache_entry *tid_cache_lookup(struct tid_cache *c,
					 const void *addr, uint64_t len);
/* Take a looked-up entry for a receive window. */
void tid_cache_get(struct tid_cache *c, struct tid_cache_entry *e);
/*
 * The device says e's tid is stale: no lookup finds it any more. Returns
 * true if nobody uses it: the caller frees the tid (and e is gone).
 */
bool tid_cache_drop_stale(struct tid_cache *c, struct tid_cache_entry *e);
/* A new tid, in use by the caller: false if it could not be kept. */
bool tid_cache_insert(struct tid_cache *c, const void *addr, uint64_t len,
		      uint32_t tid);

enum tid_cache_put {
	TID_CACHE_NOT_MINE,		/* not a cached tid: free it */
	TID_CACHE_KEPT,			/* in use elsewhere, or idle now */
	TID_CACHE_FREE,			/* stale and unused: free it */
};
/*
 * A receive window lets go of tid. Not filled (an error, a cancel: a late
 * transfer may still land in it) makes it unusable for anyone else, as
 * a stale one.
 */
enum tid_cache_put tid_cache_put(struct tid_cache *c, uint32_t tid,
				 bool filled);

/*
 * Take the least recently used idle entry out if the idle ones exceed
 * the limits (or always, with force): true and its tid, to be freed.
 */
bool tid_cache_evict(struct tid_cache *c, bool force, uint32_t *tid);
/* Idle entries, oldest first, for a sweep of stale ones. */
struct tid_cache_entry *tid_cache_idle_next(struct tid_cache *c,
					    struct tid_cache_entry *after);

#endif /* PSM_SHIM_TID_CACHE_H */
