#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The MPI benchmark (`make bench-mpi`: tests/vm/run.sh --mpi with
# DRVOPS_MPI_TESTS=bench/run.sh; not part of `make check`, which runs only
# tests/mpi/*.sh). In one MPI guest boot, ping-pong latency (half a round
# trip) and bandwidth for 8 B..4 MiB (bench/pingpong.h), two processes:
#   hfi_raw     bin/hfi_pingpong: the same ping-pong straight on two HFI
#               contexts through libdrvops (eager up to eager_max, above it
#               one expected send into a tid registered once), busy
#               polling: the floor of every HFI method below
#   psm2_spin   bin/psm2_pingpong: PSM2 straight over our libpsm2.so.2,
#               rank 0 on hfi0, rank 1 on hfi1, progressing by
#               psm2_poll + psm2_mq_test2 in a loop (as Open MPI's MTL does)
#   psm2_rndv   psm2_spin with PSM2_MQ_RNDV_HFI_THRESH=0: every message by
#               rendezvous (RTS, CTS, one expected send), the other side of
#               the eager/rendezvous threshold (8 KiB) at every size
#   psm2_wait   the same with the library's blocking calls (send2, wait2:
#               the wait polls for PSM2_SHIM_SPIN_US, 100 us, then sleeps in
#               poll() on the context fd)
#   psm2_sleep  psm2_wait with PSM2_SHIM_SPIN_US=0: every wait that finds
#               nothing sleeps at once (the spin's baseline)
#   psm2_nocache  psm2_wait with PSM2_SHIM_TID_CACHE=0: every rendezvous
#               window registered and freed anew (the registration
#               cache's baseline)
#   psm2_engine psm2_wait with the driver's inline_expected_max at 0:
#               every expected send pinned and copied by an engine worker
#               (the inline expected path's baseline)
#   psm2_lowlock  psm2_spin as mpiuser (no CAP_IPC_LOCK) with
#               RLIMIT_MEMLOCK at 2 MiB: receive windows of 512 KiB, the
#               next one registered ahead while the current one fills
#   psm2_lowlock_noahead  the same with PSM2_SHIM_RNDV_AHEAD=0: one
#               window at a time (the windows-ahead baseline)
#   mpi_psm2    bin/mpi_bench under Open MPI, pml cm + mtl psm2 over our
#               libpsm2.so.2 (lib.bash MPIRUN: btl self, no shared memory),
#               rank 0 on hfi0, rank 1 on hfi1
#   mpi_ofi     the same under Open MPI pml cm + mtl ofi, libfabric's psm2
#               provider over our libpsm2.so.2 (FI_PROVIDER=psm2)
#   mpi_shm     Open MPI cm/psm2 with PSM2_DEVICES=self,shm: psm-shim's own
#               shared memory (inboxes, CMA for rendezvous), no HFI
#   mpi_vader   the same bin/mpi_bench, Open MPI's own shared memory: pml
#               ob1, btl self,vader, single copy by CMA (process_vm_readv)
#   memcpy      bin/memcpy_bench: one memcpy of the size in one process,
#               the floor the bandwidth goal is measured against
# Ends with the goals of the fast-path work as ratios of this boot (met or
# not; reported, not judged).
# Prints the tables and the CSV between DRVOPS-CSV-BEGIN/END (the host saves
# it as ~/.cache/drvops/logs/bench-mpi-latest.csv). Judged only on whether
# every method measured every size (and the HFI counters saw the MPI
# traffic): "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. ./lib.bash

BENCH_TIMEOUT="${DRVOPS_BENCH_STEP_TIMEOUT:-400}"
OUT="$(mktemp -d /tmp/bench-mpi.XXXXXX)" || exit 1
hfi1_names_for_openmpi || { echo "FAIL: cannot give Open MPI the hfi1 names it looks for"; exit 1; }
trap 'rm -rf "$OUT"; hfi1_names_undo' EXIT

