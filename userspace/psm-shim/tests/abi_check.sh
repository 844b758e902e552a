#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Is psm-shim ABI-compatible with Intel's PSM2 (Debian's libpsm2-dev)?
#
#  1. layout: sizeof/alignof of every public type and offsetof of every
#     member, printed by one program compiled twice (our headers, then
#     /usr/include's) and diffed;
#  2. constants: every #define and enumerator named in either header set,
#     printed the same way (a name missing on one side fails to compile);
#  3. prototypes: gcc -aux-info of every function in both header sets,
#     diffed, and our prototypes compiled against Intel's declarations
#     (a conflicting type is a compile error);
#  4. symbols: every psm2_* symbol the real libpsm2.so.2 exports is
#     exported by ours at version PSM2_1.0, and we export nothing else.
#
# Usage: abi_check.sh path/to/our/libpsm2.so.2
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
ours_inc=$here/include
ourlib=${1:?usage: $0 libpsm2.so.2}
sys_inc=/usr/include
syslib=$(ls /usr/lib/*/libpsm2.so.2 2>/dev/null | head -1 || true)
CC=${CC:-cc}
fail=0

if [ ! -f $sys_inc/psm2_mq.h ] || [ -z "$syslib" ]; then
	echo "abi_check: Intel's headers/library missing: apt-get install libpsm2-dev" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- names of constants: macros with a value and enumerators, both sides
names() {	# grep finding nothing is fine here
	local h=$1
	set +o pipefail
	# object-like macros with a value (not include guards)
	grep -hE '^[[:space:]]*#[[:space:]]*define[[:space:]]+PSM2_[A-Z0-9_]+[[:space:]]+[^[:space:]]' "$h" |
		sed -E 's/^[[:space:]]*#[[:space:]]*define[[:space:]]+([A-Z0-9_]+).*/\1/'
	# enumerators: "NAME," or "NAME = value" at the start of a line
	$CC -fpreprocessed -dD -E -P "$h" 2>/dev/null |
		grep -E '^[[:space:]]*PSM2_[A-Z0-9_]+[[:space:]]*(=[^=]|,|$)' |
		sed -E 's/^[[:space:]]*(PSM2_[A-Z0-9_]+).*/\1/'
	set -o pipefail
}
for h in psm2.h psm2_mq.h psm2_am.h; do
	names $ours_inc/$h
	names $sys_inc/$h
done | sort -u | grep -vE '^PSM2(_MQ|_AM)?_H$' >"$work/names"

# --- the dump program
{
	cat <<'HDR'
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <psm2.h>
#include <psm2_mq.h>
#include <psm2_am.h>
#define T(t) printf("sizeof %s %zu align %zu\n", #t, sizeof(t), alignof(t))
#define M(t, m) printf("offsetof %s.%s %zu size %zu\n", #t, #m, \
	offsetof(t, m), sizeof(((t *)0)->m))
