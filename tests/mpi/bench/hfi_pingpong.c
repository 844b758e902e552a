// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of the HFI methods of bench/run.sh: the same ping-pong
 * (pingpong.h) straight on two HFI contexts through libdrvops, no PSM2:
 *   hfi_pingpong [UNIT0 [UNIT1]]
 * rank 0 on the UNIT0-th sdma.opa unit forks rank 1 on the UNIT1-th one.
 * A message up to EAGER_MAX (psm-shim's rendezvous threshold) goes eager
 * (the receiver copies it out of its eager buffers); a larger one is one
 * expected send into a tid the receiver registered once over its buffer
 * (one copy): what psm-shim does on the wire, without its matching,
 * RTS/CTS and locking. Both sides busy-poll their receive queue, as
 * psm2_pingpong's spin mode does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drvops.h"
#include "hfictx.h"
#include "pingpong.h"

#define TIMEOUT_NS (60.0 * 1e9)
#define EAGER_MAX 8192	/* psm-shim's PSM2_MQ_RNDV_HFI_THRESH default */

static const uint8_t job_key[DRVOPS_HFI_JOB_KEY_LEN] = "hfi-pingpong-job";

static struct drvops_hfi_ctx h;
static uint8_t *sbuf, *rbuf;
static uint16_t peer_lid, peer_ctxt;
static uint32_t peer_tid;
static int me, bad;

static void die(const char *what, int err)
{
	fprintf(stderr, "hfi_pingpong rank %d: %s: %s\n", me, what,
		strerror(err < 0 ? -err : err));
	exit(1);
}

/* The n-th unit speaking sdma.opa 2 or later (the HFI's own devices). */
static int open_unit(unsigned int n)
{
	struct drvops_device_info devs[DRVOPS_MAX_DEVICES];
	int count = drvops_list_devices(devs, DRVOPS_MAX_DEVICES), i, fd;

	for (i = 0; i < count; i++) {
		fd = drvops_open_index(devs[i].index);
		if (fd < 0)
			continue;
		if (!drvops_hfi_open(&h, fd, job_key, 0)) {
			if (!h.legacy && h.version >= 2 && n-- == 0)
				return 0;
			drvops_hfi_close(&h);
		}
		close(fd);
	}
	return -ENODEV;
}

static void send_msg(size_t size)
{
	struct iovec iov = { sbuf, size };
	bool eager = size <= EAGER_MAX;
	int slot = drvops_hfi_send(&h, eager ? DRVOPS_HFI_OP_EAGER :
				   DRVOPS_HFI_OP_EXPECTED, peer_lid, peer_ctxt,
				   eager ? 0 : peer_tid, 0, NULL, &iov, 1);

	if (slot < 0)
		die("send", slot);
}

/* Poll until a whole message is in rbuf (eager: copied out of the ring). */
static void recv_msg(size_t size)
{
	double end = pp_now_ns() + TIMEOUT_NS;
	unsigned int spins = 0;

	for (;;) {
		const volatile struct drvops_hfi_rhq_entry *e =
			drvops_hfi_peek(&h);
		bool last;

		if (!e) {
			if (++spins % 65536 == 0 && pp_now_ns() > end)
				die("receive", ETIMEDOUT);
			continue;
		}
		if (e->msg_length != size || e->offset + e->length > size)
			die("receive: unexpected packet", EBADMSG);
		if ((e->flags & DRVOPS_HFI_RHQ_EAGER) && e->length)
			memcpy(rbuf + e->offset,
			       drvops_hfi_eager_payload(&h, e), e->length);
		last = e->flags & DRVOPS_HFI_RHQ_LAST;
		drvops_hfi_consume(&h, e);
		if (last)
			return;
	}
}

static double round_trips(size_t size, unsigned int n)
{
	double t0 = pp_now_ns();

	for (unsigned int i = 0; i < n; i++) {
		if (me == 0) {
			sbuf[0] = (char)i;
			sbuf[size - 1] = (char)(i + 1);
			send_msg(size);
			recv_msg(size);
			if (rbuf[0] != (uint8_t)i ||
			    rbuf[size - 1] != (uint8_t)(i + 1))
				bad++;
		} else {
			recv_msg(size);
			sbuf[0] = rbuf[0];
			sbuf[size - 1] = rbuf[size - 1];
			send_msg(size);
		}
	}
	return pp_now_ns() - t0;
}

/* What the other rank needs to reach us. */
struct addr {
	uint16_t lid, ctxt;
	uint32_t tid;
};

static void rank_main(int rank, int unit, int wfd, int rfd)
{
	struct addr mine, theirs;
	int ret;

	me = rank;
	sbuf = malloc(PP_MAX_SIZE);
	rbuf = malloc(PP_MAX_SIZE);
	if (!sbuf || !rbuf)
		die("malloc", ENOMEM);
	memset(sbuf, 1, PP_MAX_SIZE);
	memset(rbuf, 0, PP_MAX_SIZE);
	ret = open_unit((unsigned int)unit);
	if (ret)
		die("open unit", ret);
	ret = drvops_hfi_tid_register(&h, rbuf, PP_MAX_SIZE, &mine.tid);
	if (ret)
		die("tid_register (RLIMIT_MEMLOCK?)", ret);
	mine.lid = (uint16_t)h.info.lid;
	mine.ctxt = (uint16_t)h.info.ctxt;
	if (write(wfd, &mine, sizeof(mine)) != sizeof(mine) ||
	    pp_read_full(rfd, &theirs, sizeof(theirs)))
		die("address exchange", EPIPE);
	peer_lid = theirs.lid;
	peer_ctxt = theirs.ctxt;
	peer_tid = theirs.tid;

	if (pp_run_sizes(me, round_trips, pp_share_n_pipes,
			 &(struct pp_pipes){ me, wfd, rfd }))
		die("round length exchange", EPIPE);
	drvops_hfi_tid_free(&h, mine.tid);
	ret = h.uverbs_fd;
	drvops_hfi_close(&h);
	close(ret);
}

int main(int argc, char **argv)
{
	int unit0 = argc > 1 ? atoi(argv[1]) : 0;
	int unit1 = argc > 2 ? atoi(argv[2]) : 1;

	return pp_two_ranks(rank_main, unit0, unit1, "hfi_pingpong", &bad);
}