METHODS=(hfi_raw psm2_spin psm2_rndv psm2_wait psm2_sleep psm2_nocache psm2_engine psm2_lowlock psm2_lowlock_noahead mpi_psm2 mpi_ofi mpi_shm mpi_vader memcpy)
declare -A LABEL=(
	[hfi_raw]="HFI contexts straight, libdrvops (hfi0 <-> hfi1)"
	[psm2_spin]="PSM2 over psm-shim, polling (hfi0 <-> hfi1)"
	[psm2_rndv]="PSM2 over psm-shim, polling, every message by rendezvous"
	[psm2_wait]="PSM2 over psm-shim, blocking wait (hfi0 <-> hfi1)"
	[psm2_sleep]="PSM2 over psm-shim, blocking wait sleeping at once (PSM2_SHIM_SPIN_US=0)"
	[psm2_nocache]="PSM2 over psm-shim, blocking wait, no registration cache"
	[psm2_engine]="PSM2 over psm-shim, blocking wait, expected sends by the engines"
	[psm2_lowlock]="PSM2 over psm-shim, polling, as mpiuser, memlock 2 MiB (512 KiB windows)"
	[psm2_lowlock_noahead]="the same, one window at a time (PSM2_SHIM_RNDV_AHEAD=0)"
	[mpi_psm2]="Open MPI cm/psm2 over psm-shim (hfi0 <-> hfi1)"
	[mpi_ofi]="Open MPI cm/ofi, libfabric psm2 over psm-shim (hfi0 <-> hfi1)"
	[mpi_shm]="Open MPI cm/psm2, psm-shim shared memory (PSM2_DEVICES=self,shm)"
	[mpi_vader]="Open MPI ob1/vader shared memory (CMA)"
	[memcpy]="memcpy in one process (one copy per op)"
)
NSIZES=10

# The HFI methods name their devices: with Intel's default (self,shm,hfi)
# two processes of one node would meet in psm-shim's shared memory.
run_hfi_raw() {
	timeout -k 5 "$BENCH_TIMEOUT" "$MPI_BIN/hfi_pingpong" 0 1
}

run_psm2_spin() {
	PSM2_DEVICES=self,hfi LD_LIBRARY_PATH="$PSM2_DIR" timeout -k 5 "$BENCH_TIMEOUT" \
		"$MPI_BIN/psm2_pingpong" 0 1 spin
}

run_psm2_rndv() {
	PSM2_MQ_RNDV_HFI_THRESH=0 run_psm2_spin
}

run_psm2_wait() {
	PSM2_DEVICES=self,hfi LD_LIBRARY_PATH="$PSM2_DIR" timeout -k 5 "$BENCH_TIMEOUT" \
		"$MPI_BIN/psm2_pingpong" 0 1 wait
}

run_psm2_sleep() {
	PSM2_SHIM_SPIN_US=0 run_psm2_wait
}

run_psm2_nocache() {
	PSM2_SHIM_TID_CACHE=0 run_psm2_wait
}

INLINE_EXPECTED=/sys/module/drvops_hfi/parameters/inline_expected_max
run_psm2_engine() {
	local saved rc
	saved=$(cat "$INLINE_EXPECTED") || return
	echo 0 >"$INLINE_EXPECTED" || return
	run_psm2_wait
	rc=$?
	echo "$saved" >"$INLINE_EXPECTED"
	return "$rc"
}

# psm2_spin as mpiuser with a 2 MiB memlock limit: 512 KiB receive windows.
lowlock() {
	(ulimit -l 2048 && cd /tmp && timeout -k 5 "$BENCH_TIMEOUT" \
		runuser -u mpiuser -- env LD_LIBRARY_PATH="$PSM2_DIR" \
		PSM2_DEVICES=self,hfi "$@" "$MPI_BIN/psm2_pingpong" 0 1 spin)
}

run_psm2_lowlock() {
	lowlock
}

