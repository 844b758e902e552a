#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages (make check-packages, part of make check): build them
# from debian/ with dpkg-buildpackage in a scratch copy of the tree, run
# lintian on them (any error or warning fails; informational tags are
# printed), and verify the -dkms package the way DKMS uses it: dkms add,
# build and install against the headers of every stock kernel of the
# matrix (6.1, 6.12), in private DKMS and install trees (the host's
# /lib/modules and /var/lib/dkms are not touched), each module present and
# built for that kernel (vermagic).
#
#   DRVOPS_DEB_OUT=DIR  also copy the .deb files there (the MPI guest
#                       installs them, tests/vm/mpi-mode.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

say() { echo "check-packages: $*"; }
die() { echo "check-packages: FAIL: $*" >&2; exit 1; }

bash tests/apt-need.sh dkms dh-dkms debhelper lintian dpkg-dev fakeroot \
	selinux-policy-dev

version="$(dpkg-parsechangelog -l debian/changelog -S Version)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
src="$tmp/drvops-$version"
mkdir -p "$src"
# The tracked files and new ones, as a fresh clone would have them.
git ls-files -co --exclude-standard | tar -cf - -T - | tar -C "$src" -xf -
say "dpkg-buildpackage -b (log $tmp/build.log)"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 ||
	{ tail -n 40 "$tmp/build.log" >&2; die "dpkg-buildpackage failed"; }
arch="$(dpkg --print-architecture)"
for p in "drvops-dkms:all" "libdrvops1:$arch" "libdrvops-dev:$arch" \
	 "drvops-tools:$arch" "libpsm2-drvops:$arch" "drvops-selinux:all"; do
	deb="$tmp/${p%%:*}_${version}_${p##*:}.deb"
	[ -f "$deb" ] || die "$(basename "$deb") was not built"
done
dpkg-deb -c "$tmp/drvops-selinux_${version}_all.deb" | grep 'selinux/default/drvops.pp$' >/dev/null ||
	die "drvops-selinux has no drvops.pp"
say "built: $(cd "$tmp" && ls ./*.deb | grep -v dbgsym | sed 's|^\./||' | tr '\n' ' ')"

# lintian: errors and warnings fail; informational tags are reported.
lintian --tag-display-limit 0 --display-info "$tmp/drvops_${version}_${arch}.changes" \
	>"$tmp/lintian.log" 2>&1 || true
grep -v 'running with root privileges' "$tmp/lintian.log" | sed 's/^/    /' || true
if grep -qE '^[EW]: ' "$tmp/lintian.log"; then
	die "lintian reports errors or warnings (above)"
fi
say "lintian: no error or warning ($(grep -c '^I: ' "$tmp/lintian.log" || true) informational tags)"

# DKMS, against every stock kernel of the matrix, in private trees.
mkdir -p "$tmp/dkms-src" "$tmp/dkms" "$tmp/inst"
dpkg-deb -x "$tmp/drvops-dkms_${version}_all.deb" "$tmp/dkms-src"
opts=(-m drvops -v "$version" --sourcetree "$tmp/dkms-src/usr/src" --dkmstree "$tmp/dkms")
dkms add "${opts[@]}" >"$tmp/dkms-add.log" 2>&1 || { cat "$tmp/dkms-add.log" >&2; die "dkms add"; }
for series in 6.1 6.12; do
	abi="$(tests/vm/kernel-abi.sh --series "$series" --abi)"
	kdir="/usr/src/linux-headers-$abi"
	[ -d "$kdir" ] || die "no headers for $abi ($kdir): DRVOPS_KERNEL=$series tests/vm/run.sh --deps installs them"
	mkdir -p "$tmp/inst/$abi/kernel"
	touch "$tmp/inst/$abi/modules.order" "$tmp/inst/$abi/modules.builtin"
	for step in build install; do
		extra=()
		[ "$step" = install ] && extra=(--installtree "$tmp/inst" --no-depmod)
		dkms "$step" "${opts[@]}" -k "$abi" --kernelsourcedir "$kdir" "${extra[@]}" \
			>"$tmp/dkms-$step-$abi.log" 2>&1 ||
			{ tail -n 30 "$tmp/dkms-$step-$abi.log" >&2;
			  find "$tmp/dkms" -name make.log -exec tail -n 30 {} \; >&2;
			  die "dkms $step for $abi"; }
	done
	for m in ib_drvops drvops_swverbs drvops_generic drvops_hfi; do
		ko="$(find "$tmp/inst/$abi/updates/dkms" -name "$m.ko*" -print -quit)"
		[ -n "$ko" ] || die "dkms install for $abi: no $m"
		vm="$(modinfo -F vermagic "$ko")"
		[[ "$vm" == "$abi "* ]] || die "$m for $abi has vermagic '$vm'"
	done
	say "dkms build and install for $abi: ib_drvops, drvops_swverbs, drvops_generic, drvops_hfi"
done

if [ -n "${DRVOPS_DEB_OUT:-}" ]; then
	mkdir -p "$DRVOPS_DEB_OUT"
	rm -f "$DRVOPS_DEB_OUT"/*.deb
	cp "$tmp"/*.deb "$DRVOPS_DEB_OUT"/
	rm -f "$DRVOPS_DEB_OUT"/*dbgsym*.deb
	say "copied the packages to $DRVOPS_DEB_OUT"
fi
say "PASS"
