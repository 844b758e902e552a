// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Host tests of the shared-memory transport (src/shm_transport.c) with the
 * MQ engine: two endpoints of one job in this process, each with its inbox
 * in /dev/shm; eager messages through the ring, rendezvous payload written
 * into the receiver's window by process_vm_writev, 0 B .. 16 MiB with data
 * checks, both ways at once, a full ring, and nothing left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "loopback.h"
#include "mq_check.h"
#include "shm_inbox.h"
#include "shm_transport.h"

static char job[32];
static struct shm_transport *ta, *tb;
static psm2_mq_t mqa, mqb;
static psm2_epaddr_t to_b, to_a;
static psm2_mq_t progress[3];


static int setup(void)
{
	snprintf(job, sizeof(job), "test%d", (int)getpid());
	ta = shm_transport_create(job, 1);
	tb = shm_transport_create(job, 2);
	if (!ta || !tb ||
	    shim_mq_create(NULL, NULL, shm_transport_ops(ta), ta, NULL, &mqa) ||
	    shim_mq_create(NULL, NULL, shm_transport_ops(tb), tb, NULL, &mqb))
		return -1;
	shm_transport_set_mq(ta, mqa);
	shm_transport_set_mq(tb, mqb);
	to_b = shm_transport_peer(ta, 2);
	to_a = shm_transport_peer(tb, 1);
	progress[0] = mqa;
	progress[1] = mqb;
	mq_check_set(progress);
	return to_a && to_b ? 0 : -1;
}

static int teardown(void)
{
	shim_mq_destroy(mqa);
	shim_mq_destroy(mqb);
	shm_transport_destroy(ta);
	shm_transport_destroy(tb);
	return 0;
}

/* from sends len bytes to `to` (any source); both finish, data equal. */
static void exchange(psm2_mq_t from, psm2_epaddr_t dest, psm2_mq_t to,
		     uint32_t len, uint32_t tag)
{
	mq_check_exchange(from, dest, to, PSM2_MQ_ANY_ADDR, len, tag);
}

static void test_sizes(void)
{
	static const uint32_t sizes[] = { 0, 1, 4096, 65535, 65536, 65537,
					  200000, 1 << 20, (3 << 20) + 5,
					  16 << 20 };

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		exchange(mqa, to_b, mqb, sizes[i], i);
		exchange(mqb, to_a, mqa, sizes[i], 100 + i);
	}
	/* Rendezvous payload went by CMA, not through the ring. */
	CU_ASSERT(shm_transport_cma_bytes(ta) >= 16u << 20);
	CU_ASSERT(shm_transport_cma_bytes(tb) >= 16u << 20);
}

/* More eager messages than the ring holds, before anyone receives. */
static void test_full_ring(void)
{
	enum { N = 3 * SHM_SLOTS };
	psm2_mq_req_t s[N], r[N];
	psm2_mq_status2_t st;
	uint32_t out[N], in[N];
	psm2_mq_tag_t t = lb_tag(77, 0, 0);
	int i;

	for (i = 0; i < N; i++) {
		out[i] = (uint32_t)i * 3;
		CU_ASSERT_EQUAL(psm2_mq_isend2(mqa, to_b, 0, &t, &out[i], 4,
					       NULL, &s[i]), PSM2_OK);
	}
	for (i = 0; i < N; i++)
		CU_ASSERT_EQUAL(psm2_mq_irecv2(mqb, to_a, &t,
					       (psm2_mq_tag_t *)&lb_all_bits, 0,
					       &in[i], 4, NULL, &r[i]), PSM2_OK);
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(mq_check_finish(&r[i], &st), PSM2_OK);
		CU_ASSERT_EQUAL(in[i], out[i]);	/* in order */
		CU_ASSERT_EQUAL(mq_check_finish(&s[i], &st), PSM2_OK);
	}
}

