// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Results: kept in the order measured, printed per family as a table for
 * people and as one CSV for tools.
 *
 * A family whose rows all have one size is a list (one row per method,
 * ns/op, spread, MB/s, ratio to the family's reference method). A family
 * with a size sweep is printed as matrices, one row per size and one
 * column per method: ns/op, MB/s and the ratio to the reference.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define REPORT_MAX 512
#define MATRIX_MAX 16

struct row {
	const struct bench_family *fam;
	struct bench_result r;
};

static struct row rows[REPORT_MAX];
static unsigned int nrows;

void report_add(const struct bench_family *fam, const struct bench_result *r)
{
	if (nrows == REPORT_MAX) {
		fprintf(stderr, "drvops-bench: more than %d results, %s dropped\n",
			REPORT_MAX, r->method);
		return;
	}
	rows[nrows].fam = fam;
	rows[nrows].r = *r;
	nrows++;
}

unsigned int report_errors(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < nrows; i++)
		n += rows[i].r.err != 0;
	return n;
}

const struct bench_result *report_find(const char *family,
				       const char *method, size_t bytes)
{
	unsigned int i;

	for (i = 0; i < nrows; i++)
		if (!rows[i].r.err && rows[i].r.bytes == bytes &&
		    !strcmp(rows[i].fam->name, family) &&
		    !strcmp(rows[i].r.method, method))
			return &rows[i].r;
	return NULL;
}

const struct bench_result *report_row(unsigned int i, const char **family)
{
	if (i >= nrows)
		return NULL;
	*family = rows[i].fam->name;
	return &rows[i].r;
}

static double mbps(const struct bench_result *r)
{
	return r->bytes && !r->err && r->ns > 0 ? r->bytes * 1e3 / r->ns : NAN;
}

static const char *errname(int err)
{
	const char *s = strerrorname_np(-err);

	return s ? s : "error";
}

/* The reference row of fam for this size, or NULL. */
static const struct bench_result *ref_row(const struct bench_family *fam,
					  size_t bytes)
{
	unsigned int i;

	for (i = 0; fam->ref && i < nrows; i++)
		if (rows[i].fam == fam && !rows[i].r.err &&
		    rows[i].r.bytes == bytes &&
		    !strcmp(rows[i].r.method, fam->ref))
			return &rows[i].r;
	return NULL;
}

static int one_size(const struct bench_family *fam)
{
	unsigned int i;
	int seen = 0;
	size_t bytes = 0;

	for (i = 0; i < nrows; i++) {
		if (rows[i].fam != fam)
			continue;
		if (seen && rows[i].r.bytes != bytes)
			return 0;
		bytes = rows[i].r.bytes;
		seen = 1;
	}
	return 1;
}

static void print_list(FILE *out, const struct bench_family *fam)
{
	const struct bench_result *ref;
	char size[16], ratio[16];
	unsigned int i;

	fprintf(out, "%-44s %7s %10s %10s %10s %9s %8s\n", "method", "bytes",
		"ns/op", "min", "max", "MB/s", "x ref");
	for (i = 0; i < nrows; i++) {
		const struct bench_result *r = &rows[i].r;

		if (rows[i].fam != fam)
			continue;
		bench_fmt_size(r->bytes, size, sizeof(size));
		if (r->err) {
			fprintf(out, "%-44s %7s %10s  (%s)\n", r->label,
				r->bytes ? size : "-", "n/a", errname(r->err));
			continue;
		}
		ref = ref_row(fam, r->bytes);
		if (ref)
			snprintf(ratio, sizeof(ratio), "%.2f", r->ns / ref->ns);
		else
			snprintf(ratio, sizeof(ratio), "-");
		fprintf(out, "%-44s %7s %10.1f %10.1f %10.1f ", r->label,
			r->bytes ? size : "-", r->ns, r->ns_min, r->ns_max);
		if (r->bytes)
			fprintf(out, "%9.1f", mbps(r));
		else
			fprintf(out, "%9s", "-");
		fprintf(out, " %8s\n", ratio);
	}
	if (fam->ref)
		fprintf(out, "x ref: ns/op divided by that of %s\n", fam->ref);
}

enum cell { CELL_NS, CELL_MBPS, CELL_RATIO };

static const struct bench_result *find(const struct bench_family *fam,
				       const char *method, size_t bytes)
{
	unsigned int i;

	for (i = 0; i < nrows; i++)
		if (rows[i].fam == fam && rows[i].r.bytes == bytes &&
		    !strcmp(rows[i].r.method, method))
			return &rows[i].r;
	return NULL;
}

