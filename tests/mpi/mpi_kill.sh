#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kill -9 of an Open MPI rank in the middle of a large transfer over our
# libpsm2.so.2. Two ranks (rank 0 on hfi0, rank 1 on hfi1) ping-pong 4, 8 and
# 16 MiB messages in a loop (bin/mpi_stream); once round trips are flowing one
# rank is killed with SIGKILL, first rank 1, then (a new job) rank 0. Each
# time:
#   - mpirun returns, non-zero, well before its timeout (nothing hangs), and
#     the surviving rank has ended (error or torn down by mpirun);
#   - the broker's /sys/kernel/debug/ib_drvops/stats (files, live_files,
#     bindings) are back to their values from before the job;
# and afterwards a fresh ping-pong (bin/mpi_pingpong, 0 B..4 MiB) passes and
# the kernel log gained no warning, bug or oops (the host scans it as well).
set -uo pipefail
cd "$(dirname "$0")" || exit 1
. ./lib.bash

STATS=/sys/kernel/debug/ib_drvops/stats
JOB_TIMEOUT=150    # the whole mpirun of one round, s
START_TIMEOUT=100  # until round trips flow, s
END_TIMEOUT=60     # from the kill until mpirun returns, s
SETTLE_TIMEOUT=20  # until the stats are back, s
WORK="$(mktemp -d /tmp/mpi_kill.XXXXXX)" || exit 1
JOB_PID=""

cleanup() {
	rm -rf "$WORK"
	hfi1_names_undo
}

hfi1_names_for_openmpi || { echo "FAIL: cannot give Open MPI the hfi1 names it looks for"; exit 1; }
trap cleanup EXIT

# mpirun without lib.bash's "timeout 280": we bound each job ourselves.
[ "${MPIRUN[0]}" = timeout ] || { echo "FAIL: lib.bash MPIRUN does not start with timeout"; exit 1; }
MPIRUN_BARE=("${MPIRUN[@]:2}")

stats() { tr '\n' ' ' <"$STATS" | sed 's/ $//'; }

dmesg_all() { dmesg 2>/dev/null || /drvops/busybox dmesg; }

# wait_stats WANT: poll until the stats equal WANT (SETTLE_TIMEOUT).
wait_stats() {
	local want="$1" now i
	for ((i = 0; i < SETTLE_TIMEOUT * 10; i++)); do
		now="$(stats)" || return
		[ "$now" = "$want" ] && { echo "stats: $now"; return 0; }
		sleep 0.1
	done
	echo "stats: $now, before the job: $want"
	return 1
}

# stop_job: end a job that is still running (a failed round): SIGTERM to
# timeout, which passes it to mpirun, which ends its ranks; then SIGKILL.
stop_job() {
	local i
	[ -n "$JOB_PID" ] || return 0
	kill "$JOB_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$JOB_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$JOB_PID" 2>/dev/null
	wait "$JOB_PID" 2>/dev/null
	JOB_PID=""
}

# kill_round VICTIM: one job, VICTIM (rank 0 or 1) killed mid-stream.
# (check runs it in a subshell: the job is its child, stopped here.)
kill_round() {
	local rc
	kill_round_body "$@"
	rc=$?
	stop_job
	return "$rc"
}

