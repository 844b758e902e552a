/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * psm-shim: the matched queue (MQ) of the PSM2 interface, laid out as the
 * public PSM2 API (see psm2.h).
 *
 * A message carries a 96-bit tag. A receive names a tag and a selector
 * mask: it matches a message when every bit set in the mask is equal in
 * both tags, and the source is the one named (or PSM2_MQ_ANY_ADDR).
 * Receives match in the order they were posted; messages that arrive
 * before a matching receive wait in the unexpected queue in arrival
 * order; messages from one sender match in the order they were sent.
 */
#ifndef PSM2_MQ_H
#define PSM2_MQ_H

#include <psm2.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ignored: was an ordering mask; kept for the signature. */
psm2_error_t psm2_mq_init(psm2_ep_t ep, uint64_t ignored,
			  const struct psm2_optkey *opts, int numopts,
			  psm2_mq_t *mq);

#define PSM2_MQ_ORDERMASK_NONE 0ULL
#define PSM2_MQ_ORDERMASK_ALL 0xffffffffffffffffULL

psm2_error_t psm2_mq_finalize(psm2_mq_t mq);

/*
 * The 96-bit tag: three 32-bit words. The fourth array element only pads
 * the union to 16 bytes; it is never compared.
 */
#define PSM2_MQ_TAG_ELEMENTS 4
typedef union psm2_mq_tag {
	uint32_t tag[PSM2_MQ_TAG_ELEMENTS];
	struct {
		uint32_t tag0;
		uint32_t tag1;
		uint32_t tag2;
	};
} psm2_mq_tag_t;

/* Completion status of the 64-bit tag calls. */
typedef struct psm2_mq_status {
	uint64_t msg_tag;	/* the sender's tag */
	uint32_t msg_length;	/* the sender's length */
	uint32_t nbytes;	/* bytes delivered (<= msg_length) */
	psm2_error_t error_code; /* PSM2_OK, PSM2_MQ_TRUNCATION, ... */
	void *context;		/* the caller's pointer of the request */
} psm2_mq_status_t;

/* Completion status of the 96-bit tag calls (the "2" variants). */
typedef struct psm2_mq_status2 {
	psm2_epaddr_t msg_peer;	/* the other side */
	psm2_mq_tag_t msg_tag __attribute__((aligned(16)));
	uint32_t msg_length;
	uint32_t nbytes;
	psm2_error_t error_code;
	void *context;
} psm2_mq_status2_t;

/* An operation in flight. */
typedef struct psm2_mq_req *psm2_mq_req_t;

/*
 * The part of a request that psm2_mq_ipeek_dequeue_multi() hands to its
 * copy callback.
 */
struct psm2_mq_req_user {
	psm2_epaddr_t peer;
	psm2_mq_tag_t tag __attribute__((aligned(16)));
	psm2_mq_tag_t tagsel;
	uint8_t *buf;
	uint32_t buf_len;
	uint32_t error_code;
	uint32_t recv_msglen;
	uint32_t send_msglen;
	void *context;
	uint64_t user_reserved[4];
};

psm2_error_t psm2_mq_getopt(psm2_mq_t mq, int option, void *value);
psm2_error_t psm2_mq_setopt(psm2_mq_t mq, int option, const void *value);

/* Send flag: complete only once the receiver has matched the message. */
#define PSM2_MQ_FLAG_SENDSYNC 0x01

#define PSM2_MQ_REQINVALID ((psm2_mq_req_t)(NULL))
#define PSM2_MQ_ANY_ADDR ((psm2_epaddr_t)NULL)

/* psm2_mq_fp_msg(): which operation. */
enum psm2_mq_fp_op {
	PSM2_MQ_ISEND_FP = 1,
	PSM2_MQ_IRECV_FP,
};

psm2_error_t psm2_mq_fp_msg(psm2_ep_t ep, psm2_mq_t mq, psm2_epaddr_t addr,
			    psm2_mq_tag_t *tag, psm2_mq_tag_t *tagsel,
			    uint32_t flags, void *buf, uint32_t len,
			    void *context, enum psm2_mq_fp_op fp_type,
			    psm2_mq_req_t *req);

/* Post a receive. The 64-bit forms use tag words 0 and 1. */
psm2_error_t psm2_mq_irecv(psm2_mq_t mq, uint64_t rtag, uint64_t rtagsel,
			   uint32_t flags, void *buf, uint32_t len,
			   void *context, psm2_mq_req_t *req);
psm2_error_t psm2_mq_irecv2(psm2_mq_t mq, psm2_epaddr_t src,
			    psm2_mq_tag_t *rtag, psm2_mq_tag_t *rtagsel,
			    uint32_t flags, void *buf, uint32_t len,
			    void *context, psm2_mq_req_t *req);
/* Receive the message taken out of the queue by psm2_mq_improbe(). */
psm2_error_t psm2_mq_imrecv(psm2_mq_t mq, uint32_t flags, void *buf,
			    uint32_t len, void *context, psm2_mq_req_t *reqo);

