# SPDX-License-Identifier: GPL-2.0
#
# Sourced by both guests' init (tests/vm/guest-init.sh, busybox; and
# tests/vm/mpi-init.sh, Debian): the parameters our modules load with, and
# how they are unloaded at the end. POSIX sh. Callers may set RMMOD (the
# rmmod command) and allow_missing=1 (test-bed development).

GENERIC_PARAMS="num_devices=2 legacy_devices=1"
# Two current HFI units and one "old driver build" (psm2.intel.com only).
HFI_PARAMS="num_units=3 legacy_units=1"

params_of() {
	case "$1" in
	drvops_generic) echo "$GENERIC_PARAMS" ;;
	drvops_hfi) echo "$HFI_PARAMS" ;;
	esac
}

# unload_modules M...: rmmod each, in order, and print "DRVOPS-RMMOD m rc=N"
# for the host to judge: once everything is closed, each must go.
unload_modules() {
	for m in "$@"; do
		if [ ! -d "/sys/module/$m" ]; then
			if [ "${allow_missing:-0}" = 1 ]; then
				echo "DRVOPS-SKIP rmmod $m: not loaded"
			else
				echo "DRVOPS-NOTE rmmod $m: not loaded"
				echo "DRVOPS-RMMOD $m rc=1"
			fi
			continue
		fi
		# Releases may finish asynchronously: retry a few times.
		i=0
		while :; do
			out="$(${RMMOD:-rmmod} "$m" 2>&1)"
			rc=$?
			[ "$rc" = 0 ] && break
			i=$((i + 1))
			[ "$i" -ge 5 ] && break
			sleep 1
		done
		[ "$rc" = 0 ] ||
			echo "DRVOPS-NOTE rmmod $m: $out (refcnt $(cat "/sys/module/$m/refcnt" 2>/dev/null || echo -))"
		echo "DRVOPS-RMMOD $m rc=$rc"
	done
}
