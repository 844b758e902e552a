// SPDX-License-Identifier: GPL-2.0
/*
 * PSM2 ping-pong latency/bandwidth straight over our libpsm2.so.2 (no MPI),
 * for tests/mpi/bench/run.sh:
 *   psm2_pingpong [UNIT0 [UNIT1 [wait|spin]]]
 * rank 0 on UNIT0 (default 0) forks rank 1 on UNIT1 (default 1); epids are
 * swapped through pipes; then half a round trip per message, tagged:
 *   wait  psm2_mq_send2 (blocking) and irecv2 + wait2: the library's
 *         blocking wait, which polls for PSM2_SHIM_SPIN_US, then sleeps in
 *         poll() on the context fd
 *   spin  isend2/irecv2, then psm2_poll + psm2_mq_test2 in a loop, the way
 *         Open MPI's psm2 MTL progresses (default)
 * Method and output: bench/pingpong.h. First and last byte of every
 * message are checked.
 *
 * Built on the host against build/psm-shim/libpsm2.so.2 with the shim's
 * headers (tests/mpi/Makefile); in the guest it needs
 * LD_LIBRARY_PATH=$DRVOPS_PSM2_DIR.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <psm2.h>
#include <psm2_mq.h>

#include "pingpong.h"

#define TIMEOUT_NS (60ll * 1000 * 1000 * 1000)

static psm2_ep_t ep;
static psm2_mq_t mq;
static psm2_epaddr_t peer;
static char *sbuf, *rbuf;
static int me, bad, spin = 1;
static psm2_uuid_t uuid;		/* the job's: both ranks' */

static int die(const char *what, psm2_error_t err)
{
	fprintf(stderr, "psm2_pingpong rank %d: %s: %s\n", me, what,
		psm2_error_get_string(err));
	exit(1);
}

/* spin: progress and test until req completes; its status. */
static void spin_done(psm2_mq_req_t *req, psm2_mq_status2_t *st)
{
	psm2_error_t err;

	for (;;) {
		err = psm2_poll(ep);
		if (err != PSM2_OK && err != PSM2_OK_NO_PROGRESS)
			die("poll", err);
		err = psm2_mq_test2(req, st);
		if (err == PSM2_OK)
			return;
		if (err != PSM2_MQ_NO_COMPLETIONS)
			die("test2", err);
	}
}

static void xfer_send(size_t size, uint32_t tag)
{
	psm2_mq_tag_t t = { .tag = { tag, 0, 0 } };
	psm2_mq_status2_t st;
	psm2_mq_req_t req;
	psm2_error_t err;

	if (!spin) {
		err = psm2_mq_send2(mq, peer, 0, &t, sbuf, (uint32_t)size);
		if (err != PSM2_OK)
			die("send2", err);
		return;
	}
	err = psm2_mq_isend2(mq, peer, 0, &t, sbuf, (uint32_t)size, NULL,
			     &req);
	if (err != PSM2_OK)
		die("isend2", err);
	spin_done(&req, &st);
	if (st.error_code != PSM2_OK)
		die("isend2 completion", st.error_code);
}

static void xfer_recv(size_t size, uint32_t tag)
{
	psm2_mq_tag_t t = { .tag = { tag, 0, 0 } };
	psm2_mq_tag_t sel = { .tag = { ~0u, ~0u, ~0u } };
	psm2_mq_status2_t st;
	psm2_mq_req_t req;
	psm2_error_t err;

	err = psm2_mq_irecv2(mq, peer, &t, &sel, 0, rbuf, (uint32_t)size,
			     NULL, &req);
	if (err != PSM2_OK)
		die("irecv2", err);
	if (spin) {
		spin_done(&req, &st);
		err = PSM2_OK;
	} else {
		err = psm2_mq_wait2(&req, &st);
	}
	if (err != PSM2_OK || st.error_code != PSM2_OK || st.nbytes != size)
		die("receive", err ? err : st.error_code);
}

static double round_trips(size_t size, unsigned n)
{
	double t0 = pp_now_ns();

	for (unsigned i = 0; i < n; i++) {
		if (me == 0) {
			sbuf[0] = (char)i;
			sbuf[size - 1] = (char)(i + 1);
			xfer_send(size, 1);
			xfer_recv(size, 2);
			if (rbuf[0] != (char)i ||
			    rbuf[size - 1] != (char)(i + 1))
				bad++;
		} else {
			xfer_recv(size, 1);
			sbuf[0] = rbuf[0];
			sbuf[size - 1] = rbuf[size - 1];
			xfer_send(size, 2);
		}
	}
	return pp_now_ns() - t0;
}

static void rank_main(int rank, int unit, int wfd, int rfd)
{
	int major = PSM2_VERNO_MAJOR, minor = PSM2_VERNO_MINOR;
	struct psm2_ep_open_opts opts;
	psm2_epid_t epid, peer_epid;
	psm2_error_t err, perr;

	me = rank;
	if ((err = psm2_init(&major, &minor)) != PSM2_OK)
		die("psm2_init", err);
	psm2_ep_open_opts_get_defaults(&opts);
	opts.unit = unit;
	if ((err = psm2_ep_open(uuid, &opts, &ep, &epid)) != PSM2_OK)
		die("ep_open", err);
	if (write(wfd, &epid, sizeof(epid)) != sizeof(epid) ||
	    pp_read_full(rfd, &peer_epid, sizeof(peer_epid))) {
		fprintf(stderr, "psm2_pingpong rank %d: epid exchange\n", me);
		exit(1);
	}
	err = psm2_ep_connect(ep, 1, &peer_epid, NULL, &perr, &peer,
			      TIMEOUT_NS);
	if (err != PSM2_OK || perr != PSM2_OK)
		die("connect", err ? err : perr);
	if ((err = psm2_mq_init(ep, PSM2_MQ_ORDERMASK_ALL, NULL, 0, &mq)))
		die("mq_init", err);
	sbuf = malloc(PP_MAX_SIZE);
	rbuf = malloc(PP_MAX_SIZE);
	if (!sbuf || !rbuf)
		die("malloc", PSM2_NO_MEMORY);
	memset(sbuf, 1, PP_MAX_SIZE);
	memset(rbuf, 0, PP_MAX_SIZE);

	if (pp_run_sizes(me, round_trips, pp_share_n_pipes,
			 &(struct pp_pipes){ me, wfd, rfd }))
		die("round length exchange", PSM2_INTERNAL_ERR);

	psm2_mq_finalize(mq);
	psm2_ep_close(ep, PSM2_EP_CLOSE_GRACEFUL, TIMEOUT_NS);
	psm2_finalize();
}

int main(int argc, char **argv)
{
	int unit0 = argc > 1 ? atoi(argv[1]) : 0;
	int unit1 = argc > 2 ? atoi(argv[2]) : 1;

	if (argc > 3 && strcmp(argv[3], "wait") == 0)
		spin = 0;
	else if (argc > 3 && strcmp(argv[3], "spin") != 0) {
		fprintf(stderr, "usage: psm2_pingpong [UNIT0 [UNIT1 [wait|spin]]]\n");
		return 2;
	}
	psm2_uuid_generate(uuid);
	return pp_two_ranks(rank_main, unit0, unit1, "psm2_pingpong", &bad);
}
