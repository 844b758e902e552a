#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the drvops SELinux module with Debian's selinux-policy-dev and check
# the rules it gives, offline: no running SELinux is needed. A check module
# (drvopschk) puts each interface of drvops.if on a domain of its own; both
# modules are installed into a copy of the system policy store in a scratch
# root, and sesearch queries the resulting policy.33:
#   - each interface grants exactly: device_t dir search, infiniband_device_t
#     chr_file {rw, map, create}, sysfs read, and its ioctl numbers
#     (allowxperm) - no chr_file/blk_file on device_t or any other type;
#   - drvops.pp alone adds no rule at all;
#   - a domain given nothing has nothing.
#
#   policy/check.sh            build + check (installs packages if missing)
#   policy/check.sh --deps     only install the packages
#
# Output: drvops.pp in $DRVOPS_POLICY_OUT (default build/policy/).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${DRVOPS_POLICY_OUT:-$REPO/build/policy}"
PKGS=(selinux-policy-dev selinux-policy-default checkpolicy secilc setools
	policycoreutils selinux-utils semodule-utils make m4)
DEVEL_MK=/usr/share/selinux/devel/Makefile

say() { echo "[policy] $*"; }
die() {
	echo "[policy] ERROR: $*" >&2
	exit 1
}

unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	say "installing ${missing[*]}"
	APT=(env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300)
	$SUDO "${APT[@]}" install --no-install-recommends "${missing[@]}" >/dev/null ||
		{ $SUDO "${APT[@]}" update >/dev/null &&
		  $SUDO "${APT[@]}" install --no-install-recommends "${missing[@]}" >/dev/null; } ||
		die "apt-get install ${missing[*]} failed"
fi
[ "${1:-}" != --deps ] || exit 0

SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
SRC="$SCRATCH/src"
ROOT="$SCRATCH/root"
mkdir -p "$SRC" "$OUT"

# ------------------------------------------------------------- build
cp "$REPO"/policy/drvops.{te,if,fc} "$SRC/"
cat >"$SRC/drvopschk.te" <<'TE'
policy_module(drvopschk, 1.0.0)
type drvopschk_rdma_t;
type drvopschk_uverbs_t;
type drvopschk_generic_t;
type drvopschk_hfi_t;
type drvopschk_sdma_t;
type drvopschk_psm2_t;
type drvopschk_none_t;
drvops_use_rdma(drvopschk_rdma_t)
drvops_use_uverbs(drvopschk_uverbs_t)
drvops_use_generic_copy(drvopschk_generic_t)
drvops_use_hfi_fastpath(drvopschk_hfi_t)
drvops_use_hfi_sdma(drvopschk_sdma_t)
drvops_use_hfi_psm2(drvopschk_psm2_t)
TE
: >"$SRC/drvopschk.fc"
echo '## <summary>drvops check domains</summary>' >"$SRC/drvopschk.if"
if ! make -C "$SRC" -f "$DEVEL_MK" drvops.pp drvopschk.pp >"$SCRATCH/build.log" 2>&1 ||
   grep -qiE 'error|warning' "$SCRATCH/build.log"; then
	cat "$SCRATCH/build.log" >&2
	die "module build failed"
fi
cp "$SRC/drvops.pp" "$OUT/drvops.pp"
say "built $OUT/drvops.pp"

# --------------------------------------------------- scratch policy store
# new_root DIR: a copy of the system store and config.
new_root() {
	mkdir -p "$1/var/lib/selinux" "$1/etc/selinux"
	cp -a /var/lib/selinux/default "$1/var/lib/selinux/"
	cp -a /etc/selinux/default /etc/selinux/semanage.conf /etc/selinux/config \
		"$1/etc/selinux/"
}
policy_of() { find "$1/etc/selinux/default/policy" -name 'policy.[0-9]*' | sort | tail -n 1; }
install_into() {
	local root="$1"
	shift
	semodule -p "$root" -s default -n "${@/#/-i}" >"$SCRATCH/semodule.log" 2>&1 ||
		{ cat "$SCRATCH/semodule.log" >&2; die "semodule -i $* failed"; }
	# semodule -n still writes the kernel policy into the store's root.
	[ -n "$(policy_of "$root")" ] || die "semodule wrote no policy in $root"
}

new_root "$ROOT"
install_into "$ROOT" "$SRC/drvops.pp" "$SRC/drvopschk.pp"
POL="$SCRATCH/check.pol"
cp "$(policy_of "$ROOT")" "$POL"

# --------------------------------------------------------------- checks
FAILS=0
fail() {
	echo "[policy] FAIL: $*" >&2
	FAILS=$((FAILS + 1))
}
ok() { say "ok: $*"; }

# Every rule of every check domain, once (each sesearch loads the whole
# policy: one query, then grep).
ALL="$(sesearch -A --allowxperm -rs -s 'drvopschk_' "$POL" |
	sed 's/[[:space:]]\+/ /g; s/ $//' | LC_ALL=C sort -u)"

# expect_rules WHAT EXPECTED EGREP: the rules matching EGREP are exactly
# EXPECTED.
expect_rules() {
	local what="$1" want="$2" got
	got="$(echo "$ALL" | grep -E "$3" || true)"
	if [ "$got" = "$want" ]; then
		ok "$what"
	else
		fail "$what"
		diff <(echo "$want") <(echo "$got") | sed 's/^/    /' >&2 || true
	fi
}

