#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the test bed's debug kernel once and cache it outside the repo:
# Debian's own linux-source-6.1 with tests/vm/kernel/debug.config (KASAN,
# KFENCE, lockdep, fault injection, ...). ib_core and ib_uverbs are built
# as modules of that same tree: the real ones, debug-built.
#
#   debug-kernel.sh            build if needed; print the cache directory
#   debug-kernel.sh --key      print the cache key only
#
# The cache directory ($DRVOPS_CACHE/debug-kernel/<key>/, default
# ~/.cache/drvops) holds
#   src/        the unpacked source tree (kbuild needs it for M= builds)
#   obj/        the O= build tree: KDIR for our modules
#   vmlinuz     the kernel; ib_core.ko ib_uverbs.ko
#   .complete   written last: a half-built cache is rebuilt
# The key is the linux-source package version + the sha256 of the config
# fragment + RECIPE: a new Debian source, a changed config or a changed
# build recipe (bump RECIPE) gives a new key (older ones are removed).
# Measured on a 2-core machine: 832 s (see README, "The kernel matrix").
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${DRVOPS_CACHE:-$HOME/.cache/drvops}"
FRAGMENT="$HERE/debug.config"
SRCPKG=linux-source-6.1
RECIPE=1

say() { echo "[debug-kernel] $*" >&2; }
die() { echo "[debug-kernel] ERROR: $*" >&2; exit 1; }

APT=(env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300)
BUILD_DEPS=("$SRCPKG" bc flex bison libelf-dev libssl-dev xz-utils)

need_pkgs() {
	local p missing=()
	for p in "${BUILD_DEPS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || missing+=("$p")
	done
	[ "${#missing[@]}" = 0 ] && return 0
	say "installing ${missing[*]}"
	"${APT[@]}" install --no-install-recommends "${missing[@]}" >&2 ||
		{ "${APT[@]}" update >&2 && "${APT[@]}" install --no-install-recommends "${missing[@]}" >&2; } ||
		die "cannot install ${missing[*]}"
}

key() {
	local ver
	ver="$(dpkg-query -W -f='${Version}' "$SRCPKG" 2>/dev/null)" ||
		die "$SRCPKG is not installed"
	echo "$ver-$( (cat "$FRAGMENT"; echo "recipe $RECIPE") | sha256sum | cut -c1-12)"
}

if [ "${1:-}" = --key ]; then
	need_pkgs
	key
	exit 0
fi

need_pkgs
KEY="$(key)"
DIR="$CACHE/debug-kernel/$KEY"
mkdir -p "$CACHE/debug-kernel"
exec 8>"$CACHE/debug-kernel/.lock"
flock 8
if [ -f "$DIR/.complete" ]; then
	echo "$DIR"
	exit 0
fi

# Only one debug kernel is kept.
find "$CACHE/debug-kernel" -mindepth 1 -maxdepth 1 -type d ! -name "$KEY" \
	-exec rm -rf {} +
rm -rf "$DIR"
mkdir -p "$DIR/obj"
LOG="$DIR/build.log"
T0=$SECONDS

tarball="$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)"
[ -n "$tarball" ] || die "no /usr/src/linux-source-6.1.tar.* from $SRCPKG"
say "unpacking $(basename "$tarball") ($KEY)"
mkdir -p "$DIR/src"
tar -xf "$tarball" -C "$DIR/src" --strip-components=1

MK=(make -C "$DIR/src" O="$DIR/obj" ARCH=x86_64 -j"$(nproc)")
say "configuring (allnoconfig + debug.config)"
"${MK[@]}" KCONFIG_ALLCONFIG="$FRAGMENT" allnoconfig >>"$LOG" 2>&1 ||
	{ tail -n 30 "$LOG" >&2; die "allnoconfig failed, see $LOG"; }
"${MK[@]}" olddefconfig >>"$LOG" 2>&1 || die "olddefconfig failed, see $LOG"

# Every option the fragment sets must have survived (a dependency that is
# off would silently drop a checker).
missing=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=y|CONFIG_*=m)
		grep -qx "$line" "$DIR/obj/.config" || missing+=("$line") ;;
	esac
done <"$FRAGMENT"
[ "${#missing[@]}" = 0 ] || die "config lost: ${missing[*]} (a dependency is off)"

# A progress line every 30 s: the build takes minutes.
say "building bzImage and modules with $(nproc) jobs (log $LOG)"
"${MK[@]}" bzImage modules >>"$LOG" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	sleep 30
	kill -0 "$pid" 2>/dev/null || break
	say "building... $((SECONDS - T0))s, $(grep -c '^ *CC' "$LOG" || true) files compiled"
done
wait "$pid" || { tail -n 40 "$LOG" >&2; die "kernel build failed, see $LOG"; }

cp "$DIR/obj/arch/x86/boot/bzImage" "$DIR/vmlinuz"
for m in ib_core ib_uverbs; do
	cp "$DIR/obj/drivers/infiniband/core/$m.ko" "$DIR/$m.ko" ||
		die "$m.ko was not built"
done
# The object files are not needed for M= builds; keep the cache small.
find "$DIR/obj" -name '*.o' -delete
echo "$((SECONDS - T0))" >"$DIR/build-seconds"
touch "$DIR/.complete"
say "built in $((SECONDS - T0))s: $DIR"
echo "$DIR"
