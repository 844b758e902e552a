# SPDX-License-Identifier: GPL-2.0
#
# Sourced by both guests' init (tests/vm/guest-init.sh, busybox; and
# tests/vm/mpi-init.sh, Debian): the parameters our modules load with, and
# how they are unloaded at the end. POSIX sh. Callers may set RMMOD (the
# rmmod command) and allow_missing=1 (test-bed development).

GENERIC_PARAMS="num_devices=2 legacy_devices=1"
# Two current HFI units and one "old driver build" (psm2.intel.com only).
HFI_PARAMS="num_units=3 legacy_units=1"

params_of() {
	case "$1" in
	drvops_generic) echo "$GENERIC_PARAMS" ;;
	drvops_hfi) echo "$HFI_PARAMS" ;;
	esac
}

# unload_modules M...: rmmod each, in order, and print "DRVOPS-RMMOD m rc=N"
# for the host to judge: once everything is closed, each must go.
unload_modules() {
	for m in "$@"; do
		if [ ! -d "/sys/module/$m" ]; then
			if [ "${allow_missing:-0}" = 1 ]; then
				echo "DRVOPS-SKIP rmmod $m: not loaded"
			else
				echo "DRVOPS-NOTE rmmod $m: not loaded"
				echo "DRVOPS-RMMOD $m rc=1"
			fi
			continue
		fi
		# Releases may finish asynchronously: retry a few times.
		i=0
		while :; do
			out="$(${RMMOD:-rmmod} "$m" 2>&1)"
			rc=$?
			[ "$rc" = 0 ] && break
			i=$((i + 1))
			[ "$i" -ge 5 ] && break
			sleep 1
		done
		[ "$rc" = 0 ] ||
			echo "DRVOPS-NOTE rmmod $m: $out (refcnt $(cat "/sys/module/$m/refcnt" 2>/dev/null || echo -))"
		echo "DRVOPS-RMMOD $m rc=$rc"
	done
}

# dump_tasks: every user task's state, wait channel and kernel stack, and
# those of kernel threads in D state (a stuck worker or teardown). Read from
# /proc, not sysrq: its "Call Trace" would fail a run whose CMD then ends well.
dump_tasks() {
	for d in /proc/[0-9]*; do
		for t in "$d"/task/*; do
			st="$(grep '^State:' "$t/status" 2>/dev/null)"
			# Kernel threads have no executable.
			if ! readlink "$d/exe" >/dev/null 2>&1; then
				case "$st" in *D*) ;; *) continue ;; esac
			fi
			echo "== pid ${d#/proc/} tid ${t##*/} $(cat "$t/comm" 2>/dev/null)" \
				"$st wchan $(cat "$t/wchan" 2>/dev/null)"
			cat "$t/stack" 2>/dev/null
		done
	done
}

# run_watched SECS CMD...: CMD under `timeout SECS` (its status returned).
# If it still runs 10 s before the timeout, where every task is goes to the
# console between DRVOPS-STUCK-BEGIN/END first: a hang that only a rare CI
# run shows says where it hangs.
run_watched() {
	secs="$1"
	shift
	timeout -k 10 "$secs" "$@" &
	cmd_pid=$!
	watch_after=$((secs > 20 ? secs - 10 : secs / 2))
	(
		# busybox runs sleep in this process: SIGTERM ends the wait.
		sleep "$watch_after"
		# From here on a dump is finished, its section closed.
		trap '' TERM
		kill -0 "$cmd_pid" 2>/dev/null || exit 0
		echo "DRVOPS-STUCK-BEGIN $* still running after $watch_after s"
		dump_tasks
		echo "DRVOPS-STUCK-END"
	) &
	watch_pid=$!
	wait "$cmd_pid"
	watched_rc=$?
	kill "$watch_pid" 2>/dev/null
	wait "$watch_pid" 2>/dev/null
	return "$watched_rc"
}

# check_run_watched: the watcher itself, before any suite relies on it. A
# finished command must not wait for the watcher (busybox once kept every
# binary for its whole watch time), and one that hangs must get its dump
# (captured here, not on the console) and the timeout's status.
check_run_watched() {
	t0=$(date +%s)
	run_watched 30 true >/dev/null 2>&1
	rc=$?
	t=$(($(date +%s) - t0))
	[ "$rc" = 0 ] && [ "$t" -le 3 ] ||
		echo "DRVOPS-ERROR test bed: run_watched 30 true took ${t} s, rc=$rc"
	out="$(run_watched 4 sleep 30 2>&1)"
	rc=$?
	case "$out" in
	*DRVOPS-STUCK-BEGIN*"== pid "*DRVOPS-STUCK-END*) ;;
	*) echo "DRVOPS-ERROR test bed: no task dump before the timeout" ;;
	esac
	case "$rc" in
	124|143) ;;
	*) echo "DRVOPS-ERROR test bed: a timed-out command returned $rc" ;;
	esac
}
