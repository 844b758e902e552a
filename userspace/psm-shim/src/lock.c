// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The endpoint lock (see lock.h). */
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "lock.h"

/* Longest device sleep once several threads use the endpoint. */
#define SHIM_SHARED_SLEEP_MS 2

/*
 * Inside the library a thread cannot be cancelled: libfabric stops its
 * progress thread with pthread_cancel, and writev() or poll() under (or in
 * the middle of) our calls would otherwise end it with a lock held or the
 * sleeper's place taken for good. Deferred to the caller's next
 * cancellation point.
 */
/*
 * Initial-exec: every call touches these, and the default model for a
 * shared library costs a __tls_get_addr() call each time (2 % of a
 * polling ping-pong's samples). Two words fit the static TLS that glibc
 * keeps for libraries loaded later (Open MPI dlopens its MTL).
 */
#define SHIM_TLS _Thread_local __attribute__((tls_model("initial-exec")))

static SHIM_TLS unsigned inside;
static SHIM_TLS int cancel_state;

static void enter_library(void)
{
	if (inside++ == 0)
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
}

static void leave_library(void)
{
	int unused;

	if (--inside == 0)
		pthread_setcancelstate(cancel_state, &unused);
}

int shim_lock_init(struct shim_lock *l)
{
	pthread_mutexattr_t a;
	int r;

	l->depth = 0;
	l->sleeping = false;
	l->shared = false;
	r = pthread_mutexattr_init(&a);
	if (r)
		return -r;
	r = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	if (!r)
		r = pthread_mutex_init(&l->mutex, &a);
	pthread_mutexattr_destroy(&a);
	if (r)
		return -r;
	r = pthread_cond_init(&l->woke, NULL);
	if (r) {
		pthread_mutex_destroy(&l->mutex);
		return -r;
	}
	return 0;
}

void shim_lock_destroy(struct shim_lock *l)
{
	pthread_cond_destroy(&l->woke);
	pthread_mutex_destroy(&l->mutex);
}

void shim_lock(struct shim_lock *l)
{
	enter_library();
	/* Busy means another thread has it (ours would just recurse). */
	if (pthread_mutex_trylock(&l->mutex)) {
		pthread_mutex_lock(&l->mutex);
		l->shared = true;
	}
	if (l->sleeping)
		l->shared = true;
	l->depth++;
}

void shim_unlock(struct shim_lock *l)
{
	l->depth--;
	pthread_mutex_unlock(&l->mutex);
	leave_library();
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * Let other threads in: l released around it if held once (held more, from
 * a callback, it stays). yield_cpu: sched_yield(), else only a pause, for
 * a waiter the unlock woke to take the lock.
 */
static void let_others_in(struct shim_lock *l, bool yield_cpu)
{
	bool held_once = l->depth == 1;

	if (held_once) {
		l->depth = 0;
		pthread_mutex_unlock(&l->mutex);
	}
	if (yield_cpu)
		sched_yield();
	else
		cpu_relax();
	if (held_once) {
		pthread_mutex_lock(&l->mutex);
		l->depth = 1;
	}
}

void shim_lock_yield(struct shim_lock *l)
{
	let_others_in(l, true);
}

void shim_lock_relax(struct shim_lock *l)
{
	let_others_in(l, false);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += (long)ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

int shim_lock_sleep(struct shim_lock *l, int (*sleep)(void *arg, int ms),
		    void *arg, int timeout_ms)
{
	struct timespec ts;
	int r;

	if (l->depth != 1)
		return 0;
	if (l->shared &&
	    (timeout_ms < 0 || timeout_ms > SHIM_SHARED_SLEEP_MS))
		timeout_ms = SHIM_SHARED_SLEEP_MS;
	if (l->sleeping) {
		/* cond_wait releases the mutex: one level, which we hold. */
		deadline_in(&ts, timeout_ms < 0 ? SHIM_SHARED_SLEEP_MS :
						  timeout_ms);
		l->depth = 0;
		r = pthread_cond_timedwait(&l->woke, &l->mutex, &ts);
		l->depth = 1;
		return r && r != ETIMEDOUT ? -r : 0;
	}
	l->sleeping = true;
	l->depth = 0;
	pthread_mutex_unlock(&l->mutex);
	r = sleep(arg, timeout_ms);
	pthread_mutex_lock(&l->mutex);
	l->depth = 1;
	l->sleeping = false;
	pthread_cond_broadcast(&l->woke);
	return r;
}
