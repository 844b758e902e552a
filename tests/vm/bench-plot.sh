#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-plot.sh CSV PREFIX: draw the benchmark CSV of one boot as PNGs,
# PREFIX-<name>.png, one line per method against the size (log-log), with
# gnuplot (gnuplot-nox, a host package of the test bed). Prints the files.
#   drvops-bench CSV (make bench): copy (MB/s); hfi (MB/s and ns/op)
#   bench-mpi CSV (make bench-mpi): half round trip (us) and MB/s
# Exit 0: PNGs written (a plot without rows is left out); 3: no rows to
# plot at all (a narrowed run); 1: gnuplot failed; 2: usage.
set -euo pipefail

[ $# = 2 ] || { echo "usage: $0 CSV PREFIX" >&2; exit 2; }
CSV="$1"
PREFIX="$2"
command -v gnuplot >/dev/null 2>&1 ||
	{ echo "[drvops] gnuplot not found (package gnuplot-nox): no PNG" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# plot NAME TITLE YLABEL AWK-FILTER XCOL YCOL: methods of the rows the
# filter keeps (method = column 2 of drvops-bench's CSV, 1 of bench-mpi's).
plot() {
	local name="$1" title="$2" ylabel="$3" filter="$4" mcol="$5" xcol="$6" ycol="$7"
	local dir="$tmp/$name" spec="" m png="$PREFIX-$name.png"
	mkdir -p "$dir"
	awk -F, -v dir="$dir" -v mc="$mcol" -v xc="$xcol" -v yc="$ycol" \
		"NR > 1 && ($filter) && \$yc != \"\" {
			f = dir \"/\" \$mc \".dat\"
			if (!(f in seen)) { seen[f] = 1; order[n++] = \$mc }
			print \$xc, \$yc > f
		} END { for (i = 0; i < n; i++) print order[i] > (dir \"/methods\") }" "$CSV"
	# a narrowed run (-f) has no rows for some plots
	[ -s "$dir/methods" ] || return 0
	while read -r m; do
		spec="$spec${spec:+, }'$dir/$m.dat' using 1:2 with linespoints title '$m' noenhanced"
	done <"$dir/methods"
	gnuplot <<-GP
		set terminal png size 1000,650
		set output '$png'
		set title '$title (qemu TCG: compare ratios, not absolute numbers)'
		set termoption noenhanced
		set logscale x 2
		set logscale y 10
		set format x '%.0b %BB'
		set xlabel 'size'
		set ylabel '$ylabel'
		set key left top
		set grid
		plot $spec
	GP
	echo "$png"
	drawn=$((drawn + 1))
}
drawn=0

if head -n 1 "$CSV" | grep -q '^family,'; then
	# family,method,bytes,ns_per_op,mb_per_s,ns_min,ns_max,iters,reps,status
	plot copy "drvops-bench: copies through the kernel" "MB/s" \
		'$1 == "copy" && $10 == "ok"' 2 3 5
	plot hfi-bw "drvops-bench: the emulated HFI, next to memcpy and CMA" "MB/s" \
		'$1 == "hfi" && $10 == "ok"' 2 3 5
	plot hfi-ns "drvops-bench: the emulated HFI, ns per message (one way)" "ns per op" \
		'$1 == "hfi" && $10 == "ok"' 2 3 4
	plot msgrate "drvops-bench: HFI message rate, ns per message of all pairs" "ns per message" \
		'$1 == "msgrate" && $10 == "ok"' 2 3 4
else
	# method,bytes,half_rtt_us,min_us,max_us,mb_per_s,round_trips_per_round
	plot latency "MPI ping-pong: half round trip" "us" 'NR > 1' 1 2 3
	plot bandwidth "MPI ping-pong: size / half round trip" "MB/s" 'NR > 1' 1 2 6
fi
[ "$drawn" -gt 0 ] || { echo "[drvops] $CSV: nothing to plot" >&2; exit 3; }
