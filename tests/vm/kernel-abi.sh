#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Resolve a Debian bookworm kernel ABI of the test bed at run time.
#
#   kernel-abi.sh --abi        print the ABI, e.g. 6.1.0-56-amd64
#   kernel-abi.sh --series 6.12 --abi
#                              the 6.12 LTS of bookworm-security instead,
#                              e.g. 6.12.117+deb12-amd64 (the newest one
#                              with an -unsigned image; its headers are
#                              linux-headers-<abi>)
#   kernel-abi.sh --kdir       print /usr/src/linux-headers-<abi>; prints
#                              nothing and exits 1 if those headers are not
#                              installed (tests/vm/run.sh --deps installs them)
#   kernel-abi.sh --refresh    re-resolve now (ignore the cache); combine with
#                              --abi / --kdir. tests/vm/run.sh does this each run.
#
# 6.1: the ABI is what `apt-cache depends linux-image-amd64` names
# (linux-image-6.1.0-NN-amd64). NN changes when Debian publishes a new ABI
# and old ABI packages leave the archive, so it is never hard-coded here.
# apt-cache takes about a second, too slow for every $(KDIR) expansion in the
# Makefile, so the answer is cached in $DRVOPS_CACHE/abi (default
# ~/.cache/drvops/abi) until the next run.sh (or --refresh), or at most
# DRVOPS_ABI_TTL seconds (default 12 h).
#
# Environment:
#   DRVOPS_ABI       use this 6.1 ABI, skip resolution (pin it for a bisect)
#   DRVOPS_ABI_612   the same for the 6.12 series
#   DRVOPS_CACHE     cache directory (default ~/.cache/drvops)
#   DRVOPS_ABI_TTL   cache lifetime in seconds (default 43200)
set -euo pipefail

CACHE_DIR="${DRVOPS_CACHE:-$HOME/.cache/drvops}"
TTL="${DRVOPS_ABI_TTL:-43200}"

usage() {
	echo "usage: $0 [--refresh] [--series 6.1|6.12] --abi|--kdir" >&2
	exit 2
}

die() {
	echo "kernel-abi.sh: $*" >&2
	exit 2
}

want=""
refresh=0
series=6.1
while [ $# -gt 0 ]; do
	case "$1" in
	--abi) want=abi ;;
	--kdir) want=kdir ;;
	--refresh) refresh=1 ;;
	--series) [ $# -ge 2 ] || usage; series="$2"; shift ;;
	-h|--help) usage ;;
	*) usage ;;
	esac
	shift
done
[ -n "$want" ] || usage
case "$series" in
6.1) CACHE_FILE="$CACHE_DIR/abi" ;;
6.12) CACHE_FILE="$CACHE_DIR/abi-6.12" ;;
*) usage ;;
esac

valid_abi() {
	case "$series" in
	6.1) [[ "$1" =~ ^6\.1\.0-[0-9]+-amd64$ ]] ;;
	6.12) [[ "$1" =~ ^6\.12\.[0-9]+\+deb12-amd64$ ]] ;;
	esac
}

# The newest ABI of the series; empty if apt knows nothing.
query_apt() {
	case "$series" in
	6.1)
		apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: linux-image-\(6\.1\.0-[0-9][0-9]*-amd64\)$/\1/p' |
			sort -V | tail -n 1
		;;
	6.12)
		# Only ABIs with both an unsigned image and headers.
		local abi
		apt-cache search --names-only \
			'^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' 2>/dev/null |
			sed -n 's/^linux-image-\(6\.12\.[0-9]*+deb12-amd64\)-unsigned .*/\1/p' |
			sort -V -r | while read -r abi; do
				if apt-cache show "linux-headers-$abi" >/dev/null 2>&1; then
					echo "$abi"
					break
				fi
			done
		;;
	esac
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
	valid_abi "$abi" || die "cannot resolve the $series kernel ABI from apt"
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

if [ "$series" = 6.1 ] && [ -n "${DRVOPS_ABI:-}" ]; then
	valid_abi "$DRVOPS_ABI" || die "DRVOPS_ABI=$DRVOPS_ABI is not a 6.1.0-NN-amd64 ABI"
	abi="$DRVOPS_ABI"
elif [ "$series" = 6.12 ] && [ -n "${DRVOPS_ABI_612:-}" ]; then
	valid_abi "$DRVOPS_ABI_612" || die "DRVOPS_ABI_612=$DRVOPS_ABI_612 is not a 6.12.N+deb12-amd64 ABI"
	abi="$DRVOPS_ABI_612"
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
