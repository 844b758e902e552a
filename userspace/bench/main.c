// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * drvops-bench: what the broker costs, next to its baselines, in one run.
 *
 *   drvops-bench [-f FAMILY,...] [-o CSV] [-r REPS] [-t MS] [-w MS]
 *                [-m BYTES] [-c CPU]
 *
 * Prints a table per measurement family on stdout, then the CSV between
 * DRVOPS-CSV-BEGIN and DRVOPS-CSV-END lines (for the host of the test
 * bed), and writes the same CSV to the -o file. Numbers are reported,
 * never judged: the exit status only says whether everything could be
 * measured (0) or something failed (1; its rows say why).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

#define DEFAULT_CSV "/tmp/drvops-bench.csv"

/* Every family, in the order they run. A new family: one line here. */
static const struct bench_family *const families[] = {
	&bench_null_family,
	&bench_copy_family,
	&bench_pingpong_family,
	&bench_hfi_family,
	&bench_msgrate_family,
};

#define NUM_FAMILIES (sizeof(families) / sizeof(families[0]))

static void usage(FILE *out)
{
	unsigned int i;

	fprintf(out,
		"usage: drvops-bench [-f FAMILY,...] [-M METHOD,...] [-o CSV] [-r REPS]\n"
		"                    [-t MS] [-w MS] [-m BYTES] [-c CPU]\n"
		"  -f  families to run (default all):");
	for (i = 0; i < NUM_FAMILIES; i++)
		fprintf(out, " %s", families[i]->name);
	fprintf(out,
		"\n  -M  methods to run (the CSV's method ids, e.g. self,cma;"
		" default all)\n"
		"  -o  CSV file (default " DEFAULT_CSV ")\n"
		"  -r  timed repetitions per point, median reported (default 11)\n"
		"  -t  target length of one repetition in ms (default 20)\n"
		"  -w  least warm-up per point in ms (default 20)\n"
		"  -m  largest copy in bytes (default 4194304)\n"
		"  -c  run on this CPU, children too (-1: not pinned; default:\n"
		"      this process on CPU 0, the peers it forks on CPU 1)\n");
}

/* A number in [min, max]; 0, or 1 (after saying why). */
static int number(const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || *out < min || *out > max) {
		fprintf(stderr, "drvops-bench: bad number '%s' (%g..%g)\n", s,
			min, max);
		return 1;
	}
	return 0;
}

/* Pin to cpu (-1: don't). Returns the CPU or -1. */
static int pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "drvops-bench: cannot pin to CPU %d: %s\n", cpu,
			strerror(errno));
		return -1;
	}
	return cpu;
}

/* The CPU of forked peers, or -1: where the measuring process is. */
static int peer_cpu = -1;

void bench_place_peer(void)
{
	if (peer_cpu >= 0)
		pin(peer_cpu);
}

static int write_csv(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "drvops-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	report_csv(f);
	if (fclose(f)) {
		fprintf(stderr, "drvops-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts o = {
		.reps = 11,
		.rep_ms = 20,
		.warmup_ms = 20,
		.max_bytes = 4 << 20,
	};
	const char *csv = DEFAULT_CSV, *only = NULL;
	struct utsname u;
	unsigned int i, n = 0;
	int c, cpu = -1, bad = 0, failed = 0;
	bool placed = true;
	double v;

	while ((c = getopt(argc, argv, "f:M:o:r:t:w:m:c:h")) != -1) {
		switch (c) {
		case 'f':
			only = optarg;
			break;
		case 'M':
			o.methods = optarg;
			break;
		case 'o':
			csv = optarg;
			break;
		case 'r':
			bad |= number(optarg, 1, 101, &v);
			o.reps = (unsigned int)v;
			break;
		case 't':
			bad |= number(optarg, 0.001, 1e6, &o.rep_ms);
			break;
		case 'w':
			bad |= number(optarg, 0, 1e6, &o.warmup_ms);
			break;
		case 'm':
			bad |= number(optarg, 8, 1 << 30, &v);
			o.max_bytes = (size_t)v;
			break;
		case 'c':
			bad |= number(optarg, -1, CPU_SETSIZE - 1, &v);
			cpu = (int)v;
			placed = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			bad = 1;
		}
	}
	if (bad || optind != argc) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < NUM_FAMILIES; i++)
		n += bench_selected(only, families[i]->name);
	if (!n) {
		fprintf(stderr, "drvops-bench: no family matches '%s'\n", only);
		return 2;
	}

	uname(&u);
	if (placed && sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
		cpu = pin(0);
		peer_cpu = cpu < 0 ? -1 : 1;
	} else {
		cpu = pin(cpu);
	}
	printf("drvops-bench: kernel %s, %ld cpus, ", u.release,
	       sysconf(_SC_NPROCESSORS_ONLN));
	if (peer_cpu >= 0)
		printf("on cpu %d, peers on cpu %d", cpu, peer_cpu);
	else if (cpu >= 0)
		printf("pinned to cpu %d", cpu);
	else
		printf("not pinned");
	printf("; median of %u repetitions of ~%.0f ms each, after >= %.0f ms "
	       "warm-up\n", o.reps, o.rep_ms, o.warmup_ms);
	fflush(stdout);

	for (i = 0; i < NUM_FAMILIES; i++) {
		if (!bench_selected(only, families[i]->name))
			continue;
		fprintf(stderr, "drvops-bench: %s\n", families[i]->name);
		if (families[i]->run(families[i], &o))
			failed = 1;
	}

	report_table(stdout);
	goals_report(stdout);
	if (report_errors())
		failed = 1;
	printf("\nDRVOPS-CSV-BEGIN\n");
	report_csv(stdout);
	printf("DRVOPS-CSV-END\n");
	if (write_csv(csv))
		failed = 1;
	else
		printf("CSV written to %s\n", csv);
	return failed;
}
