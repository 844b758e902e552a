// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The goals of the fast-path work, each a ratio of two results of this
 * run (so of one boot: under TCG only ratios mean anything), printed after
 * the tables with its target and whether it is met. Reported, never
 * judged: the exit status does not depend on them.
 *
 * A goal is one of
 *   ratio  a / b of ns per op (lower is better) or of MB/s (higher)
 *   worst  the worst ratio over the sizes both methods measured up to
 *          a bound (no size where a is slower than b)
 */
#include <math.h>
#include <string.h>

#include "bench.h"

enum goal_unit {
	NS,	/* a.ns / b.ns, target an upper bound */
	MBPS,	/* a MB/s / b MB/s = b.ns / a.ns (same bytes), a lower bound */
};

struct goal {
	const char *what;
	enum goal_unit unit;
	const char *fam_a, *method_a;
	size_t bytes_a;
	const char *fam_b, *method_b;
	size_t bytes_b;
	double target;
	size_t worst_upto;	/* 0: one size; else the worst up to this */
};

/*
 * The shim's eager/rendezvous threshold (psm-shim mq.h
 * SHIM_MQ_RNDV_THRESHOLD_DEFAULT, 8 KiB): up to it eager must not lose.
 */
#define RNDV_THRESHOLD (8u << 10)

static const struct goal goals[] = {
	{ "drvops NOOP / misc NOOP", NS, "null", "drvops", 0, "null", "misc",
	  0, 1.10, 0 },
	{ "HFI COUNTERS / misc NOOP", NS, "null", "hfi", 0, "null", "misc", 0,
	  1.25, 0 },
	{ "HFI 8 B eager one way / getppid()", NS, "hfi", "eager", 8, "null",
	  "getppid", 0, 4.0, 0 },
	{ "HFI 8 B eager half round trip / getppid()", NS, "hfi", "pp_eager",
	  8, "null", "getppid", 0, 6.0, 0 },
	{ "HFI eager / CMA at 64 KiB (MB/s)", MBPS, "hfi", "eager", 64 << 10,
	  "hfi", "cma", 64 << 10, 1.0, 0 },
	{ "HFI eager / expected, worst size <= 8 KiB (MB/s)", MBPS, "hfi",
	  "eager", 0, "hfi", "expected", 0, 1.0, RNDV_THRESHOLD },
	{ "HFI expected stream / memcpy at 1 MiB (MB/s)", MBPS, "hfi",
	  "expected", 1 << 20, "hfi", "memcpy", 1 << 20, 0.9, 0 },
	{ "HFI expected stream / memcpy at 4 MiB (MB/s)", MBPS, "hfi",
	  "expected", 4 << 20, "hfi", "memcpy", 4 << 20, 0.9, 0 },
};

/*
 * Not goals: the same ratios for what the kernel itself does, which says
 * what bounds a goal under this emulation (an 8-byte message cannot cost
 * less than one system call that copies 8 bytes into another process).
 */
static const struct goal bounds[] = {
	{ "CMA 8 B into a child / getppid()", NS, "hfi", "cma", 8, "null",
	  "getppid", 0, 0, 0 },
	{ "ioctl on /dev/null (ENOTTY) / getppid()", NS, "null", "devnull", 0,
	  "null", "getppid", 0, 0, 0 },
	{ "HFI 8 B eager one way / CMA 8 B", NS, "hfi", "eager", 8, "hfi",
	  "cma", 8, 0, 0 },
	{ "HFI 8 B eager, one process (self) / CMA 8 B", NS, "hfi", "self",
	  8, "hfi", "cma", 8, 0, 0 },
	{ "HFI 8 B, 16 per writev: ns per message / getppid()", NS,
	  "msgrate", "rate_1p_b16", 8, "null", "getppid", 0, 0, 0 },
	{ "HFI 8 B, 16 per writev / one per writev (ns)", NS, "msgrate",
	  "rate_1p_b16", 8, "msgrate", "rate_1p", 8, 0, 0 },
	{ "HFI 4 MiB by the engines: in parts / one engine (MB/s)", MBPS,
	  "hfi", "exp_engines", 4 << 20, "hfi", "exp_engine1", 4 << 20, 0,
	  0 },
};

static double ratio(enum goal_unit unit, const struct bench_result *a,
		    const struct bench_result *b)
{
	if (!a || !b || a->ns <= 0 || b->ns <= 0)
		return NAN;
	return unit == NS ? a->ns / b->ns : b->ns / a->ns;
}

/* The goal's ratio in this run (NAN: not measured); *at: its size. */
static double measure(const struct goal *g, size_t *at)
{
	const struct bench_result *a;
	double worst = NAN;
	const char *fam;
	unsigned int i;

	*at = g->bytes_a;
	if (!g->worst_upto)
		return ratio(g->unit,
			     report_find(g->fam_a, g->method_a, g->bytes_a),
			     report_find(g->fam_b, g->method_b, g->bytes_b));
	/* every size method a measured up to the bound */
	for (i = 0; (a = report_row(i, &fam)); i++) {
		double r;

		if (strcmp(fam, g->fam_a) || strcmp(a->method, g->method_a) ||
		    a->err || a->bytes > g->worst_upto)
			continue;
		r = ratio(g->unit, a, report_find(g->fam_b, g->method_b,
						  a->bytes));
		if (!isnan(r) && (isnan(worst) ||
				  (g->unit == NS ? r > worst : r < worst))) {
			worst = r;
			*at = a->bytes;
		}
	}
	return worst;
}

void goals_report(FILE *out)
{
	unsigned int i, met = 0, measured = 0;

	fprintf(out, "\n== goals (ratios of this run) ==\n");
	fprintf(out, "%-52s %9s %9s  %s\n", "goal", "measured", "target",
		"met");
	for (i = 0; i < sizeof(goals) / sizeof(goals[0]); i++) {
		const struct goal *g = &goals[i];
		char at[32] = "", size[16];
		size_t where;
		double r = measure(g, &where);
		int ok = !isnan(r) &&
			 (g->unit == NS ? r <= g->target : r >= g->target);

		if (g->worst_upto && !isnan(r))
			snprintf(at, sizeof(at), " (at %s)",
				 bench_fmt_size(where, size, sizeof(size)));
		if (isnan(r))
			fprintf(out, "%-52s %9s %s%8.2f  not measured\n",
				g->what, "-", g->unit == NS ? "<=" : ">=",
				g->target);
		else
			fprintf(out, "%-52s %9.2f %s%8.2f  %s%s\n", g->what, r,
				g->unit == NS ? "<=" : ">=", g->target,
				ok ? "met" : "NOT met", at);
		measured += !isnan(r);
		met += ok;
	}
	fprintf(out, "%u of %u goals met (%u measured)\n", met,
		(unsigned int)(sizeof(goals) / sizeof(goals[0])), measured);

	fprintf(out, "\n== what bounds them (the kernel's own paths, same run) ==\n");
	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		size_t where;
		double r = measure(&bounds[i], &where);

		if (isnan(r))
			fprintf(out, "%-52s %9s\n", bounds[i].what, "-");
		else
			fprintf(out, "%-52s %9.2f\n", bounds[i].what, r);
	}
}
