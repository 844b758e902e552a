#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Open MPI over our libpsm2.so.2 as an ordinary user (mpiuser, uid 1000:
# no CAP_IPC_LOCK) with Debian's default RLIMIT_MEMLOCK of 8 MiB, as a
# cluster user runs it: the 0 B..16 MiB ping-pong (data checked) and the
# MPI_THREAD_MULTIPLE program, counted by the driver. Rendezvous receives
# larger than the limit must still land in place, in windows the library
# caps to a quarter of the limit: its "could not be pinned ... two copies"
# message must not appear. The script itself runs as root (it renames the
# unit and reads the driver's debugfs counters); only mpirun drops to the
# user.
set -uo pipefail
cd "$(dirname "$0")" || exit 1
. ./lib.bash
hfi1_names_for_openmpi || { echo "FAIL: cannot give Open MPI the hfi1 names it looks for"; exit 1; }

MEMLOCK_KIB=8192
BY_RANK="$(pwd)/hfi_unit_by_rank"
USER_MPIRUN=(timeout 280 runuser -u mpiuser -- mpirun --oversubscribe
	--mca pml cm --mca mtl psm2 --mca btl self
	-x LD_LIBRARY_PATH="$PSM2_DIR" -x HFI_UNITS -x PSM2_DEVICES=self,hfi)

as_user() {
	local prog="$1" out rc before0 before1
	before0=$(rx_bytes hfi0) && before1=$(rx_bytes hfi1) || return
	out="$(ulimit -l "$MEMLOCK_KIB" && cd /tmp &&
		HFI_UNITS="0 1" "${USER_MPIRUN[@]}" -np 2 \
		"$BY_RANK" "$MPI_BIN/$prog" 2>&1)"
	rc=$?
	echo "$out"
	[ "$rc" = 0 ] || { echo "mpirun as mpiuser: rc=$rc"; return 1; }
	! grep -q "could not be pinned" <<<"$out" ||
		{ echo "a receive fell back to two copies"; return 1; }
	echo "hfi0 rx_bytes +$(($(rx_bytes hfi0) - before0)), hfi1 +$(($(rx_bytes hfi1) - before1))"
	[ $(($(rx_bytes hfi0) - before0)) -ge 16777216 ] &&
		[ $(($(rx_bytes hfi1) - before1)) -ge 16777216 ] ||
		{ echo "the units did not see the traffic"; return 1; }
}

whoami_check() {
	local id lim
	id="$(runuser -u mpiuser -- id -u)" && lim="$(ulimit -l "$MEMLOCK_KIB" && runuser -u mpiuser -- sh -c 'ulimit -l')" || return
	echo "mpiuser: uid $id, memlock $lim KiB"
	[ "$id" = 1000 ] && [ "$lim" = "$MEMLOCK_KIB" ]
}

check "mpiuser exists, memlock $MEMLOCK_KIB KiB" whoami_check
check "as mpiuser: ping-pong 0 B..16 MiB in place, counted by the driver" \
	as_user mpi_pingpong
check "as mpiuser: MPI_THREAD_MULTIPLE, counted by the driver" \
	as_user mpi_threads
finish
