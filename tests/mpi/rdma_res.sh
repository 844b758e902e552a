#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `rdma res show` (iproute2, Debian's) lists what our devices hold: ib_core's
# restrack tracks the PDs, MRs and CQs made on them like any device's. A
# process holding a PD, a 64 KiB MR (bound to an sdma.opa driver-ops fd)
# and a CQ on hfi0 shows in `rdma res show pd|mr|cq dev hfi0` with its pid
# and name, and in the device's summary; once it is killed (kill -9),
# nothing of it is listed. Runs as root in the MPI guest.
set -uo pipefail

cd "$(dirname "$0")" && . ./lib.bash

T="timeout 60"
pid=
ready=

# The holder runs beside the checks (each check runs in a subshell).
coproc HOLD { exec "$MPI_BIN/res_hold" 0; }
read -r -t 30 ready <&"${HOLD[0]}" || ready=
[[ "$ready" == "ready pid "* ]] && pid="$(awk '{ print $3 }' <<<"$ready")"

holding() {
	echo "res_hold: ${ready:-said nothing}"
	[ -n "$pid" ]
}

# listed KIND: the holder's object of KIND on hfi0, with its pid and comm.
listed() {
	local out
	[ -n "$pid" ] || return 1
	out="$($T rdma res show "$1" dev hfi0)" || return
	echo "$out"
	grep -E "pid $pid( |$)" <<<"$out" | grep -q 'comm res_hold' ||
		{ echo "no $1 of pid $pid (res_hold) on hfi0"; return 1; }
	[ "$1" != mr ] || grep "pid $pid " <<<"$out" | grep -q 'mrlen 65536' ||
		{ echo "the MR is not 65536 bytes long"; return 1; }
}

summary_counts() {
	local out
	out="$($T rdma res show)" || return
	echo "$out"
	grep -E '^[0-9]+: hfi0: ' <<<"$out" | grep -E 'pd [1-9]' | grep -E 'cq [1-9]' |
		grep -qE 'mr [1-9]' || { echo "hfi0's summary does not count them"; return 1; }
}

gone_after_kill() {
	local kind out i
	[ -n "$pid" ] || return 1
	for i in $(seq 50); do
		out="$($T rdma res show pd dev hfi0; $T rdma res show mr dev hfi0;
		       $T rdma res show cq dev hfi0)"
		grep -qE "pid $pid( |$)" <<<"$out" || break
		sleep 0.1
	done
	echo "$out"
	for kind in pd mr cq; do
		! grep -qE "pid $pid( |$)" <<<"$out" || { echo "pid $pid still listed"; return 1; }
	done
}

check "res_hold holds a PD, an MR (bound) and a CQ on hfi0" holding
check "rdma res show pd lists it" listed pd
check "rdma res show mr lists it (65536 bytes)" listed mr
check "rdma res show cq lists it" listed cq
check "rdma res show counts them for hfi0" summary_counts
# Not in a subshell: the holder is our child.
echo "kill -9 of res_hold (pid ${pid:-none})"
[ -z "$pid" ] || { kill -9 "$pid"; wait "$pid" 2>/dev/null; }
check "kill -9: nothing of it is listed" gone_after_kill
finish
