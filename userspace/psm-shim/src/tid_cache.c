// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The registration cache's bookkeeping (see tid_cache.h). */
#include <stdlib.h>
#include <string.h>

#include "tid_cache.h"

static unsigned bucket_of(uintptr_t addr)
{
	uint64_t x = (uint64_t)addr;

	/* Buffers are often page-aligned: mix the bits above the page. */
	x ^= x >> 12;
	x *= 0x9e3779b97f4a7c15ull;
	return (unsigned)(x >> 56) % TID_CACHE_BUCKETS;
}

void tid_cache_init(struct tid_cache *c, unsigned max_idle,
		    uint64_t max_idle_bytes)
{
	memset(c, 0, sizeof(*c));
	shim_list_init(&c->idle);
	c->max_idle = max_idle;
	c->max_idle_bytes = max_idle_bytes;
}

void tid_cache_fini(struct tid_cache *c)
{
	unsigned i;

	for (i = 0; i <= DRVOPS_HFI_MAX_TIDS; i++)
		free(c->by_tid[i]);
	memset(c->by_tid, 0, sizeof(c->by_tid));
	memset(c->bucket, 0, sizeof(c->bucket));
	shim_list_init(&c->idle);
	c->nidle = 0;
	c->idle_bytes = 0;
}

static void unhash(struct tid_cache *c, struct tid_cache_entry *e)
{
	struct tid_cache_entry **pp = &c->bucket[bucket_of(e->addr)];

	if (!e->hashed)
		return;
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	e->hashed = false;
}

static void idle_del(struct tid_cache *c, struct tid_cache_entry *e)
{
	shim_list_del(&e->lru);
	c->nidle--;
	c->idle_bytes -= e->len;
}

/* Out of the cache altogether; the caller frees the tid. */
static void forget(struct tid_cache *c, struct tid_cache_entry *e)
{
	unhash(c, e);
	if (!e->refs)
		idle_del(c, e);
	c->by_tid[e->tid] = NULL;
	free(e);
}

struct tid_cache_entry *tid_cache_lookup(struct tid_cache *c,
					 const void *addr, uint64_t len)
{
	struct tid_cache_entry *e = c->bucket[bucket_of((uintptr_t)addr)];

	for (; e; e = e->hnext)
		if (e->addr == (uintptr_t)addr && e->len >= len)
			return e;
	return NULL;
}

void tid_cache_get(struct tid_cache *c, struct tid_cache_entry *e)
{
	if (!e->refs++)
		idle_del(c, e);
	c->stats.hits++;
}

bool tid_cache_drop_stale(struct tid_cache *c, struct tid_cache_entry *e)
{
	c->stats.stale++;
	if (e->refs) {
		unhash(c, e);		/* freed by the last tid_cache_put */
		return false;
	}
	forget(c, e);
	return true;
}

bool tid_cache_insert(struct tid_cache *c, const void *addr, uint64_t len,
		      uint32_t tid)
{
	struct tid_cache_entry *e;
	unsigned b = bucket_of((uintptr_t)addr);

	c->stats.misses++;
	if (tid > DRVOPS_HFI_MAX_TIDS || c->by_tid[tid])
		return false;
	e = calloc(1, sizeof(*e));
	if (!e)
		return false;
	e->addr = (uintptr_t)addr;
	e->len = len;
	e->tid = tid;
	e->refs = 1;
	e->hashed = true;
	e->hnext = c->bucket[b];
	shim_list_init(&e->lru);
	c->bucket[b] = e;
	c->by_tid[tid] = e;
	return true;
}

enum tid_cache_put tid_cache_put(struct tid_cache *c, uint32_t tid,
				 bool filled)
{
	struct tid_cache_entry *e =
		tid <= DRVOPS_HFI_MAX_TIDS ? c->by_tid[tid] : NULL;

	if (!e)
		return TID_CACHE_NOT_MINE;
	if (!filled)
		unhash(c, e);
	if (--e->refs)
		return TID_CACHE_KEPT;
	if (!e->hashed) {		/* went stale while in use */
		c->by_tid[tid] = NULL;
		free(e);
		return TID_CACHE_FREE;
	}
	shim_list_append(&c->idle, &e->lru);
	c->nidle++;
	c->idle_bytes += e->len;
	return TID_CACHE_KEPT;
}

bool tid_cache_evict(struct tid_cache *c, bool force, uint32_t *tid)
{
	struct tid_cache_entry *e;

	if (shim_list_empty(&c->idle) ||
	    (!force && c->nidle <= c->max_idle &&
	     c->idle_bytes <= c->max_idle_bytes))
		return false;
	e = shim_container_of(c->idle.next, struct tid_cache_entry, lru);
	*tid = e->tid;
	c->stats.evicted++;
	forget(c, e);
	return true;
}

struct tid_cache_entry *tid_cache_idle_next(struct tid_cache *c,
					    struct tid_cache_entry *after)
{
	struct shim_list *n = after ? after->lru.next : c->idle.next;

	return n == &c->idle ? NULL :
	       shim_container_of(n, struct tid_cache_entry, lru);
}
