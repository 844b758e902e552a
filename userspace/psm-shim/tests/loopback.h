/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * An in-memory fabric for host tests: n endpoints in one process, each
 * with its MQ, talking through a struct shim_transport_ops that behaves
 * like the HFI (eager messages whole into the receiver's queue, expected
 * sends straight into registered buffers, completions reported on the
 * next poll) and can misbehave on demand (busy wire, reordering, no
 * expected receive like the legacy ABI).
 */
#ifndef PSM_SHIM_LOOPBACK_H
#define PSM_SHIM_LOOPBACK_H

#include <stdbool.h>
#include <stddef.h>

#include "mq.h"

#define LB_MAX_EPS 4

/* A 96-bit tag of three words, and the selector matching all of them. */
static inline psm2_mq_tag_t lb_tag(uint32_t a, uint32_t b, uint32_t c)
{
	psm2_mq_tag_t t = { .tag = { a, b, c, 0 } };

	return t;
}

static const psm2_mq_tag_t lb_all_bits = { .tag = { ~0u, ~0u, ~0u, 0 } };

struct lb_options {
	size_t eager_max;	/* 0: 64 KiB like the HFI's eager_max */
	size_t register_max;	/* 0: 64 MiB like the HFI's largest tid */
	unsigned max_handles;	/* 0: 32 */
	bool no_expected;	/* legacy psm2.intel.com: eager only */
	bool reorder;		/* deliver each pair of packets swapped */
	unsigned busy_every;	/* every n-th send fails with -EAGAIN */
};

struct lb_fabric;

struct lb_fabric *lb_create(int n, const struct lb_options *opt,
			    const struct shim_mq_config *cfg);
void lb_destroy(struct lb_fabric *fab);
psm2_mq_t lb_mq(struct lb_fabric *fab, int ep);
/*
 * Endpoint ep closed and reopened at the same address: a new MQ stamping
 * generation gen, knowing nothing of its peers; what it had sent is still
 * on the wire. 0 or -1.
 */
int lb_restart(struct lb_fabric *fab, int ep, uint16_t gen);
/* Endpoint ep's address of endpoint peer. */
psm2_epaddr_t lb_peer(struct lb_fabric *fab, int ep, int peer);
/* Progress every endpoint once; >0 if anything moved. */
int lb_progress(struct lb_fabric *fab);
/* Registered buffers still held by ep (leak check). */
unsigned lb_handles_in_use(struct lb_fabric *fab, int ep);
/* Most registered buffers ep held at once. */
unsigned lb_handles_peak(struct lb_fabric *fab, int ep);

#endif /* PSM_SHIM_LOOPBACK_H */
