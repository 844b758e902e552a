/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The library's thread safety, as Intel's PSM2 gives it: every entry point
 * may be called from any thread. One lock per endpoint covers the
 * endpoint, its MQ and its transport; every psm2_* call holds it, so
 * progress runs in one thread at a time. The lock is recursive because
 * the library calls back into the application with it held (the status
 * callback of psm2_mq_ipeek_dequeue_multi, active-message handlers), and
 * those may call the library.
 *
 * A blocking call (psm2_mq_wait, psm2_mq_send, ...) that has nothing to do
 * sleeps on the device with the lock released, so other threads go on.
 * Only one thread sleeps there; the others wait until it is back (it may
 * have completed their requests too), then make progress themselves.
 * While a thread is inside the library it cannot be cancelled
 * (pthread_cancel takes effect once it has left).
 */
#ifndef PSM_SHIM_LOCK_H
#define PSM_SHIM_LOCK_H

#include <pthread.h>
#include <stdbool.h>

struct shim_lock {
	pthread_mutex_t mutex;		/* recursive */
	unsigned depth;			/* holds by the owner */
	pthread_cond_t woke;		/* the sleeper is back */
	bool sleeping;			/* a thread sleeps on the device */
	bool shared;			/* two threads have used it at once */
};

int shim_lock_init(struct shim_lock *l);
void shim_lock_destroy(struct shim_lock *l);
void shim_lock(struct shim_lock *l);
void shim_unlock(struct shim_lock *l);
/* Let other threads run: with l released if held once. */
void shim_lock_yield(struct shim_lock *l);
/* The same without giving up the CPU (a polling wait between rounds). */
void shim_lock_relax(struct shim_lock *l);

/*
 * Called with l held once, when a blocking call has nothing to do. Either
 * sleeps in sleep(arg, timeout_ms) with l released (the caller's wait on
 * the device), or, if another thread already sleeps there, waits for that
 * one to come back. Once the lock has been shared between threads the
 * sleep is capped at a few milliseconds: another thread's progress may
 * complete what this one waits for without waking the device. Returns
 * sleep's result, or 0. Held more than once (from a callback), it does
 * not sleep at all.
 */
int shim_lock_sleep(struct shim_lock *l, int (*sleep)(void *arg, int ms),
		    void *arg, int timeout_ms);

#endif /* PSM_SHIM_LOCK_H */
