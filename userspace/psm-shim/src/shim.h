/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* What every file of the library shares. */
#ifndef PSM_SHIM_SHIM_H
#define PSM_SHIM_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <psm2.h>

/*
 * The library is built with -fvisibility=hidden: only definitions marked
 * SHIM_API (the PSM2 calls) are exported, all at version PSM2_1.0.
 */
#define SHIM_API __attribute__((visibility("default")))

/*
 * Report err for ep (NULL: no endpoint) through the error handler that
 * applies, and return what the caller must return: the handler's verdict.
 * PSM2_OK and the "nothing yet" codes are never reported.
 */
psm2_error_t shim_report(psm2_ep_t ep, psm2_error_t err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * PSM2_SHIM_DEBUG set (not "0"): the library explains on stderr why a
 * request ended with an error (the errno behind the PSM2 code), because
 * an MPI shows only its own code for it (Open MPI: MPI_ERR_INTERN).
 */
/*
 * The environment variable name as a number (decimal, 0x hex, 0 octal) in
 * [min, max]: true and *out; false when unset or unreadable.
 */
bool shim_env_number(const char *name, uint64_t min, uint64_t max,
		     uint64_t *out);
/*
 * A positive number from the environment variable name times scale into
 * *out; *out stays as it is when the variable is unset, 0 or unreadable.
 */
void shim_env_u64(const char *name, uint64_t *out, uint64_t scale);
bool shim_debug_enabled(void);
void shim_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC in ns: deadlines and spin budgets. */
static inline uint64_t shim_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* psm2_init has been called (and not undone by psm2_finalize). */
bool shim_initialized(void);

/* The handler an endpoint inherits when it opens (set with ep == NULL). */
psm2_ep_errhandler_t shim_global_errhandler(void);

#endif /* PSM_SHIM_SHIM_H */
