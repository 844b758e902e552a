// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The timing harness: per case a warm-up and calibration (doubling the op
 * count until one call lasts a good part of a repetition), then reps
 * rounds in which every case runs its op count once, interleaved; the
 * median ns/op is the result, the minimum and maximum show the spread.
 * No timing is ever judged here.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define MAX_REPS 101
#define MAX_CASES 16

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Time one call of fn(iters): ns, or a negative errno. */
static double timed(bench_fn fn, void *ctx, unsigned long iters, int *err)
{
	double t0 = now_ns();

	*err = fn(ctx, iters);
	return now_ns() - t0;
}

/* Warm up and find how many ops make one repetition. */
static int calibrate(const struct bench_opts *o, const struct bench_case *c,
		     unsigned long *iters_out)
{
	double rep_ns = o->rep_ms * 1e6, t, spent = 0;
	unsigned long iters = 1;
	int err;

	for (;;) {
		t = timed(c->fn, c->ctx, iters, &err);
		if (err)
			return err;
		spent += t;
		if (t >= rep_ns / 2 && spent >= o->warmup_ms * 1e6)
			break;
		if (t < rep_ns / 2)
			iters *= 2;
	}
	iters = (unsigned long)(iters * rep_ns / (t > 1 ? t : 1));
	*iters_out = iters ? iters : 1;
	return 0;
}

static void result(const struct bench_case *c, double *per_op,
		   unsigned int reps, unsigned long iters,
		   struct bench_result *r)
{
	unsigned int div = c->div ? c->div : 1;

	r->method = c->method;
	r->label = c->label;
	r->bytes = c->bytes;
	r->err = c->err;
	if (c->err)
		return;
	qsort(per_op, reps, sizeof(per_op[0]), cmp_double);
	r->ns = (reps % 2 ? per_op[reps / 2] :
		 (per_op[reps / 2 - 1] + per_op[reps / 2]) / 2) / div;
	r->ns_min = per_op[0] / div;
	r->ns_max = per_op[reps - 1] / div;
	r->iters = iters * div;
	r->reps = reps;
}

bool bench_selected(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (!list)
		return true;
	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/* Drop the cases -M did not ask for: how many are left. */
static unsigned int only_selected(const struct bench_opts *o,
				  struct bench_case *cases, unsigned int n)
{
	unsigned int i, kept = 0;

	for (i = 0; i < n; i++)
		if (bench_selected(o->methods, cases[i].method))
			cases[kept++] = cases[i];
	return kept;
}

int bench_run_set(const struct bench_family *fam, const struct bench_opts *o,
		  struct bench_case *cases, unsigned int n)
{
	static double per_op[MAX_CASES][MAX_REPS];
	unsigned long iters[MAX_CASES];
	unsigned int i, k, rep, reps = o->reps;
	struct bench_result r;
	struct bench_case *c;
	int err = 0;
	double t;

	n = only_selected(o, cases, n);
	if (n > MAX_CASES)
		n = MAX_CASES;
	if (reps < 1)
		reps = 1;
	if (reps > MAX_REPS)
		reps = MAX_REPS;
	for (i = 0; i < n; i++)
		if (!cases[i].err)
			cases[i].err = calibrate(o, &cases[i], &iters[i]);
	for (rep = 0; rep < reps; rep++) {
		for (k = 0; k < n; k++) {
			i = (k + rep) % n;
			c = &cases[i];
			if (c->err)
				continue;
			t = timed(c->fn, c->ctx, iters[i], &c->err);
			per_op[i][rep] = t / iters[i];
		}
	}
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		result(&cases[i], per_op[i], reps, iters[i], &r);
		report_add(fam, &r);
		if (r.err && !err)
			err = r.err;
	}
	return err;
}

int bench_run(const struct bench_family *fam, const struct bench_opts *o,
	      const char *method, const char *label, size_t bytes,
	      bench_fn fn, void *ctx, unsigned int div)
{
	struct bench_case c = {
		.method = method,
		.label = label,
		.bytes = bytes,
		.fn = fn,
		.ctx = ctx,
		.div = div,
	};

	return bench_run_set(fam, o, &c, 1);
}

void bench_fail(const struct bench_family *fam, const char *method,
		const char *label, size_t bytes, int err)
{
	struct bench_result r = {
		.method = method,
		.label = label,
		.bytes = bytes,
		.err = err,
	};

	report_add(fam, &r);
}

unsigned int bench_sizes(size_t max, size_t *sizes, unsigned int n)
{
	unsigned int k = 0;
	size_t s;

	if (k < n && max >= 8)
		sizes[k++] = 8;
	if (k < n && max >= 64)
		sizes[k++] = 64;
	for (s = 256; k < n && s <= max; s *= 4)
		sizes[k++] = s;
	return k;
}

const char *bench_fmt_size(size_t bytes, char *buf, size_t len)
{
	if (bytes >= (1 << 20) && !(bytes % (1 << 20)))
		snprintf(buf, len, "%zu MiB", bytes >> 20);
	else if (bytes >= 1024 && !(bytes % 1024))
		snprintf(buf, len, "%zu KiB", bytes >> 10);
	else
		snprintf(buf, len, "%zu B", bytes);
	return buf;
}