run_psm2_lowlock_noahead() {
	lowlock PSM2_SHIM_RNDV_AHEAD=0
}

# bench_on_units MPIRUN...: mpi_bench with rank r on hfi<r>, and the
# units' rx_bytes it caused.
bench_on_units() {
	local rx0 rx1 rc
	rx0=$(rx_bytes hfi0) && rx1=$(rx_bytes hfi1) || return
	HFI_UNITS="0 1" timeout -k 5 "$BENCH_TIMEOUT" "$@" -np 2 \
		./hfi_unit_by_rank "$MPI_BIN/mpi_bench"
	rc=$?
	echo "HFI rx_bytes +$(($(rx_bytes hfi0) - rx0)) on hfi0, +$(($(rx_bytes hfi1) - rx1)) on hfi1"
	return "$rc"
}

run_mpi_psm2() {
	bench_on_units "${MPIRUN[@]:2}"
}

run_mpi_ofi() {
	bench_on_units mpirun --allow-run-as-root --oversubscribe \
		--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include psm2 \
		--mca btl self \
		-x LD_LIBRARY_PATH="$PSM2_DIR" -x HFI_UNITS -x FI_PROVIDER=psm2 \
		-x PSM2_DEVICES=self,hfi
}

run_mpi_shm() {
	timeout -k 5 "$BENCH_TIMEOUT" mpirun --allow-run-as-root --oversubscribe \
		--mca pml cm --mca mtl psm2 --mca btl self \
		-x LD_LIBRARY_PATH="$PSM2_DIR" -x PSM2_DEVICES=self,shm \
		-np 2 "$MPI_BIN/mpi_bench"
}

run_mpi_vader() {
	timeout -k 5 "$BENCH_TIMEOUT" mpirun --allow-run-as-root \
		--mca pml ob1 --mca btl self,vader \
		--mca btl_vader_single_copy_mechanism cma \
		-np 2 "$MPI_BIN/mpi_bench"
}

run_memcpy() {
	timeout -k 5 "$BENCH_TIMEOUT" "$MPI_BIN/memcpy_bench"
}

# measure METHOD: run it, keep its RESULT lines in $OUT/METHOD.
measure() {
	local m="$1" t0=$SECONDS out rc n
	out="$("run_$m" 2>&1)"
	rc=$?
	echo "$out"
	grep '^RESULT ' <<<"$out" >"$OUT/$m"
	n=$(wc -l <"$OUT/$m")
	echo "$m: rc=$rc, $n sizes in $((SECONDS - t0)) s"
	[ "$rc" = 0 ] || return 1
	grep -q '^OK: 0 wrong messages' <<<"$out" || { echo "no 'OK: 0 wrong messages'"; return 1; }
	[ "$n" = "$NSIZES" ] || { echo "expected $NSIZES sizes"; return 1; }
	if [ "$m" = mpi_psm2 ] || [ "$m" = mpi_ofi ]; then
		# every size one way >= 2 x 7 x sum(sizes) bytes; at least 4 MiB
		awk '/^HFI rx_bytes/ { a = $3; b = $6; sub(/\+/, "", a); sub(/\+/, "", b)
			exit !(a + 0 >= 4194304 && b + 0 >= 4194304) }' <<<"$out" ||
			{ echo "the HFI counters did not see the MPI traffic"; return 1; }
	fi
}

echo "INFO: $(mpirun --version 2>&1 | head -n 1); $(nproc) CPUs"
echo "INFO: vader single copy: $(ompi_info --param btl vader --level 9 2>/dev/null |
	grep -m1 single_copy_mechanism | sed 's/^ *//')"
for m in "${METHODS[@]}"; do
	check "${LABEL[$m]}: every size measured" measure "$m"
done

# field F (3 = half RTT us, 6 = MB/s) of METHOD at SIZE, "-" if missing.
field() {
	awk -v s="$2" -v f="$3" '$2 == s { print $f; found = 1 } END { if (!found) print "-" }' "$OUT/$1"
}