#define C(n) printf("const %s %llu\n", #n, (unsigned long long)(uintptr_t)(n))
int main(void)
{
HDR
	for t in psm2_ep_t psm2_mq_t psm2_error_t psm2_component_t \
		psm2_path_res_t psm2_error_token_t psm2_ep_errhandler_t \
		'struct psm2_optkey' psm2_epid_t psm2_epaddr_t psm2_uuid_t \
		'struct psm2_ep_open_opts' psm2_epinfo_t psm2_epconn_t \
		psm2_info_query_t 'enum psm2_info_query_config' \
		'enum psm2_info_query_thresh_et' \
		'enum psm2_info_query_feature_mask' psm2_info_query_arg_t \
		psm2_mq_tag_t psm2_mq_status_t psm2_mq_status2_t psm2_mq_req_t \
		'struct psm2_mq_req_user' 'enum psm2_mq_fp_op' \
		psmi_mq_status_copy_user_t psm2_mq_stats_t psm2_handler_t \
		psm2_am_token_t psm2_amarg_t psm2_am_handler_fn_t \
		psm2_am_handler_2_fn_t psm2_am_completion_fn_t \
		'struct psm2_am_parameters'; do
		echo "T($t);"
	done
	# "type member", type possibly "struct name"
	while read -r a b c; do
		if [ "$a" = struct ]; then echo "M(struct $b, $c);"
		else echo "M($a, $b);"; fi
	done <<'MEMBERS'
struct psm2_optkey key
struct psm2_optkey value
struct psm2_ep_open_opts timeout
struct psm2_ep_open_opts unit
struct psm2_ep_open_opts affinity
struct psm2_ep_open_opts shm_mbytes
struct psm2_ep_open_opts sendbufs_num
struct psm2_ep_open_opts network_pkey
struct psm2_ep_open_opts port
struct psm2_ep_open_opts outsl
struct psm2_ep_open_opts service_id
struct psm2_ep_open_opts path_res_type
struct psm2_ep_open_opts senddesc_num
struct psm2_ep_open_opts imm_size
psm2_epinfo_t ep
psm2_epinfo_t epid
psm2_epinfo_t uuid
psm2_epinfo_t jkey
psm2_epinfo_t uuid_str
psm2_epconn_t addr
psm2_epconn_t ep
psm2_epconn_t mq
psm2_info_query_arg_t unit
psm2_info_query_arg_t port
psm2_info_query_arg_t length
psm2_info_query_arg_t mq
psm2_info_query_arg_t epaddr
psm2_info_query_arg_t mstq
psm2_mq_tag_t tag
psm2_mq_tag_t tag0
psm2_mq_tag_t tag1
psm2_mq_tag_t tag2
psm2_mq_status_t msg_tag
psm2_mq_status_t msg_length
psm2_mq_status_t nbytes
psm2_mq_status_t error_code
psm2_mq_status_t context
psm2_mq_status2_t msg_peer
psm2_mq_status2_t msg_tag
psm2_mq_status2_t msg_length
psm2_mq_status2_t nbytes
psm2_mq_status2_t error_code
psm2_mq_status2_t context
struct psm2_mq_req_user peer
struct psm2_mq_req_user tag
struct psm2_mq_req_user tagsel
struct psm2_mq_req_user buf
struct psm2_mq_req_user buf_len
struct psm2_mq_req_user error_code
struct psm2_mq_req_user recv_msglen
struct psm2_mq_req_user send_msglen
struct psm2_mq_req_user context
struct psm2_mq_req_user user_reserved
psm2_mq_stats_t rx_user_bytes
psm2_mq_stats_t rx_user_num
psm2_mq_stats_t rx_sys_bytes
psm2_mq_stats_t rx_sys_num
psm2_mq_stats_t tx_num
psm2_mq_stats_t tx_eager_num
psm2_mq_stats_t tx_eager_bytes
psm2_mq_stats_t tx_rndv_num
psm2_mq_stats_t tx_rndv_bytes
psm2_mq_stats_t tx_shm_num
psm2_mq_stats_t rx_shm_num
psm2_mq_stats_t rx_sysbuf_num
psm2_mq_stats_t rx_sysbuf_bytes
psm2_mq_stats_t _reserved
psm2_amarg_t u16w3
psm2_amarg_t u16w2
psm2_amarg_t u16w1
psm2_amarg_t u16w0
psm2_amarg_t u32w1
psm2_amarg_t u32w0
psm2_amarg_t u64w0
psm2_amarg_t u64
struct psm2_am_parameters max_handlers
struct psm2_am_parameters max_nargs
struct psm2_am_parameters max_request_short
struct psm2_am_parameters max_reply_short
MEMBERS
	while read -r n; do echo "C($n);"; done <"$work/names"
	echo "return 0; }"
} >"$work/dump.c"

dump() {	# $1: include dir first in the path ("" for the system's)
	local tag=$2
	$CC -std=gnu11 -w ${1:+-I$1} -o "$work/dump-$tag" "$work/dump.c" \
		2>"$work/dump-$tag.err" || {
		echo "abi_check: the layout program does not compile with the $tag headers:" >&2
		grep -E 'error' "$work/dump-$tag.err" | head -20 >&2
		return 1
	}
	"$work/dump-$tag" >"$work/layout-$tag"
}
dump "$ours_inc" ours || fail=1
dump "" intel || fail=1
if [ $fail = 0 ]; then
	if diff -u "$work/layout-intel" "$work/layout-ours" >"$work/layout.diff"; then
		echo "abi_check: layout and constants equal: $(grep -c ^sizeof "$work/layout-ours") types, $(grep -c ^offsetof "$work/layout-ours") members, $(grep -c ^const "$work/layout-ours") constants"
	else
		echo "abi_check: layout/constants differ (- Intel, + ours):" >&2
		cat "$work/layout.diff" >&2
		fail=1
	fi
fi

