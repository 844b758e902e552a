#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Unmodified Open MPI over our libpsm2.so.2: two ranks, rank 0 on unit
# hfi0, rank 1 on unit hfi1 (HFI_UNIT per rank, hfi_unit_by_rank), ping-pong
# with a data check for every size from 0 B to 16 MiB (bin/mpi_pingpong,
# built on the host by tests/mpi/Makefile). The driver's per-unit debugfs
# rx_bytes must rise by at least the payload each unit received: proof the
# traffic went through the HFI and not through shared memory (see MPIRUN in
# lib.bash: pml cm + mtl psm2, btl self only).
set -uo pipefail
cd "$(dirname "$0")" || exit 1
. ./lib.bash
hfi1_names_for_openmpi || { echo "FAIL: cannot give Open MPI the hfi1 names it looks for"; exit 1; }

pingpong_two_units() {
	local rx0_before rx1_before rx0_after rx1_after out rc to1="" to0=""
	rx0_before=$(rx_bytes hfi0) && rx1_before=$(rx_bytes hfi1) || return
	out="$(HFI_UNITS="0 1" "${MPIRUN[@]}" -np 2 \
		./hfi_unit_by_rank "$MPI_BIN/mpi_pingpong" 2>&1)"
	rc=$?
	echo "$out"
	[ "$rc" = 0 ] || { echo "mpirun: rc=$rc"; return 1; }
	rx0_after=$(rx_bytes hfi0) && rx1_after=$(rx_bytes hfi1) || return
	# (no process substitution: the guest has no /dev/fd)
	read -r to1 to0 <<<"$(awk '/^PAYLOAD/ { print $3, $5 }' <<<"$out")"
	[ -n "$to1" ] && [ -n "$to0" ] || { echo "no PAYLOAD line"; return 1; }
	echo "hfi1 rx_bytes +$((rx1_after - rx1_before)) (rank 0 sent $to1)"
	echo "hfi0 rx_bytes +$((rx0_after - rx0_before)) (rank 1 sent $to0)"
	[ $((rx1_after - rx1_before)) -ge "$to1" ] ||
		{ echo "hfi1 received less than rank 0 sent"; return 1; }
	[ $((rx0_after - rx0_before)) -ge "$to0" ] ||
		{ echo "hfi0 received less than rank 1 sent"; return 1; }
}

check "ping-pong 0 B..16 MiB, rank 0 on hfi0, rank 1 on hfi1, counted by the driver" \
	pingpong_two_units
finish