human() {
	local b=$1
	if [ "$b" -ge 1048576 ]; then echo "$((b >> 20)) MiB"
	elif [ "$b" -ge 1024 ]; then echo "$((b >> 10)) KiB"
	else echo "$b B"; fi
}

# ratio A B: A/B with two decimals, "-" when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

SIZES="$(cat "${METHODS[@]/#/$OUT/}" | awk '{ print $2 }' | sort -nu)"
# table TITLE FIELD: one row per size, one column per method, then the ratios
# mpi_psm2/psm2_spin, mpi_ofi/mpi_psm2, mpi_vader/mpi_psm2 and
# mpi_shm/mpi_vader.
table() {
	local s m row v
	local -A val
	echo
	echo "=== $1 ==="
	printf '%8s |' size
	printf ' %10s' "${METHODS[@]}"
	printf ' | %9s %9s %9s %9s\n' mpi:psm2 ofi:psm2 vader:mpi shm:vader
	for s in $SIZES; do
		row=()
		val=()
		for m in "${METHODS[@]}"; do
			v=$(field "$m" "$s" "$2")
			val[$m]=$v
			row+=("$v")
		done
		printf '%8s |' "$(human "$s")"
		printf ' %10s' "${row[@]}"
		printf ' | %9s %9s %9s %9s\n' "$(ratio "${val[mpi_psm2]}" "${val[psm2_spin]}")" \
			"$(ratio "${val[mpi_ofi]}" "${val[mpi_psm2]}")" \
			"$(ratio "${val[mpi_vader]}" "${val[mpi_psm2]}")" \
			"$(ratio "${val[mpi_shm]}" "${val[mpi_vader]}")"
	done
}
echo
echo "qemu TCG: compare ratios measured in this boot, not absolute numbers;"
echo "mpi:psm2 = Open MPI over the shim / PSM2 over the shim (polling),"
echo "ofi:psm2 = Open MPI's ofi MTL (libfabric psm2) / its psm2 MTL,"
echo "shm:vader = psm-shim's shared memory / Open MPI's (both CMA),"
echo "vader:mpi = Open MPI shared memory (CMA) / Open MPI over the shim"
table "ping-pong half round trip, us (median of 11 rounds)" 3
table "ping-pong bandwidth, MB/s (size / median half round trip)" 6

# goal TEXT A B SIZE FIELD le|ge TARGET: A/B of FIELD (3 half RTT, 6 MB/s)
# at SIZE against TARGET.
goal() {
	local text="$1" r met
	r=$(ratio "$(field "$2" "$4" "$5")" "$(field "$3" "$4" "$5")")
	if [ "$r" = - ]; then
		met="not measured"
	elif awk -v r="$r" -v t="$7" -v c="$6" 'BEGIN { exit !(c == "le" ? r <= t : r >= t) }'; then
		met=met
	else
		met="NOT met"
	fi
	printf '%-58s %9s %s%7s  %s\n' "$text" "$r" "$([ "$6" = le ] && echo '<=' || echo '>=')" "$7" "$met"
}
echo
echo "=== goals (ratios of this boot) ==="
printf '%-58s %9s %9s  %s\n' goal measured target met
goal "Open MPI cm/psm2 over the HFI, 8 B half RTT / vader" mpi_psm2 mpi_vader 8 3 le 4
goal "Open MPI cm/ofi over the HFI, 8 B half RTT / vader" mpi_ofi mpi_vader 8 3 le 4
goal "Open MPI cm/psm2 over the HFI, 4 MiB MB/s / memcpy" mpi_psm2 memcpy 4194304 6 ge 0.8
goal "Open MPI cm/ofi over the HFI, 4 MiB MB/s / memcpy" mpi_ofi memcpy 4194304 6 ge 0.8
echo
echo "what bounds them: the HFI alone (hfi_raw) against vader, 8 B half RTT:" \
	"$(ratio "$(field hfi_raw 8 3)" "$(field mpi_vader 8 3)");" \
	"psm-shim's share (psm2_spin / hfi_raw): $(ratio "$(field psm2_spin 8 3)" "$(field hfi_raw 8 3)");" \
	"Open MPI's (mpi_psm2 / psm2_spin): $(ratio "$(field mpi_psm2 8 3)" "$(field psm2_spin 8 3)")"
echo
# The worst half-RTT ratio eager / rendezvous over the sizes up to the
# threshold (8 KiB), and the size: eager must never be the slower one there.
eager_vs_rndv() {
	local s r worst=- at=-
	for s in $SIZES; do
		[ "$s" -le 8192 ] || continue
		r=$(ratio "$(field psm2_spin "$s" 3)" "$(field psm2_rndv "$s" 3)")
		[ "$r" != - ] || continue
		if [ "$worst" = - ] || awk -v a="$r" -v b="$worst" 'BEGIN { exit !(a > b) }'; then
			worst=$r
			at=$s
		fi
	done
	echo "$worst (at $(human "${at/-/0}"))"
}
echo "eager/rendezvous threshold: PSM2 half RTT eager / rendezvous, worst size <= 8 KiB:" \
	"$(eager_vs_rndv) (goal <= 1); above it, rendezvous at 16 KiB / eager at 4 KiB" \
	"in MB/s (no dip at the crossover, goal >= 1):" \
	"$(ratio "$(field psm2_spin 16384 6)" "$(field psm2_spin 4096 6)")"
echo "registration cache, PSM2 MB/s with / without (psm2_wait / psm2_nocache):" \
	"64 KiB $(ratio "$(field psm2_wait 65536 6)" "$(field psm2_nocache 65536 6)")," \
	"1 MiB $(ratio "$(field psm2_wait 1048576 6)" "$(field psm2_nocache 1048576 6)")," \
	"4 MiB $(ratio "$(field psm2_wait 4194304 6)" "$(field psm2_nocache 4194304 6)")"
echo "windows ahead, PSM2 MB/s at 512 KiB windows with / without (psm2_lowlock / psm2_lowlock_noahead):" \
	"1 MiB $(ratio "$(field psm2_lowlock 1048576 6)" "$(field psm2_lowlock_noahead 1048576 6)")," \
	"4 MiB $(ratio "$(field psm2_lowlock 4194304 6)" "$(field psm2_lowlock_noahead 4194304 6)")"
echo "blocking wait, PSM2 half RTT sleeping at once / polling first (psm2_sleep / psm2_wait):" \
	"8 B $(ratio "$(field psm2_sleep 8 3)" "$(field psm2_wait 8 3)")," \
	"4 KiB $(ratio "$(field psm2_sleep 4096 3)" "$(field psm2_wait 4096 3)")," \
	"64 KiB $(ratio "$(field psm2_sleep 65536 3)" "$(field psm2_wait 65536 3)")"
echo "inline expected sends, PSM2 MB/s inline / by the engines (psm2_wait / psm2_engine):" \
	"64 KiB $(ratio "$(field psm2_wait 65536 6)" "$(field psm2_engine 65536 6)")," \
	"1 MiB $(ratio "$(field psm2_wait 1048576 6)" "$(field psm2_engine 1048576 6)")," \
	"4 MiB $(ratio "$(field psm2_wait 4194304 6)" "$(field psm2_engine 4194304 6)")"

echo
echo "DRVOPS-CSV-BEGIN"
echo "method,bytes,half_rtt_us,min_us,max_us,mb_per_s,round_trips_per_round"
for m in "${METHODS[@]}"; do
	awk -v m="$m" '{ printf "%s,%s,%s,%s,%s,%s,%s\n", m, $2, $3, $4, $5, $6, $7 }' "$OUT/$m"
done
echo "DRVOPS-CSV-END"
finish
