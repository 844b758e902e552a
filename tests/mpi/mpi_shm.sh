#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Open MPI over our libpsm2.so.2 with PSM2_DEVICES=self,shm, as Open MPI's
# psm2 MTL asks when every rank is on one node: the ranks talk through
# psm-shim's shared-memory inboxes and CMA, without taking an HFI context.
# The ping-pong (0 B..16 MiB, data checked) and MPI_THREAD_MULTIPLE must
# pass with the units' rx_bytes unchanged: nothing went over the fabric.
set -uo pipefail
cd "$(dirname "$0")" || exit 1
. ./lib.bash
hfi1_names_for_openmpi || { echo "FAIL: cannot give Open MPI the hfi1 names it looks for"; exit 1; }

SHM_MPIRUN=(timeout 280 mpirun --allow-run-as-root --oversubscribe
	--mca pml cm --mca mtl psm2 --mca btl self
	-x LD_LIBRARY_PATH="$PSM2_DIR" -x PSM2_DEVICES=self,shm)

over_shm() {
	local before0 before1 out rc
	before0=$(rx_bytes hfi0) && before1=$(rx_bytes hfi1) || return
	out="$("${SHM_MPIRUN[@]}" -np "$1" "$MPI_BIN/$2" 2>&1)"
	rc=$?
	echo "$out"
	[ "$rc" = 0 ] || { echo "mpirun: rc=$rc"; return 1; }
	echo "hfi0 rx_bytes +$(($(rx_bytes hfi0) - before0)), hfi1 +$(($(rx_bytes hfi1) - before1))"
	[ "$(rx_bytes hfi0)" = "$before0" ] && [ "$(rx_bytes hfi1)" = "$before1" ] ||
		{ echo "traffic went over the fabric"; return 1; }
}

check "PSM2_DEVICES=self,shm: ping-pong 0 B..16 MiB, nothing on the fabric" \
	over_shm 2 mpi_pingpong
check "PSM2_DEVICES=self,shm: MPI_THREAD_MULTIPLE, nothing on the fabric" \
	over_shm 2 mpi_threads
finish
