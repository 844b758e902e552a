#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian userland of the MPI guest (tests/vm/run.sh --mpi): a bookworm
# `debootstrap --variant=minbase` with Debian's own Open MPI (openmpi-bin,
# libopenmpi3 and libpsm2-2 come as dependencies), procps and iproute2,
# packed as an ext4 image. Built once and cached outside the repo:
#
#   <cache>/mpi-rootfs/<key>/rootfs.img    the ext4 image (raw; never written:
#                                          run.sh boots a qcow2 overlay on it)
#   <cache>/mpi-rootfs/<key>/packages.txt  dpkg -l of the image
#
# <key> is a hash of the suite, the architecture, the package list and
# ROOTFS_FORMAT: changing any of them builds a new image (the two newest are
# kept). Bump ROOTFS_FORMAT when the way the image is made changes.
#
#   tests/vm/mpi-rootfs.sh           build if needed; prints the image path
#                                    on stdout (progress goes to stderr)
#   tests/vm/mpi-rootfs.sh --rebuild build even if cached
#
# Environment:
#   DRVOPS_CACHE        cache dir (default ~/.cache/drvops)
#   DRVOPS_MPI_MIRROR   Debian mirror for debootstrap (default: the one apt
#                       is configured with for bookworm, from apt's sources)
#   DRVOPS_MPI_PKGS     extra packages for the image (space separated);
#                       part of the key
#
# Needs root (debootstrap chroots); installs debootstrap, e2fsprogs and
# qemu-utils on the host when missing.
set -euo pipefail

SUITE=bookworm
ARCH=amd64
ROOTFS_FORMAT=2
# openmpi-bin pulls libopenmpi3, openmpi-common, libpsm2-2, libfabric1,
# openssh-client; libfabric-bin has fi_info and fi_pingpong.
PKGS=(openmpi-bin procps iproute2 libfabric-bin)
read -r -a extra <<<"${DRVOPS_MPI_PKGS:-}"
PKGS+=("${extra[@]}")

say() { echo "[drvops] $*" >&2; }
die() {
	echo "[drvops] mpi-rootfs: ERROR: $*" >&2
	exit 1
}

REBUILD=0
for arg in "$@"; do
	case "$arg" in
	--rebuild) REBUILD=1 ;;
	-h|--help) sed -n '3,30p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	*) die "unknown option '$arg'" ;;
	esac
done

CACHE="${DRVOPS_CACHE:-$HOME/.cache/drvops}"
TOP="$CACHE/mpi-rootfs"
LOGDIR="$CACHE/logs"
mkdir -p "$TOP" "$LOGDIR"

KEY="$(printf '%s\n' "format=$ROOTFS_FORMAT" "suite=$SUITE" "arch=$ARCH" \
	"$(printf '%s\n' "${PKGS[@]}" | LC_ALL=C sort -u)" | sha256sum | cut -c1-16)"
DIR="$TOP/$KEY"
IMG="$DIR/rootfs.img"

cached() { [ -f "$DIR/.complete" ] && [ -s "$IMG" ]; }

if [ "$REBUILD" = 0 ] && cached; then
	say "MPI rootfs cached: $IMG"
	echo "$IMG"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || die "building the rootfs needs root (debootstrap chroots)"

# One builder at a time; a second caller waits and then finds it cached.
exec 8>"$TOP/.lock"
flock 8
if [ "$REBUILD" = 0 ] && cached; then
	say "MPI rootfs cached: $IMG"
	echo "$IMG"
	exit 0
fi

LOG="$LOGDIR/mpi-rootfs-$(date +%Y%m%d-%H%M%S)-$$.log"
T0=$SECONDS

# ------------------------------------------------------- host packages
APT=(env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300)
HOSTPKGS=(debootstrap debian-archive-keyring e2fsprogs qemu-utils)
missing=()
for p in "${HOSTPKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	say "mpi-rootfs: installing host packages: ${missing[*]} (log $LOG)"
	if ! "${APT[@]}" install --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1; then
		"${APT[@]}" update >>"$LOG" 2>&1 || die "apt-get update failed, see $LOG"
		"${APT[@]}" install --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 ||
			{ tail -n 20 "$LOG" >&2; die "apt-get install ${missing[*]} failed, see $LOG"; }
	fi
fi

