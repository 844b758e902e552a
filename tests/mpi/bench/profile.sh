#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Where an 8 B message's time goes (`make bench-mpi-profile`: the MPI guest
# with linux-perf and strace in its rootfs; not part of `make check`). The
# two polling ping-pongs of bench/run.sh at 8 B (DRVOPS_PP_MAX_BYTES), the
# HFI straight through libdrvops (hfi_raw) and PSM2 over psm-shim
# (psm2_spin): each once for its RESULT, once under `perf record -a -g`
# (report by command, object and symbol, then by object), once under
# `strace -c -f` (the system calls each makes). Judged only on whether
# every step ran: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. ./lib.bash

export DRVOPS_PP_MAX_BYTES="${DRVOPS_PP_MAX_BYTES:-8}"
PERF_OUT="$(mktemp -d /tmp/bench-profile.XXXXXX)" || exit 1
trap 'rm -rf "$PERF_OUT"' EXIT

# cmd_of METHOD: the command line, in CMD.
cmd_of() {
	# shellcheck disable=SC2054 # self,hfi is one word
	case "$1" in
	hfi_raw) CMD=("$MPI_BIN/hfi_pingpong" 0 1) ;;
	psm2_spin) CMD=(env PSM2_DEVICES=self,hfi LD_LIBRARY_PATH="$PSM2_DIR"
			"$MPI_BIN/psm2_pingpong" 0 1 spin) ;;
	esac
}

# profile METHOD: its RESULT, perf's report and strace's count.
profile() {
	local m="$1" data="$PERF_OUT/$1.data"
	cmd_of "$m"
	"${CMD[@]}" | grep '^RESULT' || return 1
	perf record -q -a -g -e cpu-clock -F 4000 -o "$data" -- "${CMD[@]}" \
		>/dev/null || return 1
	echo "--- $m: perf, by command, object and symbol (>= 0.3 %)"
	perf report -i "$data" --stdio --no-children --sort comm,dso,sym \
		--percent-limit 0.3 -g none 2>/dev/null | grep -v -e '^$' -e '^#'
	echo "--- $m: perf, by command and object"
	perf report -i "$data" --stdio --no-children --sort comm,dso -g none \
		--percent-limit 0.3 2>/dev/null | grep -v -e '^$' -e '^#'
	echo "--- $m: system calls (strace -c -f)"
	strace -c -f -o "$PERF_OUT/$m.strace" "${CMD[@]}" >/dev/null &&
		cat "$PERF_OUT/$m.strace"
}

for tool in perf strace; do
	command -v "$tool" >/dev/null ||
		{ echo "FAIL: no $tool in the MPI rootfs (DRVOPS_MPI_PKGS=\"linux-perf strace\")"; echo "0 passed, 1 failed"; exit 1; }
done
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid
for m in hfi_raw psm2_spin; do
	check "profile of $m at ${DRVOPS_PP_MAX_BYTES} B" profile "$m"
done
finish
