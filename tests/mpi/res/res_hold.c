// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * res_hold INDEX: on the uverbs device at INDEX, makes a PD, a 64 KiB MR
 * and a CQ, gets an sdma.opa driver-ops fd and binds the MR to it, says
 * "ready ..." and holds them until its stdin closes: what `rdma res show`
 * must list for our devices (rdma_res.sh).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdma/drvops_hfi.h>

#include "drvops.h"

#define MR_LEN 65536

static int fail(const char *what, int err)
{
	fprintf(stderr, "res_hold: %s: %s\n", what, strerror(-err));
	return 1;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { DRVOPS_HFI_NAME };
	uint32_t pd, mr, lkey, rkey, cq, binding;
	void *buf = aligned_alloc(4096, MR_LEN);
	int ufd, fd, ret;
	char c;

	if (argc != 2 || !buf)
		return 2;
	memset(buf, 0, MR_LEN);
	ufd = drvops_open_index((unsigned)atoi(argv[1]));
	if (ufd < 0)
		return fail("open", ufd);
	ret = drvops_alloc_pd(ufd, &pd);
	if (ret)
		return fail("alloc_pd", ret);
	ret = drvops_reg_mr(ufd, pd, buf, MR_LEN,
			    IB_UVERBS_ACCESS_LOCAL_WRITE, &mr, &lkey, &rkey);
	if (ret)
		return fail("reg_mr", ret);
	ret = drvops_create_cq(ufd, 16, &cq);
	if (ret)
		return fail("create_cq", ret);
	fd = drvops_get_fd(ufd, names, 1, 1, UINT32_MAX, 0, NULL, NULL);
	if (fd < 0)
		return fail("get_fd", fd);
	ret = drvops_bind(ufd, fd, DRVOPS_OBJ_MR, mr, &binding);
	if (ret)
		return fail("bind", ret);
	printf("ready pid %d pd %u mr %u lkey %#x cq %u\n", (int)getpid(), pd,
	       mr, lkey, cq);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
