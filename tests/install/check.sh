#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# What `make install` gives a user, on the host (make check-install, part
# of make check): install into a scratch DESTDIR with PREFIX=/usr and check
#   - libdrvops.so.1: its soname, and that it exports exactly the symbols
#     of userspace/lib/libdrvops.map, each with the version of the map's
#     node that lists it (DRVOPS_1.0, DRVOPS_1.1, ...);
#   - every function of the installed headers has a section 3 page, the
#     tools section 1 pages, and drvops(7) exists; every page formats
#     without a warning (man --warnings) and its NAME parses (lexgrog);
#   - pkg-config finds the library, and a program built with its flags
#     against the installed headers (tests/install/example.c) links to
#     libdrvops.so.1 and runs, and so do the installed tools;
#   - a user's build does not use -Werror (the test bed's does).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

fail=0
bad() { echo "check-install: FAIL: $*" >&2; fail=1; }
ok() { echo "check-install: ok: $*"; }

# What the checks run: man-db (man, lexgrog), pkg-config, binutils.
bash tests/apt-need.sh man-db pkg-config binutils
for tool in readelf nm man lexgrog pkg-config; do
	command -v "$tool" >/dev/null || { echo "check-install: $tool missing" >&2; exit 1; }
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"
make -s -C userspace install DESTDIR="$root" PREFIX=/usr WERROR=1 >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; echo "check-install: make install failed" >&2; exit 1; }
lib="$root/usr/lib"

# --- the shared library --------------------------------------------------
so="$lib/libdrvops.so.1"
[ -L "$so" ] && [ -L "$lib/libdrvops.so" ] && [ -f "$lib/libdrvops.a" ] ||
	bad "libdrvops.so.1, libdrvops.so (links) and libdrvops.a not all installed"
soname="$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
[ "$soname" = libdrvops.so.1 ] && ok "soname $soname" || bad "soname is '$soname'"
# symbol@@NODE for every symbol the map lists, under the node it is in.
awk '/^DRVOPS_[0-9.]+ *\{/ { node = $1 } /^[ \t]+drvops_[a-z0-9_]+;/ {
	gsub(/[ \t;]/, ""); print $0 "@@" node }' userspace/lib/libdrvops.map |
	sort >"$tmp/want"
nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | sort >"$tmp/got"
if diff -u "$tmp/want" "$tmp/got" >"$tmp/syms.diff"; then
	ok "exports the $(wc -l <"$tmp/want") symbols of libdrvops.map, each with its node's version"
else
	bad "exported symbols (name@@version) differ from libdrvops.map:"; cat "$tmp/syms.diff" >&2
fi

# --- man pages -----------------------------------------------------------
man="$root/usr/share/man"
# Functions: every name declared in the installed library headers.
grep -ohE '\b(drvops_[a-z0-9_]+)\(' "$root/usr/include/drvops/"*.h |
	tr -d '(' | sort -u >"$tmp/funcs"
missing=0
while read -r f; do
	[ -f "$man/man3/$f.3" ] || { bad "no man page for $f()"; missing=1; }
done <"$tmp/funcs"
[ "$missing" = 0 ] && ok "a section 3 page for each of the $(wc -l <"$tmp/funcs") functions"
for p in man1/drvops-info.1 man1/drvops-demo.1 man7/drvops.7; do
	[ -f "$man/$p" ] || bad "no $p"
done
npages=0
nwarn=0
for page in "$man"/man[137]/*; do
	rel="${page#"$man"/}"
	warn="$(cd "$man" && LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
		man --warnings -E UTF-8 -l -Tutf8 -Z "$rel" 2>&1 >/dev/null)" || true
	[ -z "$warn" ] || { bad "$rel: $warn"; nwarn=$((nwarn + 1)); }
	if ! head -n 1 "$page" | grep -q '^\.so '; then
		lexgrog "$page" >/dev/null 2>&1 || bad "$rel: lexgrog cannot parse its NAME"
	fi
	npages=$((npages + 1))
done
[ "$nwarn" = 0 ] && ok "$npages man pages format without warnings"

# --- pkg-config, a user's program, the tools ----------------------------
export PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_LIBDIR="$lib/pkgconfig"
flags="$(pkg-config --cflags --libs libdrvops)" || bad "pkg-config does not find libdrvops"
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror -o "$tmp/example" tests/install/example.c $flags; then
	readelf -d "$tmp/example" | grep 'NEEDED.*\[libdrvops.so.1\]' >/dev/null &&
		ok "example links to libdrvops.so.1 ($flags)" ||
		bad "example does not need libdrvops.so.1"
	LD_LIBRARY_PATH="$lib" "$tmp/example" >"$tmp/example.out" 2>&1 &&
		ok "example runs: $(tail -n 1 "$tmp/example.out")" ||
		{ bad "example failed"; cat "$tmp/example.out" >&2; }
else
	bad "example does not build against the installed headers"
fi
for t in drvops-info drvops-demo; do
	[ -x "$root/usr/bin/$t" ] || bad "$t not installed"
done
readelf -d "$root/usr/bin/drvops-info" | grep 'NEEDED.*\[libdrvops.so.1\]' >/dev/null ||
	bad "drvops-info is not linked to libdrvops.so.1"
LD_LIBRARY_PATH="$lib" "$root/usr/bin/drvops-info" -h >/dev/null ||
	bad "drvops-info -h failed"

# --- no -Werror for users ----------------------------------------------
if make -s -C userspace -n -B WERROR= ../build/obj/lib-pic/guid.o 2>/dev/null | grep -- -Werror >/dev/null; then
	bad "a user's build (no WERROR) compiles with -Werror"
else
	ok "a user's build has no -Werror"
fi

[ "$fail" = 0 ] && echo "check-install: PASS" || { echo "check-install: FAIL" >&2; exit 1; }