kill_round_body() {
	local victim="$1" survivor=$((1 - $1)) log="$WORK/job$1.log"
	local before during vpid spid it i rc t_kill waited
	before="$(stats)" || { echo "cannot read $STATS"; return 1; }
	echo "stats before: $before"

	HFI_UNITS="0 1" timeout -k 5 "$JOB_TIMEOUT" "${MPIRUN_BARE[@]}" -np 2 \
		./hfi_unit_by_rank "$MPI_BIN/mpi_stream" $((JOB_TIMEOUT - 30)) \
		>"$log" 2>&1 &
	JOB_PID=$!

	# Two round trips done: the stream runs; the next one is in flight.
	for ((i = 0; i < START_TIMEOUT * 10; i++)); do
		grep -q '^ITER 2 ' "$log" && break
		kill -0 "$JOB_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^ITER 2 ' "$log"; then
		echo "no two round trips within ${START_TIMEOUT}s:"
		sed 's/^/  | /' "$log"
		return 1
	fi
	vpid="$(awk -v r="$victim" '$1 == "READY" && $3 == r { print $5 }' "$log")"
	spid="$(awk -v r="$survivor" '$1 == "READY" && $3 == r { print $5 }' "$log")"
	if [ -z "$vpid" ] || [ -z "$spid" ]; then
		echo "no READY lines"
		sed 's/^/  | /' "$log"
		return 1
	fi
	[ "$(cat "/proc/$vpid/comm" 2>/dev/null)" = mpi_stream ] ||
		{ echo "pid $vpid (rank $victim) is not mpi_stream"; return 1; }

	# the job's contexts are counted by the broker, so "back to before"
	# below means they were released
	during="$(stats)"
	echo "stats while streaming: $during"
	[ "$during" != "$before" ] || { echo "the running job does not show in $STATS"; return 1; }
	it="$(grep -c '^ITER ' "$log")"
	kill -9 "$vpid" || { echo "kill -9 $vpid failed"; return 1; }
	t_kill=$SECONDS
	echo "killed rank $victim (pid $vpid) after $it round trips of 4-16 MiB"

	wait "$JOB_PID"
	rc=$?
	JOB_PID=""
	waited=$((SECONDS - t_kill))
	echo "mpirun returned rc=$rc ${waited}s after the kill"
	grep -E '^(ERROR|TIMEUP)|noticed|signal|abort' "$log" | head -n 8 | sed 's/^/  | /'
	# (mpirun itself exits 128+9 when a rank died of SIGKILL: a hang is
	# told by the time, or timeout's own 124.)
	if [ "$rc" = 124 ] || [ "$waited" -gt "$END_TIMEOUT" ]; then
		echo "mpirun hung: ${waited}s after the kill (limit ${END_TIMEOUT}s, job timeout ${JOB_TIMEOUT}s)"
		return 1
	fi
	[ "$rc" != 0 ] || { echo "mpirun reported success although rank $victim was killed"; return 1; }
	grep -q "process rank $victim .*exited on signal 9" "$log" ||
		{ echo "mpirun did not report rank $victim's SIGKILL"; return 1; }
	grep -q '^TIMEUP' "$log" && { echo "the stream ended by itself: the kill came too late"; return 1; }

	# The survivor got an error or was torn down: it is gone.
	for ((i = 0; i < 50; i++)); do
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$spid" 2>/dev/null; then
		echo "rank $survivor (pid $spid) still runs after mpirun returned"
		return 1
	fi
	if grep -q "^ERROR rank $survivor" "$log"; then
		echo "rank $survivor got an error: $(grep -m1 "^ERROR rank $survivor" "$log")"
	else
		echo "rank $survivor was ended by mpirun"
	fi
	if pgrep -x mpi_stream >/dev/null; then
		echo "mpi_stream processes left: $(pgrep -x mpi_stream | tr '\n' ' ')"
		return 1
	fi
	wait_stats "$before"
}

fresh_pingpong() {
	local before out rc
	before="$(stats)" || return
	out="$(HFI_UNITS="0 1" timeout -k 5 120 "${MPIRUN_BARE[@]}" -np 2 \
		./hfi_unit_by_rank "$MPI_BIN/mpi_pingpong" $((4 << 20)) 2>&1)"
	rc=$?
	echo "$out" | tail -n 4
	[ "$rc" = 0 ] || { echo "mpirun: rc=$rc"; return 1; }
	grep -q '^OK: 0 data errors' <<<"$out" || { echo "no 'OK: 0 data errors'"; return 1; }
	wait_stats "$before"
}

no_kernel_warning() {
	local new
	new="$(dmesg_all | tail -n +$((DMESG_LINES + 1)))"
	if grep -E 'WARNING:|BUG:|Oops|Call Trace|refcount_t|list_del corruption' <<<"$new"; then
		return 1
	fi
	echo "$(grep -c . <<<"$new") new kernel log line(s), none matches"
}

[ -r "$STATS" ] || { echo "FAIL: $STATS not readable"; exit 1; }
BASELINE="$(stats)"
DMESG_LINES="$(dmesg_all | wc -l)"
echo "INFO: broker stats at the start: $BASELINE"

check "kill -9 rank 1 (receiver, hfi1) mid-stream: mpirun returns, rank 0 ends, broker stats restored" \
	kill_round 1
check "kill -9 rank 0 (sender, hfi0) mid-stream: mpirun returns, rank 1 ends, broker stats restored" \
	kill_round 0
check "broker stats equal those from before the first job" wait_stats "$BASELINE"
check "a fresh ping-pong 0 B..4 MiB across hfi0/hfi1 passes afterwards" fresh_pingpong
check "kernel log clean during the script (no warning, bug or oops)" no_kernel_warning
finish