IB_PERMS='{ append create getattr ioctl lock map open read write }'
SYSFS_RULES='allow T sysfs_t:dir { getattr ioctl lock open read search };
allow T sysfs_t:file { getattr ioctl lock open read };
allow T sysfs_t:lnk_file { getattr read };'
BASE_XPERM='0x1bc0-0x1bcf'
declare -A XPERMS=(
	[rdma]='0x1b00-0x1bff'
	[uverbs]="0x1b01 $BASE_XPERM"
	[generic]="0x1b01 0x1b20-0x1b2f $BASE_XPERM"
	[hfi]="0x1b01 0x1b30-0x1b4f $BASE_XPERM"
	[sdma]="0x1b01 0x1b30-0x1b3f $BASE_XPERM"
	[psm2]="0x1b01 0x1b40-0x1b4f $BASE_XPERM"
)
declare -A IFACE=(
	[rdma]=drvops_use_rdma
	[uverbs]=drvops_use_uverbs
	[generic]=drvops_use_generic_copy
	[hfi]=drvops_use_hfi_fastpath
	[sdma]=drvops_use_hfi_sdma
	[psm2]=drvops_use_hfi_psm2
)

for d in rdma uverbs generic hfi sdma psm2; do
	t="drvopschk_${d}_t"
	x="${XPERMS[$d]}"
	case "$x" in *' '*) x="{ $x }" ;; esac
	expect_rules "${IFACE[$d]}: infiniband_device_t chr_file $IB_PERMS" \
		"allow $t infiniband_device_t:chr_file $IB_PERMS;" \
		"^allow $t infiniband_device_t:"
	expect_rules "${IFACE[$d]}: ioctl numbers $x" \
		"allowxperm $t infiniband_device_t:chr_file ioctl $x;" \
		"^allowxperm $t "
	# Device nodes: only infiniband_device_t, never device_t or others.
	expect_rules "${IFACE[$d]}: no chr_file/blk_file of another type" \
		"allow $t infiniband_device_t:chr_file $IB_PERMS;" \
		"^allow $t [a-z0-9_]+:(chr_file|blk_file) "
	expect_rules "${IFACE[$d]}: device_t only dir search" \
		"allow $t device_t:dir { getattr open search };" \
		"^allow $t device_t:"
	expect_rules "${IFACE[$d]}: sysfs read-only (discovery)" \
		"${SYSFS_RULES//T/$t}" "^allow $t sysfs_t:"
	others="$(echo "$ALL" | grep -E "^allow(xperm)? $t " |
		grep -vE " (infiniband_device_t|device_t|sysfs_t):" || true)"
	if [ -z "$others" ]; then
		ok "${IFACE[$d]}: nothing beyond infiniband_device_t, device_t, sysfs_t"
	else
		fail "${IFACE[$d]}: rules on other types:"
		echo "$others" | sed 's/^/    /' >&2
	fi
done

expect_rules "a domain given nothing has nothing" "" "^allow(xperm)? drvopschk_none_t "

# The same xperm sets as the kernel sees them: uverbs (0x1b01) everywhere;
# each interface's numbers only with its own interface (and rdma), so one
# interface of a driver can be allowed without the other; 0x1b10 (RDMA
# core's range, no interface) only with drvops_use_rdma.
expect_xperm() {
	local num="$1" what="$2" want="$3" got
	got="$(sesearch --allowxperm -rs -s 'drvopschk_' -x "$num" "$POL" |
		grep -o 'drvopschk_[a-z0-9]*_t' | sort -u | tr '\n' ' ')"
	if [ "$got" = "$want" ]; then
		ok "$num ($what) allowed for: $got"
	else
		fail "$num ($what) allowed for: $got; want: $want"
	fi
}
expect_xperm 0x1b01 RDMA_VERBS_IOCTL \
	"drvopschk_generic_t drvopschk_hfi_t drvopschk_psm2_t drvopschk_rdma_t drvopschk_sdma_t drvopschk_uverbs_t "
expect_xperm 0x1b21 "copy.generic COPY" "drvopschk_generic_t drvopschk_rdma_t "
expect_xperm 0x1b34 "sdma.opa COUNTERS" \
	"drvopschk_hfi_t drvopschk_rdma_t drvopschk_sdma_t "
expect_xperm 0x1b44 "psm2.intel.com COUNTERS" \
	"drvopschk_hfi_t drvopschk_psm2_t drvopschk_rdma_t "
expect_xperm 0x1b10 "no interface" "drvopschk_rdma_t "

# drvops.pp on its own declares and grants nothing: its CIL has no rule.
/usr/libexec/selinux/hll/pp "$SRC/drvops.pp" >"$SCRATCH/drvops.cil" ||
	die "cannot convert drvops.pp to CIL"
stmts="$(grep -vE '^\s*(;|$)|^\(typeattributeset cil_gen_require |^\(roleattributeset cil_gen_require ' \
	"$SCRATCH/drvops.cil" || true)"
if [ -z "$stmts" ]; then
	ok "drvops.pp alone grants nothing (only requires infiniband_device_t)"
else
	fail "drvops.pp has statements of its own:"
	echo "$stmts" | sed 's/^/    /' >&2
fi

if [ "$FAILS" != 0 ]; then
	die "$FAILS check(s) failed"
fi
say "PASSED: drvops.pp builds and every interface grants exactly its rules"