/* The inbox is taken while it lives, and gone with its transport. */
static void test_inbox_lifetime(void)
{
	struct shm_transport *t = shm_transport_create(job, 9), *again;
	char name[96];
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	again = shm_transport_create(job, 9);
	CU_ASSERT_PTR_NULL(again);
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_PTR_NULL(shm_transport_peer(ta, 10));	/* nobody there */
	shm_transport_destroy(t);
	snprintf(name, sizeof(name), "/psm2-shim.%s.%016llx", job, 9ull);
	fd = shm_open(name, O_RDONLY, 0);
	CU_ASSERT(fd < 0 && errno == ENOENT);
	if (fd >= 0)
		close(fd);

	/* Created but not sized yet (a peer starting up): not there. */
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_PTR_NULL(shm_transport_peer(ta, 9));
	close(fd);
	shm_unlink(name);
}

/* Inbox `id` of our job mapped as a peer sees it (NULL on failure). */
static struct shm_inbox *map_inbox(uint64_t id)
{
	char name[96];
	void *p;
	int fd;

	snprintf(name, sizeof(name), "/psm2-shim.%s.%016llx", job,
		 (unsigned long long)id);
	fd = shm_open(name, O_RDWR, 0);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, sizeof(struct shm_inbox), PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * An inbox made in another pid namespace (a container sharing /dev/shm
 * but not pids): its owner pid means another process here, so CMA into
 * it would write into a stranger. It is not a local peer.
 */
static void test_other_pid_namespace(void)
{
	struct shm_transport *t = shm_transport_create(job, 30);
	struct shm_inbox *box = map_inbox(30);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(box);
	box->pidns_ino ^= 1;
	CU_ASSERT_PTR_NULL(shm_transport_peer(ta, 30));
	box->pidns_ino ^= 1;
	CU_ASSERT_PTR_NOT_NULL(shm_transport_peer(ta, 30));
	munmap(box, sizeof(*box));
	shm_transport_destroy(t);
}

/*
 * A peer killed with SIGKILL leaves its inbox behind; once the ring is
 * full it never drains: sends fail with EHOSTUNREACH instead of waiting
 * for ever. A live owner that is only slow: EAGAIN, try again.
 */
static void test_dead_owner(void)
{
	struct shm_transport *t = shm_transport_create(job, 31);
	struct shm_inbox *box = map_inbox(31);
	const struct shim_transport_ops *ops = shm_transport_ops(ta);
	uint8_t hdr[SHIM_WIRE_HDR_BYTES] = { 0 };
	psm2_epaddr_t p;
	pid_t gone;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(box);
	p = shm_transport_peer(ta, 31);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (i = 0; i < SHM_SLOTS; i++)
		CU_ASSERT_EQUAL(ops->send_eager(ta, p, hdr, NULL, 0, NULL), 0);
	CU_ASSERT_EQUAL(ops->send_eager(ta, p, hdr, NULL, 0, NULL), -EAGAIN);
	gone = fork();
	if (gone == 0)
		_exit(0);
	CU_ASSERT_FATAL(gone > 0);
	waitpid(gone, NULL, 0);
	box->owner = gone;
	CU_ASSERT_EQUAL(ops->send_eager(ta, p, hdr, NULL, 0, NULL),
			-EHOSTUNREACH);
	CU_ASSERT_EQUAL(ops->send_expected(ta, p, 0, 0, hdr, NULL, 0, NULL),
			-EHOSTUNREACH);
	munmap(box, sizeof(*box));
	shm_transport_destroy(t);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("shm transport", setup, teardown);
	CU_add_test(s, "eager and rendezvous (CMA), 0 B .. 16 MiB, both ways",
		    test_sizes);
	CU_add_test(s, "more messages than the ring holds", test_full_ring);
	CU_add_test(s, "inbox taken while alive, gone after", test_inbox_lifetime);
	CU_add_test(s, "an inbox of another pid namespace is not a peer",
		    test_other_pid_namespace);
	CU_add_test(s, "a full inbox whose owner died: EHOSTUNREACH",
		    test_dead_owner);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
