# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The kernel matrix of the test bed, sourced by tests/vm/run.sh. One of
#   6.1    Debian bookworm's stock 6.1 (linux-image-amd64's ABI)
#   6.12   Debian's stock 6.12 LTS from bookworm-security (newest
#          linux-image-6.12.N+deb12-amd64-unsigned with headers)
#   debug  Debian's linux-source-6.1 built with KASAN, KFENCE, lockdep,
#          fault injection (tests/vm/kernel/debug-kernel.sh, cached)
# Every ABI is resolved at run time; nothing is hard-coded.
#
# kernel_resolve NAME sets KERNEL ABI KDIR VMLINUZ IBDIR IMGDIR KERNEL_APPEND
# and KERNEL_PKGS (host packages it needs); kernel_fetch makes them exist
# (after run.sh installed KERNEL_PKGS). Uses run.sh's CACHE APT SETUP_LOG
# say die apt_update_once.

kernel_resolve() {
	KERNEL="$1"
	KERNEL_APPEND=""
	KERNEL_PKGS=()
	case "$KERNEL" in
	6.1|6.12)
		ABI="$(tests/vm/kernel-abi.sh --series "$KERNEL" --refresh --abi)" ||
			die "cannot resolve the $KERNEL kernel ABI"
		KDIR="/usr/src/linux-headers-$ABI"
		IMGDIR="$CACHE/$ABI"
		VMLINUZ="$IMGDIR/boot/vmlinuz-$ABI"
		IBDIR="$IMGDIR/lib/modules/$ABI/kernel/drivers/infiniband/core"
		KERNEL_PKGS=("linux-headers-$ABI")
		IMAGE_PKG="linux-image-$ABI"
		[ "$KERNEL" = 6.1 ] || IMAGE_PKG="linux-image-$ABI-unsigned"
		;;
	debug)
		ABI="debug"
		IMGDIR=""
		KDIR=""
		VMLINUZ=""
		IBDIR=""
		# An Oops must end the boot at once (it would wedge the guest
		# until the VM timeout); KASAN must report every bad access, not
		# only the first one of the boot.
		KERNEL_APPEND="oops=panic kasan_multi_shot"
		;;
	*)
		die "DRVOPS_KERNEL=$KERNEL: not one of 6.1 6.12 debug"
		;;
	esac
}

# The stock image: downloaded once into the cache, never installed on the
# host. 6.12 ships xz-compressed modules: ours and busybox's insmod want
# them plain.
kernel_fetch_stock() {
	local deb m
	mkdir -p "$IMGDIR"
	exec 9>"$IMGDIR.lock"
	flock 9 # concurrent runs share the cache
	if [ -f "$IMGDIR/.extracted" ] && [ -f "$VMLINUZ" ] && [ -f "$IBDIR/ib_core.ko" ]; then
		say "kernel image $IMAGE_PKG cached in $IMGDIR"
	else
		say "downloading $IMAGE_PKG to $IMGDIR ..."
		rm -f "$IMGDIR"/linux-image-*.deb "$IMGDIR/.extracted"
		echo "+ apt-get download $IMAGE_PKG" >>"$SETUP_LOG"
		# apt-get download as root warns about the _apt sandbox; harmless.
		if ! (cd "$IMGDIR" && "${APT[@]}" download "$IMAGE_PKG") >>"$SETUP_LOG" 2>&1; then
			apt_update_once
			(cd "$IMGDIR" && "${APT[@]}" download "$IMAGE_PKG") >>"$SETUP_LOG" 2>&1 ||
				{ tail -n 20 "$SETUP_LOG" >&2; die "apt-get download $IMAGE_PKG failed, see $SETUP_LOG"; }
		fi
		deb="$(ls "$IMGDIR"/linux-image-*.deb 2>/dev/null | head -n 1)"
		[ -n "$deb" ] || die "apt-get download left no .deb in $IMGDIR"
		dpkg -x "$deb" "$IMGDIR" || die "dpkg -x $deb failed"
		rm -f "$deb"
		[ -f "$VMLINUZ" ] || die "$VMLINUZ not in $IMAGE_PKG"
		find "$IMGDIR/lib/modules" -name '*.ko.xz' -exec xz -d -f {} + ||
			die "cannot decompress the modules of $IMAGE_PKG"
		for m in ib_core ib_uverbs; do
			[ -f "$IBDIR/$m.ko" ] || die "$IBDIR/$m.ko not in $IMAGE_PKG"
		done
		touch "$IMGDIR/.extracted"
	fi
	exec 9>&-
}

kernel_fetch() {
	local dir
	case "$KERNEL" in
	6.1|6.12)
		[ -f "$KDIR/Makefile" ] || die "$KDIR missing after installing linux-headers-$ABI"
		kernel_fetch_stock
		;;
	debug)
		dir="$(bash tests/vm/kernel/debug-kernel.sh)" ||
			die "building the debug kernel failed (tests/vm/kernel/debug-kernel.sh)"
		KDIR="$dir/obj"
		VMLINUZ="$dir/vmlinuz"
		IBDIR="$dir"
		ABI="debug $(basename "$dir")"
		;;
	esac
}
