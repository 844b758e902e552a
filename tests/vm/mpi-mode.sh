# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The MPI guest of tests/vm/run.sh --mpi, sourced by run.sh (which does
# everything else: host packages, kernel image, build, the console stream and
# the verdict, exactly as for the busybox guest).
#
# The guest boots the same Debian kernel with a small busybox initramfs
# (tests/vm/mpi-init.sh) that mounts a Debian bookworm userland with Open MPI
# (tests/vm/mpi-rootfs.sh, cached) from a virtio disk and switches to it.
# The cached image is never written: each run boots a fresh qcow2 overlay on
# it in the work dir. What changes every build (our modules, libpsm2.so.2,
# the test scripts) travels in the initramfs and is copied into the overlay.
#
# Uses run.sh's REPO IMGDIR ABI ROOT WORK say die, sets TESTS and MPI_QEMU.
#
# Environment:
#   DRVOPS_MPI_TESTS   scripts to run, names in tests/mpi/ or paths below it
#                      (bench/run.sh: the MPI benchmark, `make bench-mpi`)
#                      (default: every tests/mpi/*.sh, in name order)

MPI_BOOT_MODULES="virtio_pci virtio_blk crc32c_generic ext4"

# mpi_mod_order MOD...: the modules with their dependencies first, from the
# kernel image's modinfo (the .deb ships no modules.dep).
mpi_mod_order() {
	local m f d
	for m in "$@"; do
		case " $MPI_SEEN " in *" $m "*) continue ;; esac
		f="$(find "$IMGDIR/lib/modules/$ABI/kernel" -name "$m.ko" -print -quit)"
		[ -n "$f" ] || die "$m.ko not in linux-image-$ABI"
		MPI_SEEN="$MPI_SEEN $m"
		d="$(modinfo -F depends "$f")" || die "modinfo $f failed"
		# shellcheck disable=SC2086 # comma list to words
		[ -z "$d" ] || mpi_mod_order ${d//,/ }
		echo "$f"
	done
}

# mpi_initramfs: after run.sh filled $ROOT (busybox, /drvops/modules,
# /drvops/bin): boot modules, payload, /init, the test list; the rootfs and
# its overlay.
mpi_initramfs() {
	local img f name sel lib

	img="$(bash "$REPO/tests/vm/mpi-rootfs.sh")" || die "building the MPI rootfs failed"
	[ -f "$img" ] || die "tests/vm/mpi-rootfs.sh printed no image ($img)"

	mkdir -p "$ROOT/drvops/boot" "$ROOT/drvops/psm2" "$ROOT/drvops/mpi"
	MPI_SEEN=""
	# shellcheck disable=SC2086 # word list
	for f in $(mpi_mod_order $MPI_BOOT_MODULES); do
		cp "$f" "$ROOT/drvops/boot/"
		basename "$f" .ko >>"$ROOT/drvops/boot/order"
	done
	install -m 755 "$REPO/tests/vm/mpi-init.sh" "$ROOT/init"
	install -m 644 "$REPO/tests/vm/guest-modules.sh" "$ROOT/drvops/guest-modules.sh"

	lib="$REPO/build/psm-shim/libpsm2.so.2"
	if [ -f "$lib" ]; then
		cp "$lib" "$ROOT/drvops/psm2/libpsm2.so.2"
		ln -s libpsm2.so.2 "$ROOT/drvops/psm2/libpsm2.so"
	elif [ "$ALLOW_MISSING" = 1 ]; then
		say "DRVOPS_ALLOW_MISSING_MODULES=1: $lib missing, /drvops/psm2 is empty"
	else
		die "$lib missing (make userspace builds it: userspace/psm-shim)"
	fi

	# DRVOPS_USE_DEBS=1 (make check): the packages of build/debs
	# (tests/packages/check.sh made them), installed by the guest with
	# dpkg; the -dkms and -dev packages are for hosts with a compiler, the
	# SELinux one for SELinux hosts (the SELinux guest tests the policy).
	if [ "${DRVOPS_USE_DEBS:-0}" = 1 ]; then
		local debs=("$REPO"/build/debs/*.deb)
		[ -f "${debs[0]}" ] || die "DRVOPS_USE_DEBS=1 but no build/debs/*.deb (make check-packages with DRVOPS_DEB_OUT=build/debs makes them)"
		mkdir -p "$ROOT/drvops/debs"
		for f in "${debs[@]}"; do
			case "$(basename "$f")" in
			drvops-dkms_*|libdrvops-dev_*|drvops-selinux_*) ;;
			*) cp "$f" "$ROOT/drvops/debs/" ;;
			esac
		done
	fi

	cp -a "$REPO/tests/mpi/." "$ROOT/drvops/mpi/"
	if [ -d "$REPO/build/mpi" ]; then
		mkdir -p "$ROOT/drvops/mpi/bin"
		cp -a "$REPO/build/mpi/." "$ROOT/drvops/mpi/bin/"
	fi

	TESTS=()
	if [ -n "${DRVOPS_MPI_TESTS:-}" ]; then
		for sel in $DRVOPS_MPI_TESTS; do
			# a name in tests/mpi/ or a path below it (bench/run.sh)
			name="${sel#tests/mpi/}"
			case "$name" in
			/*|*..*) die "DRVOPS_MPI_TESTS: $sel: give a path relative to tests/mpi/" ;;
			esac
			[ -f "$REPO/tests/mpi/$name" ] || die "DRVOPS_MPI_TESTS: tests/mpi/$name does not exist"
			TESTS+=("$name")
		done
	else
		for f in "$REPO"/tests/mpi/*.sh; do
			[ -f "$f" ] && TESTS+=("$(basename "$f")")
		done
	fi
	[ "${#TESTS[@]}" -gt 0 ] || die "no MPI test scripts (tests/mpi/*.sh)"
	printf '%s\n' "${TESTS[@]}" >"$ROOT/drvops/mpi/.run"

	qemu-img create -q -f qcow2 -F raw -b "$img" "$WORK/mpi-overlay.qcow2" ||
		die "qemu-img create (overlay on $img) failed"
	# shellcheck disable=SC2034 # used by run.sh
	MPI_QEMU=(-m 2048
		-drive "file=$WORK/mpi-overlay.qcow2,format=qcow2,if=virtio,cache=unsafe")
	say "MPI guest: rootfs $img (overlay in $WORK), scripts: ${TESTS[*]}"
}
