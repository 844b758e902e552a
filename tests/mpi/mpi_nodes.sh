#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Open MPI over our libpsm2.so.2 with Intel's default devices,
# PSM2_DEVICES=self,shm,hfi (given explicitly: with every rank on one node
# Open MPI's psm2 MTL would ask for self,shm), where each endpoint reaches
# peers of its node through shared memory and the others through the HFI.
#   one node   4 ranks: every byte through shm, the units' rx_bytes +0
#              (each rank still holds an HFI context)
#   two nodes  ranks 0,1 on node A (hfi0, the guest's /dev/shm), ranks 2,3
#              on node B (hfi1, a mount namespace each with one shared
#              directory as /dev/shm: emulated_node): every pair exchanges
#              8 B, 20000 B and 1 MiB + 3, data checked (mpi_all_pairs);
#              each unit must receive at least what crossed into its node
#              and less than that plus half of what stayed inside it.
set -uo pipefail
cd "$(dirname "$0")" || exit 1
. ./lib.bash
hfi1_names_for_openmpi || { echo "FAIL: cannot give Open MPI the hfi1 names it looks for"; exit 1; }

DEFAULT_MPIRUN=(timeout 280 mpirun --allow-run-as-root --oversubscribe
	--mca pml cm --mca mtl psm2 --mca btl self
	-x LD_LIBRARY_PATH="$PSM2_DIR" -x HFI_UNITS -x NODE_B_RANKS -x NODE_B_SHM
	-x PSM2_DEVICES=self,shm,hfi)

NODE_B_SHM=/tmp/drvops-node-b-shm
export NODE_B_SHM

one_node() {
	local before0 before1 out rc
	before0=$(rx_bytes hfi0) && before1=$(rx_bytes hfi1) || return
	out="$(HFI_UNITS="0 1" NODE_B_RANKS="" "${DEFAULT_MPIRUN[@]}" -np 4 \
		./hfi_unit_by_rank "$MPI_BIN/mpi_all_pairs" 2>&1)"
	rc=$?
	grep -v '^RECV ' <<<"$out"
	[ "$rc" = 0 ] || { echo "mpirun: rc=$rc"; return 1; }
	echo "hfi0 rx_bytes +$(($(rx_bytes hfi0) - before0)), hfi1 +$(($(rx_bytes hfi1) - before1))"
	[ "$(rx_bytes hfi0)" = "$before0" ] && [ "$(rx_bytes hfi1)" = "$before1" ] ||
		{ echo "traffic between ranks of one node went over the fabric"; return 1; }
}

node_of() { case " $NODE_B_RANKS_LIST " in *" $1 "*) echo B ;; *) echo A ;; esac; }

two_nodes() {
	local before0 before1 out rc d0 d1 r from bytes
	local -A cross=([A]=0 [B]=0) inside=([A]=0 [B]=0)
	NODE_B_RANKS_LIST="2 3"
	mkdir -p "$NODE_B_SHM" &&
		{ mountpoint -q "$NODE_B_SHM" || mount -t tmpfs -o mode=1777 tmpfs "$NODE_B_SHM"; } ||
		return
	before0=$(rx_bytes hfi0) && before1=$(rx_bytes hfi1) || return
	out="$(HFI_UNITS="0 0 1 1" NODE_B_RANKS="$NODE_B_RANKS_LIST" \
		"${DEFAULT_MPIRUN[@]}" -np 4 ./emulated_node ./hfi_unit_by_rank \
		"$MPI_BIN/mpi_all_pairs" 2>&1)"
	rc=$?
	d0=$(($(rx_bytes hfi0) - before0))
	d1=$(($(rx_bytes hfi1) - before1))
	umount "$NODE_B_SHM"
	grep -v '^RECV ' <<<"$out"
	[ "$rc" = 0 ] || { echo "mpirun: rc=$rc"; return 1; }
	while read -r _ r from bytes; do
		if [ "$(node_of "$r")" = "$(node_of "$from")" ]; then
			inside[$(node_of "$r")]=$((inside[$(node_of "$r")] + bytes))
		else
			cross[$(node_of "$r")]=$((cross[$(node_of "$r")] + bytes))
		fi
	done <<<"$(grep '^RECV ' <<<"$out")"
	echo "node A (hfi0): rx_bytes +$d0; its ranks received ${cross[A]} from node B, ${inside[A]} from each other"
	echo "node B (hfi1): rx_bytes +$d1; its ranks received ${cross[B]} from node A, ${inside[B]} from each other"
	[ "${cross[A]}" -gt 0 ] && [ "${inside[A]}" -gt 0 ] &&
		[ "${cross[B]}" -gt 0 ] && [ "${inside[B]}" -gt 0 ] ||
		{ echo "missing RECV lines"; return 1; }
	[ "$d0" -ge "${cross[A]}" ] && [ "$d1" -ge "${cross[B]}" ] ||
		{ echo "a unit received less than crossed into its node"; return 1; }
	[ "$d0" -lt $((cross[A] + inside[A] / 2)) ] && [ "$d1" -lt $((cross[B] + inside[B] / 2)) ] ||
		{ echo "traffic inside a node went over the fabric"; return 1; }
}

check "default devices, one node: 4 ranks all pairs through shm, nothing on the fabric" one_node
check "default devices, two emulated nodes: shm inside each, the HFI between them" two_nodes
finish