static void print_matrix(FILE *out, const struct bench_family *fam,
			 const char **methods, unsigned int nm,
			 const size_t *sizes, unsigned int ns, enum cell cell)
{
	static const char *const what[] = {
		[CELL_NS] = "ns/op (median)",
		[CELL_MBPS] = "MB/s (10^6 bytes/s)",
		[CELL_RATIO] = "ns/op relative to",
	};
	const struct bench_result *r, *ref;
	unsigned int i, j;
	char size[16];

	fprintf(out, "%s%s%s\n", what[cell], cell == CELL_RATIO ? " " : "",
		cell == CELL_RATIO ? fam->ref : "");
	fprintf(out, "%9s", "size");
	for (j = 0; j < nm; j++)
		fprintf(out, " %11s", methods[j]);
	fputc('\n', out);
	for (i = 0; i < ns; i++) {
		fprintf(out, "%9s", bench_fmt_size(sizes[i], size, sizeof(size)));
		ref = ref_row(fam, sizes[i]);
		for (j = 0; j < nm; j++) {
			r = find(fam, methods[j], sizes[i]);
			if (!r)
				fprintf(out, " %11s", "");
			else if (r->err)
				fprintf(out, " %11.11s", errname(r->err));
			else if (cell == CELL_NS)
				fprintf(out, " %11.1f", r->ns);
			else if (cell == CELL_MBPS)
				fprintf(out, " %11.1f", mbps(r));
			else if (ref)
				fprintf(out, " %11.2f", r->ns / ref->ns);
			else
				fprintf(out, " %11s", "-");
		}
		fputc('\n', out);
	}
	fputc('\n', out);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

static void print_sweep(FILE *out, const struct bench_family *fam)
{
	const char *methods[MATRIX_MAX];
	const char *labels[MATRIX_MAX];
	size_t sizes[REPORT_MAX];
	unsigned int i, j, nm = 0, ns = 0;

	for (i = 0; i < nrows; i++) {
		if (rows[i].fam != fam)
			continue;
		for (j = 0; j < nm && strcmp(methods[j], rows[i].r.method); j++)
			;
		if (j == nm && nm < MATRIX_MAX) {
			methods[nm] = rows[i].r.method;
			labels[nm++] = rows[i].r.label;
		}
		for (j = 0; j < ns && sizes[j] != rows[i].r.bytes; j++)
			;
		if (j == ns)
			sizes[ns++] = rows[i].r.bytes;
	}
	qsort(sizes, ns, sizeof(sizes[0]), cmp_size);
	for (j = 0; j < nm; j++)
		fprintf(out, "  %-10s %s\n", methods[j], labels[j]);
	fputc('\n', out);
	print_matrix(out, fam, methods, nm, sizes, ns, CELL_NS);
	print_matrix(out, fam, methods, nm, sizes, ns, CELL_MBPS);
	if (fam->ref)
		print_matrix(out, fam, methods, nm, sizes, ns, CELL_RATIO);
}

void report_table(FILE *out)
{
	const struct bench_family *done[MATRIX_MAX];
	unsigned int i, j, nd = 0;

	for (i = 0; i < nrows; i++) {
		const struct bench_family *fam = rows[i].fam;

		for (j = 0; j < nd && done[j] != fam; j++)
			;
		if (j < nd || nd == MATRIX_MAX)
			continue;
		done[nd++] = fam;
		fprintf(out, "\n== %s ==\n", fam->title);
		if (one_size(fam))
			print_list(out, fam);
		else
			print_sweep(out, fam);
	}
	fflush(out);
}

void report_csv(FILE *out)
{
	unsigned int i;

	fprintf(out, "family,method,bytes,ns_per_op,mb_per_s,ns_min,ns_max,"
		"iters,reps,status\n");
	for (i = 0; i < nrows; i++) {
		const struct bench_result *r = &rows[i].r;

		fprintf(out, "%s,%s,%zu,", rows[i].fam->name, r->method,
			r->bytes);
		if (r->err) {
			fprintf(out, ",,,,,,%s\n", errname(r->err));
			continue;
		}
		fprintf(out, "%.1f,", r->ns);
		if (r->bytes)
			fprintf(out, "%.1f", mbps(r));
		fprintf(out, ",%.1f,%.1f,%lu,%u,ok\n", r->ns_min, r->ns_max,
			r->iters, r->reps);
	}
	fflush(out);
}