# ------------------------------------------------------------- mirror
# The mirror apt uses for the bookworm suite, whatever the sources format
# (sources.list, *.list, deb822 *.sources): apt resolves it for us.
MIRROR="${DRVOPS_MPI_MIRROR:-}"
if [ -z "$MIRROR" ]; then
	MIRROR="$(apt-get indextargets --format '$(TARGET_OF) $(CODENAME) $(REPO_URI)' 2>/dev/null |
		awk -v s="$SUITE" '$1 == "deb" && $2 == s && !seen[$3]++ { print $3 }' |
		grep -v -- '-security' | head -n 1 || true)"
fi
[ -n "$MIRROR" ] || die "no '$SUITE' Debian mirror in apt's sources (/etc/apt/sources.list, /etc/apt/sources.list.d/); set DRVOPS_MPI_MIRROR"

# ------------------------------------------------------------ build
rm -rf "$TOP"/tmp.*
TMP="$(mktemp -d "$TOP/tmp.XXXXXX")"
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
ROOT="$TMP/root"

incl="$(IFS=,; echo "${PKGS[*]}")"
say "mpi-rootfs: debootstrap --variant=minbase $SUITE from $MIRROR with $incl (a few minutes; log $LOG)"
echo "+ debootstrap --variant=minbase --arch=$ARCH --include=$incl $SUITE $ROOT $MIRROR" >>"$LOG"
if ! debootstrap --variant=minbase --arch="$ARCH" --include="$incl" \
	"$SUITE" "$ROOT" "$MIRROR" >>"$LOG" 2>&1; then
	tail -n 20 "$LOG" >&2
	[ ! -f "$ROOT/debootstrap/debootstrap.log" ] ||
		tail -n 20 "$ROOT/debootstrap/debootstrap.log" >&2
	die "debootstrap failed, see $LOG"
fi
# (through the chroot: mpirun is an alternatives symlink)
for c in mpirun ompi_info bash timeout ip rdma ps; do
	chroot "$ROOT" /bin/sh -c "command -v $c" >/dev/null ||
		die "$c missing from the debootstrapped rootfs"
done
[ -n "$(find "$ROOT/usr/lib" -name mca_mtl_psm2.so -print -quit)" ] ||
	die "mca_mtl_psm2.so missing from the rootfs (openmpi-bin without the psm2 MTL?)"

# What the guest needs besides the packages. The guest runs no init system:
# tests/vm/mpi-init.sh is PID 1.
echo drvops-mpi >"$ROOT/etc/hostname"
# An ordinary user for the unprivileged runs (tests/mpi/unprivileged.sh).
chroot "$ROOT" useradd -m -u 1000 -s /bin/bash mpiuser >>"$LOG" 2>&1 ||
	die "useradd mpiuser failed, see $LOG"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdrvops-mpi\n' >"$ROOT/etc/hosts"
mkdir -p "$ROOT/drvops"
chroot "$ROOT" dpkg-query -W -f='${Package} ${Version}\n' >"$TMP/packages.txt"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT/debootstrap"

used_mb=$(($(du -sm "$ROOT" | cut -f1)))
size_mb=$((used_mb + used_mb / 4 + 256))
say "mpi-rootfs: mkfs.ext4 -d (${used_mb} MiB used, image ${size_mb} MiB)"
echo "+ mkfs.ext4 -d $ROOT $TMP/rootfs.img ${size_mb}M" >>"$LOG"
mkfs.ext4 -q -F -L drvops-mpi -E lazy_itable_init=0,lazy_journal_init=0 \
	-d "$ROOT" "$TMP/rootfs.img" "${size_mb}M" >>"$LOG" 2>&1 ||
	{ tail -n 20 "$LOG" >&2; die "mkfs.ext4 failed, see $LOG"; }
chmod 444 "$TMP/rootfs.img" # the base is read only: runs write to overlays

rm -rf "$DIR"
mkdir -p "$DIR"
mv "$TMP/rootfs.img" "$TMP/packages.txt" "$DIR/"
touch "$DIR/.complete"
rm -rf "$TMP"

# Keep the two newest images.
# shellcheck disable=SC2012 # our own hex names
ls -td "$TOP"/*/ 2>/dev/null | tail -n +3 | xargs -r rm -rf

ompi="$(awk '$1 == "openmpi-bin" { print $2 }' "$DIR/packages.txt")"
psm2="$(awk '$1 == "libpsm2-2" { print $2 }' "$DIR/packages.txt")"
say "mpi-rootfs: built $IMG in $((SECONDS - T0))s (openmpi-bin $ompi, libpsm2-2 $psm2, $(wc -l <"$DIR/packages.txt") packages)"
echo "$IMG"
