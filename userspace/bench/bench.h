/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * drvops-bench: shared declarations.
 *
 * A measurement family (null.c, copy.c, pingpong.c, ...) is one file with
 * one struct bench_family: it sets up what it measures, calls
 * bench_run_set() once per point (e.g. per size) with every method as a
 * case, and tears down. bench_run_set() does the warm-up, calibration and
 * interleaved repetitions and hands the medians to the report (report.c),
 * which prints the tables and the CSV. A new family is
 * a new file plus one line in main.c.
 */
#ifndef DRVOPS_BENCH_H
#define DRVOPS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bench_opts {
	unsigned int reps;	/* timed repetitions; the median is reported */
	double rep_ms;		/* target length of one repetition */
	double warmup_ms;	/* least time spent before the first repetition */
	size_t max_bytes;	/* largest transfer of the size sweeps */
	const char *methods;	/* -M: only these method ids (NULL: all) */
};

struct bench_family {
	const char *name;	/* CSV "family" column and -f selector */
	const char *title;	/* table heading */
	/* Method the "x ref" ratios divide by, or NULL. */
	const char *ref;
	/* 0 or -errno; failures are also reported as rows with an error. */
	int (*run)(const struct bench_family *fam, const struct bench_opts *o);
};

/* Run the operation iters times; 0 or -errno. */
typedef int (*bench_fn)(void *ctx, unsigned long iters);

struct bench_result {
	const char *method;	/* short id: CSV and matrix column heading */
	const char *label;	/* what it is, for people */
	size_t bytes;		/* payload of one op; 0: none */
	double ns;		/* median ns per op */
	double ns_min;
	double ns_max;
	unsigned long iters;	/* ops per repetition */
	unsigned int reps;
	int err;		/* 0, or -errno: not measured */
};

/* One method at one point of a family, measured next to the others. */
struct bench_case {
	const char *method;
	const char *label;
	size_t bytes;
	bench_fn fn;
	void *ctx;
	/* Reported ops per op of fn: 2 for a round trip shown as one way. */
	unsigned int div;
	/* In: not measurable (-errno, e.g. its set-up failed); out: error. */
	int err;
};

/*
 * Measure cases side by side and add one result per case to the report:
 * each is calibrated (this is its warm-up), then reps rounds run every
 * case once, in an order rotating by round, so that a slow drift of the
 * machine (frequent under TCG) hits every case alike. Returns 0 or the
 * first -errno.
 */
int bench_run_set(const struct bench_family *fam, const struct bench_opts *o,
		  struct bench_case *cases, unsigned int n);
/* Is name in the comma-separated list? (A NULL list has everything.) */
bool bench_selected(const char *list, const char *name);
/* A set of one. */
int bench_run(const struct bench_family *fam, const struct bench_opts *o,
	      const char *method, const char *label, size_t bytes,
	      bench_fn fn, void *ctx, unsigned int div);
/* A row saying method could not be measured at all. */
void bench_fail(const struct bench_family *fam, const char *method,
		const char *label, size_t bytes, int err);

/* Sizes of the copy sweeps: 8 B, 64 B, then powers of 4 up to max. */
unsigned int bench_sizes(size_t max, size_t *sizes, unsigned int n);
/* "8 B", "4 KiB", "1 MiB"; buf of at least 16 bytes. */
const char *bench_fmt_size(size_t bytes, char *buf, size_t len);

/* report.c */
void report_add(const struct bench_family *fam, const struct bench_result *r);
void report_table(FILE *out);
void report_csv(FILE *out);
/* Rows with an error. */
unsigned int report_errors(void);
/* The measured row of family/method at bytes, or NULL. */
const struct bench_result *report_find(const char *family,
				       const char *method, size_t bytes);

/* The i-th result (in measuring order) and its family, or NULL. */
const struct bench_result *report_row(unsigned int i, const char **family);

/*
 * main.c: where peer processes run. By default the measuring process is
 * on CPU 0 and every peer it forks (the receiver, the echo, the CMA
 * target) calls bench_place_peer() to move to CPU 1, as an MPI launcher
 * binds two ranks to two cores: left to the scheduler, the pair was placed
 * differently from boot to boot and the stream rates moved 2 to 4 times.
 */
void bench_place_peer(void);

/* goals.c: the fast-path goals as ratios of this run, after the tables. */
void goals_report(FILE *out);

/* targets.c: the devices measured, shared by the families. */
struct bench_generic {
	int uverbs_fd;
	int fd;			/* driver-ops fd, copy.generic v2 */
	char ibdev[64];
	void *ring;		/* completion ring, mapped */
	size_t ring_len;
	uint32_t ring_mask;
	uint32_t cons;
};

/* First device offering copy.generic v2, with a completion ring. */
int bench_generic_open(struct bench_generic *g);
/* Consume every completion posted; -errno of a failed one. */
int bench_generic_reap(struct bench_generic *g);
void bench_generic_close(struct bench_generic *g);
/* open(DRVOPS_MISCBENCH_DEV); fd or -errno. */
int bench_misc_open(void);

struct drvops_hfi_ctx;
/*
 * A context on the n-th unit offering sdma.opa (v2 or later), own uverbs fd,
 * job key of the benchmark. bench_hfi_close closes both fds.
 */
int bench_hfi_open(struct drvops_hfi_ctx *h, unsigned int n);
void bench_hfi_close(struct drvops_hfi_ctx *h);

extern const struct bench_family bench_null_family;
extern const struct bench_family bench_copy_family;
extern const struct bench_family bench_pingpong_family;
extern const struct bench_family bench_hfi_family;
extern const struct bench_family bench_msgrate_family;

#endif /* DRVOPS_BENCH_H */
