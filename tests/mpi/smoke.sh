#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Smoke test of the MPI guest (tests/vm/run.sh --mpi): Debian's Open MPI
# runs, its psm2 MTL is there, and with $DRVOPS_PSM2_DIR first in
# LD_LIBRARY_PATH it links our libpsm2.so.2 (build/psm-shim), not Debian's.
# Runs as root in the guest; prints "N passed, N failed" at the end.
set -uo pipefail

cd "$(dirname "$0")" && . ./lib.bash

# The guest kills the whole script after drvops.timeout; T bounds each step.
T="timeout 120"

mpirun_hostname() {
	local out n
	out="$($T mpirun --allow-run-as-root --oversubscribe -np 2 hostname)" || return
	echo "$out"
	n="$(grep -cx "$(hostname)" <<<"$out")"
	[ "$n" = 2 ] || { echo "expected 2 lines '$(hostname)', got $n"; return 1; }
}

psm2_mtl_listed() {
	local out
	out="$($T ompi_info)" || return
	grep -i psm2 <<<"$out"
	# (the "Configure command line" matches psm2 too: judge on the MCA line)
	grep -qi 'MCA mtl: psm2' <<<"$out"
}

mtl_links_our_psm2() {
	local so line
	so="$(find / -xdev -name mca_mtl_psm2.so -print -quit)"
	[ -n "$so" ] || { echo "mca_mtl_psm2.so not found"; return 1; }
	echo "$so:"
	LD_LIBRARY_PATH="$PSM2_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" $T ldd "$so" || return
	line="$(LD_LIBRARY_PATH="$PSM2_DIR" ldd "$so" | grep 'libpsm2\.so\.2')"
	[[ "$line" == *"=> $PSM2_DIR/libpsm2.so.2 "* ]] ||
		{ echo "libpsm2.so.2 does not resolve to $PSM2_DIR/libpsm2.so.2: $line"; return 1; }
}

check "mpirun -np 2 hostname" mpirun_hostname
check "ompi_info lists the psm2 MTL" psm2_mtl_listed
check "mca_mtl_psm2.so resolves libpsm2.so.2 to $PSM2_DIR" mtl_links_our_psm2

# For the log (mpi_pingpong.sh judges it for real): Open MPI's psm2 MTL
# loads with our library first in the path.
echo "INFO: with LD_LIBRARY_PATH=$PSM2_DIR: $(LD_LIBRARY_PATH="$PSM2_DIR" timeout 120 ompi_info 2>&1 |
	grep -i 'mtl: psm2' || echo 'psm2 MTL NOT listed')"

finish
