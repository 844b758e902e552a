/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Small generic helpers for suites that create many fds and need to prove
 * they leak none: fd counting, fd tracking for test teardown, the broker's
 * debugfs counters, and pointers that fault.
 *
 * Like the rest of testlib, helpers return 0 / a count / an fd, or a
 * negative errno.
 */
#ifndef DRVOPS_TL_FDS_H
#define DRVOPS_TL_FDS_H

#include <stdbool.h>
#include <stddef.h>

/* Entries of /proc/self/fd, not counting the one used to list it. */
int tl_count_open_fds(void);

/*
 * fd tracking: tl_track_fd(fd) remembers fd (if >= 0) and returns it
 * unchanged; tl_close_fd(fd) closes and forgets it; tl_close_tracked()
 * closes every fd still remembered, in reverse order, and returns how
 * many it closed. Use tl_close_tracked() as the CUnit test teardown so
 * that a failing (fatal) assert leaks nothing into later tests.
 */
int tl_track_fd(int fd);
int tl_close_fd(int fd);
int tl_close_tracked(void);

/*
 * An address whose every byte faults: the start of a PROT_NONE page that
 * stays reserved for the life of the process, so nothing is ever mapped
 * there (an address that was munmap()ed could be reused by malloc).
 * NULL if mmap failed.
 */
void *tl_fault_ptr(void);

/*
 * Pointer to the last n bytes (n <= page size) of a readable and writable
 * page that is followed by a PROT_NONE page: accessing byte n and beyond
 * faults. The page is reserved for the process; its n bytes are zeroed on
 * every call. NULL if mmap failed.
 */
void *tl_page_end_ptr(size_t n);

/* Does fd show in /proc as a driver-ops fd ("anon_inode:[drvops]")? */
bool tl_is_drvops_fd(int fd);

#endif /* DRVOPS_TL_FDS_H */
