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

ops_on_units() {
	run_counted "$1" "$MPI_BIN/mpi_ops"
}

echo "locked-memory limit: $(ulimit -l) KiB (pinning: tids and sends in flight)"
check "2 ranks (hfi0, hfi1): nonblocking, probes, cancel, collectives, counted by the driver" \
	ops_on_units 2
check "4 ranks, two per unit: nonblocking, probes, cancel, collectives, counted by the driver" \
	ops_on_units 4
finish
