/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Helpers for tests that involve other processes, signals and fd passing. */
#ifndef DRVOPS_TL_PROC_H
#define DRVOPS_TL_PROC_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * In a forked child, which reports through its exit code: return check
 * number n (and say why on stderr) unless cond holds.
 */
#define TL_CHILD_CHECK(n, cond)                                             \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "  check %d failed: %s (errno %s)\n", \
				(n), #cond, strerror(errno));               \
			return (n);                                         \
		}                                                           \
	} while (0)

/* 0 if the 32-bit word at p can be read, else the signal reading raised. */
int tl_probe_read(const volatile void *p);
/* Pages of [p, p + len) mapped in this process (pagemap), or -errno. */
int tl_pages_present(const void *p, size_t len);

/* Pass fd over a unix socket (SCM_RIGHTS): 0 or -errno. */
int tl_send_fd(int sock, int fd);
/* The fd received, or -1 (none came, e.g. refused or truncated). */
int tl_recv_fd(int sock);

#endif /* DRVOPS_TL_PROC_H */