/* Blocking sends: return once buf may be reused. */
psm2_error_t psm2_mq_send(psm2_mq_t mq, psm2_epaddr_t dest, uint32_t flags,
			  uint64_t stag, const void *buf, uint32_t len);
psm2_error_t psm2_mq_send2(psm2_mq_t mq, psm2_epaddr_t dest, uint32_t flags,
			   psm2_mq_tag_t *stag, const void *buf, uint32_t len);
/* Non-blocking sends: complete through test/wait/ipeek. */
psm2_error_t psm2_mq_isend(psm2_mq_t mq, psm2_epaddr_t dest, uint32_t flags,
			   uint64_t stag, const void *buf, uint32_t len,
			   void *context, psm2_mq_req_t *req);
psm2_error_t psm2_mq_isend2(psm2_mq_t mq, psm2_epaddr_t dest, uint32_t flags,
			    psm2_mq_tag_t *stag, const void *buf, uint32_t len,
			    void *context, psm2_mq_req_t *req);

/* Look into the unexpected queue without receiving. */
psm2_error_t psm2_mq_iprobe(psm2_mq_t mq, uint64_t rtag, uint64_t rtagsel,
			    psm2_mq_status_t *status);
psm2_error_t psm2_mq_iprobe2(psm2_mq_t mq, psm2_epaddr_t src,
			     psm2_mq_tag_t *rtag, psm2_mq_tag_t *rtagsel,
			     psm2_mq_status2_t *status);
/* Probe and take the message out of the queue (matched probe). */
psm2_error_t psm2_mq_improbe(psm2_mq_t mq, uint64_t rtag, uint64_t rtagsel,
			     psm2_mq_req_t *req, psm2_mq_status_t *status);
psm2_error_t psm2_mq_improbe2(psm2_mq_t mq, psm2_epaddr_t src,
			      psm2_mq_tag_t *rtag, psm2_mq_tag_t *rtagsel,
			      psm2_mq_req_t *reqo, psm2_mq_status2_t *status);

/* The oldest completed request, left in place for test/wait to free. */
psm2_error_t psm2_mq_ipeek(psm2_mq_t mq, psm2_mq_req_t *req,
			   psm2_mq_status_t *status);
psm2_error_t psm2_mq_ipeek2(psm2_mq_t mq, psm2_mq_req_t *req,
			    psm2_mq_status2_t *status);

typedef int (*psmi_mq_status_copy_user_t)(struct psm2_mq_req_user *req,
					  void *status_array, int entry_index);

psm2_error_t psm2_mq_ipeek_dequeue_multi(psm2_mq_t mq, void *status_array,
					 psmi_mq_status_copy_user_t status_copy,
					 int *count);
psm2_error_t psm2_mq_ipeek_dequeue(psm2_mq_t mq, psm2_mq_req_t *req);
psm2_error_t psm2_mq_req_free(psm2_mq_t mq, psm2_mq_req_t req);

/*
 * Completion. On PSM2_OK the request is freed and *request set to
 * PSM2_MQ_REQINVALID; the status (if not NULL) says how it ended.
 */
psm2_error_t psm2_mq_wait(psm2_mq_req_t *request, psm2_mq_status_t *status);
psm2_error_t psm2_mq_wait2(psm2_mq_req_t *request, psm2_mq_status2_t *status);
psm2_error_t psm2_mq_test(psm2_mq_req_t *request, psm2_mq_status_t *status);
psm2_error_t psm2_mq_test2(psm2_mq_req_t *request, psm2_mq_status2_t *status);

/*
 * Cancel a posted receive that has not matched yet: PSM2_OK (the request
 * then completes and must still be tested or waited for), or
 * PSM2_MQ_NO_COMPLETIONS if too late.
 */
psm2_error_t psm2_mq_cancel(psm2_mq_req_t *req);

/* Counters of one MQ. */
struct psm2_mq_stats {
	uint64_t rx_user_bytes;		/* into a matched user buffer */
	uint64_t rx_user_num;
	uint64_t rx_sys_bytes;		/* into a buffer of ours (unexpected) */
	uint64_t rx_sys_num;
	uint64_t tx_num;		/* every message sent */
	uint64_t tx_eager_num;
	uint64_t tx_eager_bytes;
	uint64_t tx_rndv_num;		/* rendezvous (expected receive) */
	uint64_t tx_rndv_bytes;
	uint64_t tx_shm_num;		/* intra-node (we have none) */
	uint64_t rx_shm_num;
	uint64_t rx_sysbuf_num;		/* buffers we allocated */
	uint64_t rx_sysbuf_bytes;
	uint64_t _reserved[16];		/* room to grow without a new ABI */
};
#define PSM2_MQ_NUM_STATS 13
typedef struct psm2_mq_stats psm2_mq_stats_t;

void psm2_mq_get_stats(psm2_mq_t mq, psm2_mq_stats_t *stats);

#ifdef __cplusplus
}
#endif

#endif /* PSM2_MQ_H */
