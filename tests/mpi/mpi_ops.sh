#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Open MPI over our libpsm2.so.2 beyond ping-pong (bin/mpi_ops): nonblocking
# send/receive, Probe/Iprobe/Mprobe/Improbe, Cancel of a receive,
# Allreduce, Alltoall, Bcast; with 2 ranks (hfi0, hfi1) and with 4 ranks,
# two per unit (ranks 0, 2 on hfi0; 1, 3 on hfi1: same-unit pairs cross
# the HFI too, our library has no shared-memory path). Each run must make
# every unit's debugfs rx_bytes rise by at least the payload its ranks
# received (RXMIN lines of mpi_ops). MPIRUN (lib.bash): pml cm + mtl psm2.
set -uo pipefail
cd "$(dirname "$0")" || exit 1
. ./lib.bash
hfi1_names_for_openmpi || { echo "FAIL: cannot give Open MPI the hfi1 names it looks for"; exit 1; }

# ops_on_units NP: mpi_ops on NP ranks, rank r on unit r % 2.
ops_on_units() {
	local np="$1" out rc before0 before1 d0 d1 want0=0 want1=0 r bytes
	before0=$(rx_bytes hfi0) && before1=$(rx_bytes hfi1) || return
	out="$(HFI_UNITS="0 1" "${MPIRUN[@]}" -np "$np" \
		./hfi_unit_by_rank "$MPI_BIN/mpi_ops" 2>&1)"
	rc=$?
	echo "$out"
	[ "$rc" = 0 ] || { echo "mpirun: rc=$rc"; return 1; }
	d0=$(($(rx_bytes hfi0) - before0))
	d1=$(($(rx_bytes hfi1) - before1))
	while read -r _ r bytes; do
		if [ $((r % 2)) = 0 ]; then
			want0=$((want0 + bytes))
		else
			want1=$((want1 + bytes))
		fi
	done <<<"$(grep '^RXMIN ' <<<"$out")"	# the guest has no /dev/fd
	echo "hfi0 rx_bytes +$d0 (its ranks received at least $want0)"
	echo "hfi1 rx_bytes +$d1 (its ranks received at least $want1)"
	[ "$want0" -gt 0 ] && [ "$want1" -gt 0 ] || { echo "no RXMIN lines"; return 1; }
	[ "$d0" -ge "$want0" ] && [ "$d1" -ge "$want1" ] ||
		{ echo "a unit received less than its ranks did"; return 1; }
}

echo "locked-memory limit: $(ulimit -l) KiB (pinning: tids and sends in flight)"
check "2 ranks (hfi0, hfi1): nonblocking, probes, cancel, collectives, counted by the driver" \
	ops_on_units 2
check "4 ranks, two per unit: nonblocking, probes, cancel, collectives, counted by the driver" \
	ops_on_units 4
finish
