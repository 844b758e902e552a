# SPDX-License-Identifier: GPL-2.0
#
# Helpers sourced by the MPI guest scripts (not run on its own: not *.sh).
# check NAME CMD...: run CMD, show its output indented, count PASS/FAIL.

PSM2_DIR="${DRVOPS_PSM2_DIR:-/drvops/psm2}"
MPI_BIN="${DRVOPS_MPI_DIR:-/drvops/mpi}/bin"
passed=0
failed=0

check() {
	local name="$1" out rc
	shift
	out="$("$@" 2>&1)"
	rc=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	if [ "$rc" = 0 ]; then
		echo "PASS: $name"
		passed=$((passed + 1))
	else
		echo "FAIL: $name (rc=$rc)"
		failed=$((failed + 1))
	fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}

# rx_bytes of ib device $1 (hfi0, ...) from the driver's debugfs counters.
rx_bytes() {
	awk '$1 == "rx_bytes" { print $2 }' \
		"/sys/kernel/debug/drvops_hfi/$1/counters"
}

# No shared memory: the cm PML drives the psm2 MTL, which hands every
# point-to-point message (ranks on the same node too) to libpsm2, i.e. our
# library, which has no shared-memory path: everything crosses the HFI.
# The vader (shared memory) BTL belongs to the ob1 PML, which cm replaces;
# "--mca btl self" keeps it from even being opened. With every rank on one
# node the MTL asks PSM2 for PSM2_DEVICES=self,shm (unless set), and with
# shm in the list both Intel's library and ours use shared memory between
# local ranks: self,hfi keeps everything on the fabric (mpi_shm.sh and
# mpi_nodes.sh test the other choices).
# Ranks pick their unit with hfi_unit_by_rank (HFI_UNITS="0 1": rank r
# gets unit ${HFI_UNITS[r % count]}).
MPIRUN=(timeout 280 mpirun --allow-run-as-root --oversubscribe
	--mca pml cm --mca mtl psm2 --mca btl self
	-x LD_LIBRARY_PATH="$PSM2_DIR" -x HFI_UNITS -x PSM2_DEVICES=self,hfi)

# Open MPI 4.1.4's psm2 MTL opens only if it sees Intel's hfi1 driver:
# component_open() globs /dev/hfi1_[0-9] and
# /sys/class/infiniband/hfi1_*/ports/*/state (one must say ACTIVE), the
# hard-coded names drvops exists to avoid; otherwise "PML cm cannot be
# selected". Our units are hfi0..2 behind /dev/infiniband/uverbsN, so for
# the test: name unit 0 "hfi1_0" (rdma dev set; discovery in our library
# follows uverbs order, not names, and the driver's debugfs directory
# keeps the name it was created with, hfi0) and give the glob a
# /dev/hfi1_0 to find. Undone by hfi1_names_undo (EXIT trap).
hfi1_names_for_openmpi() {
	[ -e /sys/class/infiniband/hfi1_0 ] ||
		rdma dev set hfi0 name hfi1_0 || return
	[ -e /dev/hfi1_0 ] || ln -s infiniband/uverbs0 /dev/hfi1_0 || return
	trap hfi1_names_undo EXIT
}

hfi1_names_undo() {
	rm -f /dev/hfi1_0
	[ ! -e /sys/class/infiniband/hfi1_0 ] || rdma dev set hfi1_0 name hfi0
}

# run_counted NP PROGRAM: PROGRAM on NP ranks, rank r on unit r % 2; it
# prints "RXMIN <rank> <bytes>" lines (payload each rank received), and
# every unit's debugfs rx_bytes must rise by at least its ranks' sum.
run_counted() {
	local np="$1" prog="$2" out rc before0 before1 d0 d1 want0=0 want1=0 r bytes
	before0=$(rx_bytes hfi0) && before1=$(rx_bytes hfi1) || return
	out="$(HFI_UNITS="0 1" "${MPIRUN[@]}" -np "$np" \
		./hfi_unit_by_rank "$prog" 2>&1)"
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
