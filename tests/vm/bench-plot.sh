#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-plot.sh CSV PNG: draw the copy family of a drvops-bench CSV (MB/s
# against copy size, one line per method, log-log) into PNG, with gnuplot
# or else python3-matplotlib, whichever is installed. Installs nothing.
# Exit 0: PNG written; 3: no plotting tool (says so); other: failure.
set -euo pipefail

[ $# = 2 ] || { echo "usage: $0 CSV PNG" >&2; exit 2; }
CSV="$1"
PNG="$2"
TITLE="drvops-bench copies (qemu TCG: compare ratios, not absolute numbers)"

if command -v gnuplot >/dev/null 2>&1; then
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	# One data file per method: "bytes MB/s".
	awk -F, -v dir="$tmp" '$1 == "copy" && $10 == "ok" {
		f = dir "/" $2 ".dat"
		if (!(f in seen)) { seen[f] = 1; order[n++] = $2 }
		print $3, $5 > f
	} END { for (i = 0; i < n; i++) print order[i] > (dir "/methods") }' "$CSV"
	[ -s "$tmp/methods" ] || { echo "[drvops] no copy rows in $CSV: no plot"; exit 1; }
	plot=""
	while read -r m; do
		plot="$plot${plot:+, }'$tmp/$m.dat' using 1:2 with linespoints title '$m'"
	done <"$tmp/methods"
	gnuplot <<-GP
		set terminal png size 1000,650
		set output '$PNG'
		set title '$TITLE'
		set logscale x 2
		set logscale y 10
		set xlabel 'bytes per copy'
		set ylabel 'MB/s'
		set key left top
		set grid
		plot $plot
	GP
	exit 0
fi

if command -v python3 >/dev/null 2>&1 &&
   python3 -c 'import matplotlib' >/dev/null 2>&1; then
	python3 - "$CSV" "$PNG" "$TITLE" <<-'PY'
		import csv, sys
		import matplotlib
		matplotlib.use("Agg")
		import matplotlib.pyplot as plt
		src, out, title = sys.argv[1:4]
		series = {}
		with open(src) as f:
		    for row in csv.DictReader(f):
		        if row["family"] == "copy" and row["status"] == "ok":
		            series.setdefault(row["method"], []).append(
		                (int(row["bytes"]), float(row["mb_per_s"])))
		if not series:
		    sys.exit("no copy rows in " + src)
		fig, ax = plt.subplots(figsize=(10, 6.5))
		for method, pts in series.items():
		    pts.sort()
		    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
		            label=method)
		ax.set_xscale("log", base=2)
		ax.set_yscale("log")
		ax.set_xlabel("bytes per copy")
		ax.set_ylabel("MB/s")
		ax.set_title(title)
		ax.grid(True, which="both", alpha=0.3)
		ax.legend()
		fig.savefig(out, dpi=100)
	PY
	exit 0
fi

echo "[drvops] no gnuplot or python3-matplotlib: no PNG (CSV only)"
exit 3
