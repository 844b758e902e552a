#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Resolve the Debian bookworm 6.1 kernel ABI of the test bed at run time.
#
#   kernel-abi.sh --abi        print the ABI, e.g. 6.1.0-56-amd64
#   kernel-abi.sh --kdir       print /usr/src/linux-headers-<abi>; prints
#                              nothing and exits 1 if those headers are not
#                              installed (tests/vm/run.sh --deps installs them)
#   kernel-abi.sh --refresh    re-resolve now (ignore the cache); combine with
#                              --abi / --kdir. tests/vm/run.sh does this each run.
#
# The ABI is what `apt-cache depends linux-image-amd64` names
# (linux-image-6.1.0-NN-amd64). NN changes when Debian publishes a new ABI
# and old ABI packages leave the archive, so it is never hard-coded here.
# apt-cache takes about a second, too slow for every $(KDIR) expansion in the
# Makefile, so the answer is cached in $DRVOPS_CACHE/abi (default
# ~/.cache/drvops/abi) until the next run.sh (or --refresh), or at most
# DRVOPS_ABI_TTL seconds (default 12 h).
#
# Environment:
#   DRVOPS_ABI       use this ABI, skip resolution (pin it for a bisect)
#   DRVOPS_CACHE     cache directory (default ~/.cache/drvops)
#   DRVOPS_ABI_TTL   cache lifetime in seconds (default 43200)
set -euo pipefail

CACHE_DIR="${DRVOPS_CACHE:-$HOME/.cache/drvops}"
CACHE_FILE="$CACHE_DIR/abi"
TTL="${DRVOPS_ABI_TTL:-43200}"

usage() {
	echo "usage: $0 [--refresh] --abi|--kdir" >&2
	exit 2
}

die() {
	echo "kernel-abi.sh: $*" >&2
	exit 2
}

want=""
refresh=0
for arg in "$@"; do
	case "$arg" in
	--abi) want=abi ;;
	--kdir) want=kdir ;;
	--refresh) refresh=1 ;;
	-h|--help) usage ;;
	*) usage ;;
	esac
done
[ -n "$want" ] || usage

valid_abi() {
	[[ "$1" =~ ^6\.1\.0-[0-9]+-amd64$ ]]
}

# Names the ABI linux-image-amd64 depends on; empty if apt knows nothing.
query_apt() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\(6\.1\.0-[0-9][0-9]*-amd64\)$/\1/p' |
		sort -V | tail -n 1
}

resolve() {
	local abi sudo=""
	abi="$(query_apt || true)"
	if [ -z "$abi" ]; then
		# Empty package lists (fresh container): fetch them once.
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		echo "kernel-abi.sh: apt knows no linux-image-amd64, running apt-get update" >&2
		$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get -qq -o DPkg::Lock::Timeout=300 update >&2 ||
			die "apt-get update failed"
		abi="$(query_apt || true)"
	fi
	valid_abi "$abi" || die "cannot resolve the kernel ABI from 'apt-cache depends linux-image-amd64'"
	mkdir -p "$CACHE_DIR"
	local tmp
	tmp="$(mktemp "$CACHE_FILE.XXXXXX")"
	echo "$abi" >"$tmp"
	mv -f "$tmp" "$CACHE_FILE"
	echo "$abi"
}

cached() {
	local abi age
	[ -f "$CACHE_FILE" ] || return 1
	age=$(($(date +%s) - $(stat -c %Y "$CACHE_FILE")))
	[ "$age" -ge 0 ] && [ "$age" -lt "$TTL" ] || return 1
	abi="$(head -n 1 "$CACHE_FILE")"
	valid_abi "$abi" || return 1
	echo "$abi"
}

if [ -n "${DRVOPS_ABI:-}" ]; then
	valid_abi "$DRVOPS_ABI" || die "DRVOPS_ABI=$DRVOPS_ABI is not a 6.1.0-NN-amd64 ABI"
	abi="$DRVOPS_ABI"
elif [ "$refresh" -eq 0 ] && abi="$(cached)"; then
	:
else
	abi="$(resolve)"
fi

case "$want" in
abi)
	echo "$abi"
	;;
kdir)
	kdir="/usr/src/linux-headers-$abi"
	[ -f "$kdir/Makefile" ] || exit 1
	echo "$kdir"
	;;
esac
