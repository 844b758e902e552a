#!/usr/bin/env bash
# Static checks that need no guest: checkpatch (from linux-source-6.1, with
# --no-tree) on every kernel source and uapi header, and each uapi header
# compiled on its own with -std=c11 -Wall -Wextra -Werror.
#
# checkpatch.pl and its data files are taken from Debian's linux-source-6.1
# package and cached in $DRVOPS_CACHE/checkpatch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

CACHE="${DRVOPS_CACHE:-$HOME/.cache/drvops}"
CPDIR="$CACHE/checkpatch"
CP="$CPDIR/scripts/checkpatch.pl"

if [ ! -x "$CP" ]; then
	echo "[drvops] fetching checkpatch.pl from linux-source-6.1"
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -qq linux-source-6.1 >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null && apt-get download -qq linux-source-6.1 >/dev/null; })
	dpkg -x "$tmp"/linux-source-6.1_*.deb "$tmp/x"
	mkdir -p "$CPDIR"
	tar -C "$CPDIR" --strip-components=1 -xJf "$tmp"/x/usr/src/linux-source-6.1.tar.xz \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
fi
command -v perl >/dev/null || apt-get install -y -qq perl >/dev/null

# Tracked files and new ones not yet committed (ignored build output is not).
mapfile -t files < <(git ls-files --cached --others --exclude-standard \
	'core/*.[ch]' 'drivers/*.[ch]' 'uapi/*.h' 2>/dev/null ||
	find core drivers uapi -name '*.[ch]' ! -name '*.mod.c')
status=0
if ! "$CP" --no-tree --terse --show-types -f "${files[@]}" >"$CACHE/checkpatch.out" 2>&1; then
	grep -v '^total:' "$CACHE/checkpatch.out" >&2 || true
	echo "[drvops] checkpatch: problems above" >&2
	status=1
fi
for h in uapi/rdma/*.h; do
	if ! cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -Iuapi -x c "$h"; then
		echo "[drvops] $h does not compile on its own" >&2
		status=1
	fi
done
[ "$status" = 0 ] && echo "[drvops] lint: checkpatch clean (${#files[@]} files), uapi headers self-contained"
exit "$status"
