// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* fd counting and tracking, debugfs counters, faulting pointers. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tl_fds.h"

int tl_count_open_fds(void)
{
	struct dirent *de;
	int n = 0, self;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	self = dirfd(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (atoi(de->d_name) == self)
			continue;
		n++;
	}
	closedir(d);
	return n;
}

#define TL_MAX_TRACKED 256

static int tracked[TL_MAX_TRACKED];
static unsigned num_tracked;

int tl_track_fd(int fd)
{
	if (fd >= 0 && num_tracked < TL_MAX_TRACKED)
		tracked[num_tracked++] = fd;
	return fd;
}

int tl_close_fd(int fd)
{
	unsigned i;

	if (fd < 0)
		return -EBADF;
	for (i = num_tracked; i-- > 0;) {
		if (tracked[i] == fd) {
			memmove(&tracked[i], &tracked[i + 1],
				(num_tracked - i - 1) * sizeof(tracked[0]));
			num_tracked--;
			break;
		}
	}
	return close(fd) ? -errno : 0;
}

int tl_close_tracked(void)
{
	int n = 0;

	while (num_tracked) {
		close(tracked[--num_tracked]);
		n++;
	}
	return n;
}

void *tl_fault_ptr(void)
{
	static void *page;

	if (!page) {
		void *p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return NULL;
		page = p;
	}
	return page;
}

void *tl_page_end_ptr(size_t n)
{
	static char *pages;
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);

	if (n > psz)
		return NULL;
	if (!pages) {
		void *p = mmap(NULL, 2 * psz, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return NULL;
		if (mprotect((char *)p + psz, psz, PROT_NONE)) {
			munmap(p, 2 * psz);
			return NULL;
		}
		pages = p;
	}
	memset(pages + psz - n, 0, n);
	return pages + psz - n;
}

bool tl_is_drvops_fd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[drvops]");
}
