#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the MPI guest (tests/vm/run.sh --mpi), in two stages.
#
# Stage 1, busybox initramfs (this file is its /init): load the block and
# ext4 modules listed in /drvops/boot/order, mount /dev/vda (a per-run qcow2
# overlay on the cached Debian rootfs of tests/vm/mpi-rootfs.sh), copy
# /drvops into it and switch_root to stage 2.
#
# Stage 2, PID 1 in the Debian userland (no init system):
#   /drvops/modules/   ib_core.ko ib_uverbs.ko (Debian's) and our *.ko
#   /drvops/psm2/      build/psm-shim/libpsm2.so.2 (+ libpsm2.so): tests put
#                      it first in LD_LIBRARY_PATH ($DRVOPS_PSM2_DIR)
#   /drvops/mpi/       tests/mpi/ (the scripts, and anything they source)
#   /drvops/mpi/bin/   build/mpi/* if it exists (binaries built on the host)
#   /drvops/bin/       build/bin/* (static drvops tools)
#   /drvops/busybox    insmod/rmmod/dmesg/poweroff (minbase has no kmod)
#   /drvops/mpi/.run   the scripts to run, one name per line, in order
# loads ib_core ib_uverbs ib_drvops drvops_swverbs drvops_hfi (num_units=3
# legacy_units=1), runs each script as root in /tmp with the per-test timeout
# (`bash` for *.sh) and prints the markers of tests/vm/guest-init.sh:
#   DRVOPS-GUEST-BEGIN, DRVOPS-MODULE, DRVOPS-ERROR, DRVOPS-RDMA-BEGIN/END,
#   DRVOPS-SUITE-BEGIN <name> ... DRVOPS-SUITE-END <name> rc=N,
#   DRVOPS-DMESG-BEGIN/END, DRVOPS-RMMOD <name> rc=N, DRVOPS-GUEST-DONE
#
# Kernel command line: drvops.mode=mpi drvops.timeout=SECS (per script).

if [ "${1:-}" != stage2 ]; then
	# ------------------------------------------------------ stage 1
	export PATH=/sbin:/bin:/usr/sbin:/usr/bin
	/bin/busybox mkdir -p /proc /sys /dev /newroot
	/bin/busybox mount -t proc proc /proc
	/bin/busybox --install -s 2>/dev/null
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	exec </dev/console >/dev/console 2>&1
	echo "5 4 1 7" >/proc/sys/kernel/printk

	fatal() {
		echo "DRVOPS-ERROR mpi guest stage 1: $*"
		poweroff -f
	}
	for m in $(cat /drvops/boot/order); do
		out="$(insmod "/drvops/boot/$m.ko" 2>&1)" || fatal "insmod $m: $out"
	done
	i=0
	while [ ! -b /dev/vda ]; do
		i=$((i + 1))
		[ "$i" -le 100 ] || fatal "no /dev/vda after 10 s (virtio_blk)"
		sleep 0.1
	done
	mount -t ext4 /dev/vda /newroot || fatal "mount -t ext4 /dev/vda failed"
	[ -x /newroot/bin/bash ] || fatal "/dev/vda is not the MPI rootfs"
	rm -rf /newroot/drvops
	cp -a /drvops /newroot/drvops || fatal "copying /drvops into the rootfs failed"
	cp /bin/busybox /newroot/drvops/busybox
	cp /init /newroot/drvops/mpi-init.sh
	umount /proc /sys
	mount --move /dev /newroot/dev || fatal "mount --move /dev failed"
	# shellcheck disable=SC2093 # exec fails only if switch_root cannot run
	exec switch_root /newroot /bin/sh /drvops/mpi-init.sh stage2
	fatal "switch_root failed"
fi

# ---------------------------------------------------------- stage 2
export PATH=/drvops/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
BB=/drvops/busybox
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm /run
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
echo 0 >/proc/sys/kernel/printk_ratelimit
echo drvops-mpi >/proc/sys/kernel/hostname
ip link set lo up

tmo=300
for w in $(cat /proc/cmdline); do
	case "$w" in
	drvops.timeout=*) tmo="${w#*=}" ;;
	esac
done

echo "DRVOPS-GUEST-BEGIN mode=mpi kernel=$(uname -r) cpus=$(nproc) $(mpirun --version 2>/dev/null | head -n 1)"

MODDIR=/drvops/modules
MODULES="ib_core ib_uverbs ib_drvops drvops_swverbs drvops_hfi"
OURS_REVERSED="drvops_hfi drvops_swverbs ib_drvops"
# Module parameters (params_of) and unload_modules, shared with guest-init.sh.
RMMOD="$BB rmmod"
. /drvops/guest-modules.sh

load_ok=0
for m in $MODULES; do
	[ -d "/sys/module/$m" ] && continue
	params="$(params_of "$m")"
	# shellcheck disable=SC2086 # params are words
	if out="$($BB insmod "$MODDIR/$m.ko" $params 2>&1)"; then
		echo "DRVOPS-MODULE $m loaded${params:+ ($params)}"
	else
		echo "DRVOPS-ERROR module $m: insmod $MODDIR/$m.ko $params failed: $out"
		load_ok=1
		break
	fi
done

echo "DRVOPS-RDMA-BEGIN"
echo "# rdma dev"
rdma dev 2>&1
echo "# ls /dev/infiniband"
ls -l /dev/infiniband 2>&1
echo "DRVOPS-RDMA-END"

export DRVOPS_PSM2_DIR=/drvops/psm2
# make check: the Debian packages the host built (tests/packages/check.sh)
# are installed with dpkg, and the tests use what they installed.
if [ -d /drvops/debs ]; then
	echo "DRVOPS-DEBS-BEGIN"
	dpkg -i /drvops/debs/*.deb 2>&1
	echo "DRVOPS-DEBS-END rc=$?"
	lib="$(dpkg -L libpsm2-drvops 2>/dev/null | grep '/libpsm2\.so\.2$')"
	[ -n "$lib" ] && DRVOPS_PSM2_DIR="$(dirname "$lib")"
fi
export DRVOPS_MPI_DIR=/drvops/mpi
export DRVOPS_MODDIR="$MODDIR"
# mpirun as root without --allow-run-as-root on every command line.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

if [ "$load_ok" = 0 ]; then
	check_run_watched
	while IFS= read -r name; do
		[ -n "$name" ] || continue
		t="/drvops/mpi/$name"
		echo "DRVOPS-SUITE-BEGIN $name"
		case "$name" in
		*.sh) (cd /tmp && run_watched "$tmo" bash "$t") </dev/null 2>&1 ;;
		*) (cd /tmp && run_watched "$tmo" "$t") </dev/null 2>&1 ;;
		esac
		rc=$?
		echo "DRVOPS-SUITE-END $name rc=$rc"
		for m in $MODULES; do
			[ -d "/sys/module/$m" ] || echo "DRVOPS-ERROR module $m not loaded after $name"
		done
	done </drvops/mpi/.run
fi

# Nothing of ours may keep a module busy: stray children of timed-out tests.
kill -9 -1 2>/dev/null
sleep 1

echo "DRVOPS-DMESG-BEGIN"
$BB dmesg -c
echo "DRVOPS-DMESG-END"

# shellcheck disable=SC2086 # word list
unload_modules $OURS_REVERSED

if [ -n "$($BB dmesg)" ]; then
	echo "DRVOPS-DMESG-BEGIN after-rmmod"
	$BB dmesg -c
	echo "DRVOPS-DMESG-END"
fi

echo "DRVOPS-GUEST-DONE"
sync
$BB poweroff -f