# --- prototypes
protos() {	# $1: include dir ("" for the system's), $2: tag
	printf '#include <psm2.h>\n#include <psm2_mq.h>\n#include <psm2_am.h>\n' >"$work/p.c"
	(cd "$work" && $CC -std=gnu11 -w ${1:+-I$1} -aux-info "aux-$2" -c p.c -o p.o)
	grep -E '\bpsm2_[a-z0-9_]+ \(' "$work/aux-$2" | sed -E 's|^/\*.*\*/ *||; s/[[:space:]]+/ /g' |
		sort >"$work/protos-$2"
}
protos "$ours_inc" ours
protos "" intel
if diff -u "$work/protos-intel" "$work/protos-ours" >"$work/protos.diff"; then
	echo "abi_check: prototypes equal: $(wc -l <"$work/protos-ours") functions"
else
	echo "abi_check: prototypes differ (- Intel, + ours):" >&2
	cat "$work/protos.diff" >&2
	fail=1
fi
# ours, declared again under Intel's headers: conflicting types do not compile
{ printf '#include <psm2.h>\n#include <psm2_mq.h>\n#include <psm2_am.h>\n'; cat "$work/protos-ours"; } >"$work/cross.c"
if ! $CC -std=gnu11 -Werror -fsyntax-only "$work/cross.c" 2>"$work/cross.err"; then
	echo "abi_check: our prototypes conflict with Intel's:" >&2
	head -20 "$work/cross.err" >&2
	fail=1
fi

# --- symbols and versions
exported() {	# "name version" of every defined dynamic symbol
	objdump -T "$1" | awk '$2 ~ /^[gw]$/ && $0 !~ /\*UND\*/ { print $NF, $(NF-1) }' |
		sed -E 's/[()]//g' | sort -u
}
exported "$syslib" | grep '^psm2_' >"$work/sym-intel"
exported "$ourlib" | grep -v '^PSM2_1.0 ' >"$work/sym-ours"
missing=$(comm -23 "$work/sym-intel" "$work/sym-ours")
extra=$(grep -v '^psm2_' "$work/sym-ours" || true)
if [ -n "$missing" ]; then
	echo "abi_check: psm2_* symbols of Intel's library we lack (or not at PSM2_1.0):" >&2
	echo "$missing" >&2
	fail=1
fi
if [ -n "$extra" ]; then
	echo "abi_check: we export more than the API:" >&2
	echo "$extra" >&2
	fail=1
fi
soname=$(objdump -p "$ourlib" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" != libpsm2.so.2 ]; then
	echo "abi_check: soname is '$soname', not libpsm2.so.2" >&2
	fail=1
fi
if [ -z "$missing" ] && [ -z "$extra" ]; then
	echo "abi_check: symbols: all $(wc -l <"$work/sym-intel") psm2_* symbols of $syslib exported at PSM2_1.0, nothing else; soname $soname"
fi

# --- what unmodified Open MPI imports: Debian's psm2 MTL (libopenmpi3,
# installed with libopenmpi-dev) must find every psm2_* symbol it needs in
# ours, at PSM2_1.0.
mtl=$(ls /usr/lib/*/openmpi/lib/openmpi3/mca_mtl_psm2.so 2>/dev/null | head -n 1)
if [ -z "$mtl" ]; then
	echo "abi_check: Open MPI's mca_mtl_psm2.so missing: apt-get install libopenmpi-dev" >&2
	fail=1
else
	nm -D --undefined-only "$mtl" | awk '{ print $2 }' | grep '^psm2_' |
		sed 's/@.*//' | sort -u >"$work/mtl-needs"
	nm -D --defined-only "$ourlib" | awk '{ print $3 }' | grep '@@PSM2_1.0$' |
		sed 's/@@.*//' | sort -u >"$work/ours-at-v1"
	mtl_missing=$(comm -23 "$work/mtl-needs" "$work/ours-at-v1")
	if [ -n "$mtl_missing" ] || [ ! -s "$work/mtl-needs" ]; then
		echo "abi_check: Open MPI's psm2 MTL needs symbols we lack at PSM2_1.0:" >&2
		echo "${mtl_missing:-(could not read its imports)}" >&2
		fail=1
	else
		echo "abi_check: nm: all $(wc -l <"$work/mtl-needs") psm2_* symbols $mtl imports are ours at PSM2_1.0"
	fi
fi

if [ $fail != 0 ]; then
	echo "abi_check: FAILED" >&2
	exit 1
fi
echo "abi_check: PASSED"
