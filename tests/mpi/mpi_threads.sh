#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# MPI_THREAD_MULTIPLE over our libpsm2.so.2 (bin/mpi_threads): 4 threads
# per rank, each in its own tag space and all in one shared tag, blocking
# and nonblocking, 0 B .. 1 MiB, data checked, every shared-tag message
# received exactly once; with 2 ranks (hfi0, hfi1) and with 4 ranks, two
# per unit. Counted by the driver like mpi_ops.sh. MPIRUN (lib.bash): pml
# cm + mtl psm2, so every thread's traffic goes through the library.
set -uo pipefail
cd "$(dirname "$0")" || exit 1
. ./lib.bash
hfi1_names_for_openmpi || { echo "FAIL: cannot give Open MPI the hfi1 names it looks for"; exit 1; }

threads_on_units() {
	run_counted "$1" "$MPI_BIN/mpi_threads"
}

check "2 ranks x 4 threads (hfi0, hfi1): own and shared tags, counted by the driver" \
	threads_on_units 2
check "4 ranks x 4 threads, two per unit: own and shared tags, counted by the driver" \
	threads_on_units 4
finish
