#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# libfabric's psm2 provider (Debian's libfabric1 1.17, unmodified) over our
# libpsm2.so.2: libfabric links libpsm2.so.2, and $PSM2_DIR first in
# LD_LIBRARY_PATH makes that ours. The provider builds tagged messages on
# the PSM2 MQ, and RMA and atomics on PSM2 active messages.
#   fi_info -p psm2        the provider sees active units (info_query)
#   fi_pingpong -p psm2    two processes, 0 B .. 6 MiB and 16 MiB, data
#                          checked (-c)
#   fi_rma_atomic          fi_write/fi_read 8 B .. 1 MiB, fi_atomic,
#                          fi_fetch_atomic, fi_compare_atomic (ours)
#   Open MPI, ofi MTL      mpi_ops with --mca mtl ofi and FI_PROVIDER=psm2
# Each run must raise the units' rx_bytes (debugfs): the traffic crossed
# the emulated fabric. The provider leaves PSM2_DEVICES alone, so with
# Intel's default (self,shm,hfi) two processes of one node would meet in
# shared memory: these runs set self,hfi, and one fi_pingpong keeps the
# default to show exactly that (rx_bytes unchanged). Like Open MPI's psm2 MTL, the provider refuses to
# start unless a /dev/hfi1_N node exists (it globs /dev/hfi[0-9]_[0-9]):
# hfi1_names_for_openmpi (lib.bash) gives it one for the run.
set -uo pipefail
cd "$(dirname "$0")" || exit 1
. ./lib.bash
hfi1_names_for_openmpi || { echo "FAIL: cannot give libfabric the hfi1 names it looks for"; exit 1; }
export LD_LIBRARY_PATH="$PSM2_DIR"
export PSM2_DEVICES=self,hfi
T="timeout 120"

rx_total() {
	echo $(($(rx_bytes hfi0) + $(rx_bytes hfi1) + $(rx_bytes hfi2)))
}

# rx_rises BEFORE MIN: the units together received at least MIN more.
rx_rises() {
	local d=$(($(rx_total) - $1))
	echo "units' rx_bytes +$d (at least $2 expected)"
	[ "$d" -ge "$2" ]
}

fi_info_psm2() {
	local out rc
	out="$($T fi_info -p psm2 2>&1)"
	rc=$?
	echo "$out"
	[ "$rc" = 0 ] && grep -q "provider: psm2" <<<"$out" &&
		grep -q "domain: hfi1_" <<<"$out"
}

# fi_pingpong_run ARGS...: server and client (this node), data checked (-c).
fi_pingpong_run() {
	local srv rc src
	$T fi_pingpong -p psm2 -e rdm -c "$@" >/tmp/pp-server.log 2>&1 &
	srv=$!
	sleep 2
	$T fi_pingpong -p psm2 -e rdm -c "$@" 127.0.0.1
	rc=$?
	wait "$srv"
	src=$?
	echo "server (rc=$src):"
	sed 's/^/  /' /tmp/pp-server.log
	[ "$rc" = 0 ] && [ "$src" = 0 ]
}

# fi_pingpong_pair MIN_RX FI_PINGPONG_ARGS...: the units must receive at
# least MIN_RX more.
fi_pingpong_pair() {
	local min="$1" before
	shift
	before=$(rx_total)
	fi_pingpong_run "$@" || return 1
	rx_rises "$before" "$min"
}

# Intel's default devices: the pair meets in shared memory, data checked,
# nothing on the fabric.
fi_pingpong_default_devices() {
	local before
	before=$(rx_total)
	(unset PSM2_DEVICES; fi_pingpong_run -S all -I 10) || return 1
	echo "units' rx_bytes +$(($(rx_total) - before))"
	[ "$(rx_total)" = "$before" ]
}

rma_atomic() {
	local before rc
	before=$(rx_total)
	$T "$MPI_BIN/fi_rma_atomic"
	rc=$?
	[ "$rc" = 0 ] || return 1
	rx_rises "$before" 1000000
}

ompi_ofi() {
	# (run_counted uses MPIRUN: this one, for this call only)
	local -a MPIRUN=(timeout 280 mpirun --allow-run-as-root --oversubscribe
		--mca pml cm --mca mtl ofi --mca mtl_ofi_provider_include psm2
		--mca btl self
		-x LD_LIBRARY_PATH="$PSM2_DIR" -x HFI_UNITS -x FI_PROVIDER=psm2
		-x PSM2_DEVICES)
	run_counted 2 "$MPI_BIN/mpi_ops"
}

check "fi_info -p psm2 lists the provider and its domains" fi_info_psm2
check "fi_pingpong -p psm2, 0 B .. 6 MiB, data checked" \
	fi_pingpong_pair 1000000 -S all -I 10
# "all" stops at 6 MiB in 1.17: 16 MiB on its own.
check "fi_pingpong -p psm2, 16 MiB, data checked" \
	fi_pingpong_pair $((2 * 3 * 16777216)) -S 16777216 -I 3
check "fi_pingpong -p psm2, default PSM2_DEVICES: through shm, nothing on the fabric" \
	fi_pingpong_default_devices
check "RMA and atomics over the psm2 provider (fi_rma_atomic)" rma_atomic
check "Open MPI, ofi MTL over psm2: nonblocking, probes, cancel, collectives" ompi_ofi
finish
