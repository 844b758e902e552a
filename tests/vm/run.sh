#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The drvops test bed: build everything, boot Debian's bookworm 6.1 kernel in
# a qemu (TCG) guest with a busybox initramfs, load the modules, run the
# CUnit suites and the demo, and decide pass/fail on the host from the
# serial console log.
#
#   tests/vm/run.sh            the full check (`make check`, CI): the
#                              policy check (policy/check.sh), the normal
#                              boot, then the enforcing-SELinux boot
#   tests/vm/run.sh --selinux  only the enforcing-SELinux boot: the test
#                              policy, build/tests-selinux/test_*
#   tests/vm/run.sh --mpi      the Debian/Open MPI guest (tests/vm/mpi-mode.sh):
#                              runs tests/mpi/*.sh (or DRVOPS_MPI_TESTS)
#   tests/vm/run.sh --demo     only the demo (`make demo`); exits with its rc
#   tests/vm/run.sh --bench    only drvops-bench (`make bench`): prints its
#                              tables, saves the CSV (and a PNG if gnuplot or
#                              python3-matplotlib is there) in <cache>/logs/
#   tests/vm/run.sh --deps     only install host packages + fetch the kernel
#   tests/vm/run.sh --keep     keep the initramfs work dir (prints the qemu
#                              command line to boot it again by hand)
#
# Environment:
#   DRVOPS_VM_TIMEOUT      whole-guest timeout in seconds (default 1200)
#   DRVOPS_TEST_TIMEOUT    per test binary timeout in the guest (default 300)
#   DRVOPS_APPEND          extra kernel command line (e.g. dyndbg=...)
#   DRVOPS_TESTS           only these suites, e.g. "test_copy test_bind"
#                          (development; the summary says the run was partial;
#                          the SELinux boot runs only if it names test_selinux)
#   DRVOPS_ONLY=WORD       only the CUnit tests whose name contains WORD
#                          (development; with DRVOPS_TESTS)
#   DRVOPS_FUZZ_CALLS, DRVOPS_FUZZ_SEED, DRVOPS_FUZZ_SECS
#                          test_fuzz's budget and seed (make fuzz)
#   DRVOPS_SELINUX=0       check without the SELinux boot and policy check
#   DRVOPS_MPI_TESTS       --mpi: only these scripts of tests/mpi/, e.g.
#                          "smoke.sh" (default: every tests/mpi/*.sh);
#                          "bench/run.sh" is the MPI benchmark (`make
#                          bench-mpi`): its CSV is saved as
#                          <cache>/logs/bench-mpi-latest.csv, its plots as
#                          bench-mpi-latest-{latency,bandwidth}.png
#   DRVOPS_CACHE           cache dir (default ~/.cache/drvops): kernel image
#                          in <cache>/<abi>/, logs in <cache>/logs/
#   DRVOPS_ABI             pin the kernel ABI (default: resolved via apt)
#   DRVOPS_KERNEL          6.1 (default), 6.12 or debug: the kernel to boot
#                          and build against (tests/vm/kernel/select.sh);
#                          the SELinux and MPI boots run on 6.1 only
#   DRVOPS_SKIP_BUILD=1    test-bed development: use build/kmod/<kernel>/*.ko
#                          and build/ as they are, do not run make
#   DRVOPS_ALLOW_MISSING_MODULES=1
#                          test-bed development: missing ib_drvops /
#                          drvops_generic / drvops-demo are not errors. Never
#                          set it in CI.
set -euo pipefail

PROG="tests/vm/run.sh"
MODE=check
KEEP=0
DEPS_ONLY=0

usage() {
	sed -n '9,22p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

for arg in "$@"; do
	case "$arg" in
	--demo) MODE=demo ;;
	--bench) MODE=bench ;;
	--selinux) MODE=selinux ;;
	--mpi) MODE=mpi ;;
	--keep) KEEP=1 ;;
	--deps) DEPS_ONLY=1 ;;
	-h|--help) usage ;;
	*) echo "$PROG: unknown option '$arg'" >&2; usage ;;
	esac
done

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"

CACHE="${DRVOPS_CACHE:-$HOME/.cache/drvops}"
LOGDIR="$CACHE/logs"
mkdir -p "$LOGDIR"
TS="$(date +%Y%m%d-%H%M%S)-$$"
SETUP_LOG="$LOGDIR/setup-$TS.log"
BUILD_LOG="$LOGDIR/build-$TS.log"
GUEST_LOG="$LOGDIR/guest-$TS.log"
VM_TIMEOUT="${DRVOPS_VM_TIMEOUT:-1200}"
TEST_TIMEOUT="${DRVOPS_TEST_TIMEOUT:-300}"
ALLOW_MISSING="${DRVOPS_ALLOW_MISSING_MODULES:-0}"
T_START=$SECONDS

# Make variables of an outer `make check` must not leak into our builds.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

say() { echo "[drvops] $*"; }
die() {
	echo "[drvops] ERROR: $*" >&2
	exit 1
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	fi
fi

APT=(env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300)
APT_UPDATED=0
apt_update_once() {
	[ "$APT_UPDATED" = 0 ] || return 0
	echo "+ apt-get update" >>"$SETUP_LOG"
	$SUDO "${APT[@]}" update >>"$SETUP_LOG" 2>&1 ||
		die "apt-get update failed, see $SETUP_LOG"
	APT_UPDATED=1
}

# Keep the newest 30 logs of each kind; drop work dirs of killed runs. (ls
# fails when there is none yet: not an error.)
for kind in guest build setup; do
	# shellcheck disable=SC2012 # our own file names, no odd characters
	ls -t "$LOGDIR/$kind"-2*.log 2>/dev/null | tail -n +31 | xargs -r rm -f || true
done
for ext in csv png; do
	# shellcheck disable=SC2012 # as above
	ls -t "$LOGDIR"/bench-2*."$ext" 2>/dev/null | tail -n +31 | xargs -r rm -f || true
done
# shellcheck disable=SC2012 # as above
ls -t "$LOGDIR"/bench-mpi-2*.csv 2>/dev/null | tail -n +31 | xargs -r rm -f || true
find "$CACHE" -maxdepth 1 -name 'work.*' -type d -mmin +1440 -exec rm -rf {} + 2>/dev/null || true

WORK=""
cleanup() {
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "$KEEP" = 1 ]; then
			say "kept work dir $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
}
trap cleanup EXIT

# ------------------------------------------------------------ the kernel
# shellcheck source=tests/vm/kernel/select.sh
. tests/vm/kernel/select.sh
kernel_resolve "${DRVOPS_KERNEL:-6.1}"
# The SELinux and MPI guests run on the stock 6.1 only (see README).
if [ "$KERNEL" != 6.1 ] && { [ "$MODE" = selinux ] || [ "$MODE" = mpi ]; }; then
	die "--$MODE runs on DRVOPS_KERNEL=6.1 only"
fi

# ------------------------------------------------------- a. host packages
PKGS=(qemu-system-x86 busybox-static cpio libcunit1-dev kmod iproute2 gcc make
	xz-utils rsync
	"${KERNEL_PKGS[@]}"
	libpsm2-dev
	libopenmpi-dev libfabric-dev linux-perf gnuplot-nox)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	say "installing host packages: ${missing[*]} (log $SETUP_LOG)"
	[ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ] || die "need root (or sudo) to install ${missing[*]}"
	echo "+ apt-get install ${missing[*]}" >>"$SETUP_LOG"
	if ! $SUDO "${APT[@]}" install --no-install-recommends "${missing[@]}" >>"$SETUP_LOG" 2>&1; then
		apt_update_once
		echo "+ apt-get install ${missing[*]} (after update)" >>"$SETUP_LOG"
		$SUDO "${APT[@]}" install --no-install-recommends "${missing[@]}" >>"$SETUP_LOG" 2>&1 ||
			{ tail -n 20 "$SETUP_LOG" >&2; die "apt-get install failed, see $SETUP_LOG"; }
	fi
else
	say "host packages present (kernel $KERNEL, ABI $ABI)"
fi

# ------------------------------------------------------ b. kernel image
kernel_fetch
KMOD="build/kmod/$KERNEL"

if [ "$DEPS_ONLY" = 1 ]; then
	say "dependencies ready ($KERNEL): KDIR=$KDIR, kernel $VMLINUZ"
	exit 0
fi

# ---------------------------------------------------------------- c. build
if [ "${DRVOPS_SKIP_BUILD:-0}" = 1 ]; then
	say "DRVOPS_SKIP_BUILD=1: not building, using the existing *.ko and build/"
else
	say "building modules for $KERNEL (KDIR=$KDIR) and userspace (log $BUILD_LOG)"
	build() {
		echo "+ $*" >>"$BUILD_LOG"
		if ! "$@" >>"$BUILD_LOG" 2>&1; then
			echo "---------------- build failed: $* ----------------" >&2
			grep -E -A3 'error:|Error [0-9]|undefined|\*\*\*' "$BUILD_LOG" | tail -n 60 >&2 ||
				tail -n 40 "$BUILD_LOG" >&2
			echo "-------------------------------------------------" >&2
			die "build failed: $* (full log $BUILD_LOG)"
		fi
	}
	# One kbuild tree per kernel (build/kmod/<kernel>/: a copy of the
	# sources), so the kernels of the matrix never share objects. W=1
	# warnings are errors here: the tree must build warning-free.
	mkdir -p "$KMOD"
	build rsync -a -R --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		--exclude='*.mod*' --exclude=Module.symvers --exclude=modules.order \
		Kbuild core drivers uapi tests/kmod "$KMOD/"
	build make -j"$(nproc)" -C "$KDIR" M="$REPO/$KMOD" W=1 KCFLAGS=-Werror modules
	build make userspace WERROR=1
	nwarn="$(grep -c 'warning:' "$BUILD_LOG" || true)"
	[ "$nwarn" = 0 ] || die "build: $nwarn compiler warning(s), see $BUILD_LOG"
	[ "$MODE" != check ] || [ "$KERNEL" != 6.1 ] || bash tests/vm/lint.sh || die "lint failed"
fi

# The SELinux module: built and checked offline (policy/check.sh) while the
# guest boots; its verdict joins the guest's.
SELINUX="${DRVOPS_SELINUX:-1}"
POLICY_LOG="$LOGDIR/policy-$TS.log"
POLICY_PID=""
if [ "$MODE" = check ] && [ "$SELINUX" != 0 ] && [ "$KERNEL" = 6.1 ]; then
	say "policy: building and checking the SELinux module (log $POLICY_LOG)"
	bash policy/check.sh >"$POLICY_LOG" 2>&1 &
	POLICY_PID=$!
fi
if [ "$MODE" = selinux ] && ! command -v secilc >/dev/null; then
	bash policy/check.sh --deps || die "cannot install secilc (policy/check.sh --deps)"
fi

# ---------------------------------------------------------- d. initramfs
WORK="$(mktemp -d "$CACHE/work.XXXXXX")"
ROOT="$WORK/root"
INITRD="$WORK/initrd.gz"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc} \
	"$ROOT"/drvops/{modules,bin,tests}

BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (package busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked: install busybox-static"
fi
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$BUSYBOX" --list-full); do
	[ -e "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done
ln -sf busybox "$ROOT/bin/sh"
# The kernel opens /dev/console before /init runs; needs root to mknod,
# otherwise /init reopens it from devtmpfs.
mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || true
install -m 755 tests/vm/guest-init.sh "$ROOT/init"
install -m 644 tests/vm/guest-modules.sh "$ROOT/drvops/guest-modules.sh"

# copy_libs BINARY: the shared libraries and loader it needs, same paths.
copy_libs() {
	local lib
	ldd "$1" >/dev/null 2>&1 || return 0 # static
	for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
		[ -e "$ROOT$lib" ] && continue
		mkdir -p "$ROOT$(dirname "$lib")"
		cp -L "$lib" "$ROOT$lib"
	done
}

cp "$IBDIR/ib_core.ko" "$IBDIR/ib_uverbs.ko" "$ROOT/drvops/modules/"
nko=0
while IFS= read -r -d '' ko; do
	base="$(basename "$ko")"
	[ ! -e "$ROOT/drvops/modules/$base" ] || die "two modules named $base in core/ drivers/"
	cp "$ko" "$ROOT/drvops/modules/"
	nko=$((nko + 1))
done < <(find "$KMOD" -name '*.ko' -print0 2>/dev/null)

nbin=0
if [ -d build/bin ]; then
	for f in build/bin/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		cp "$f" "$ROOT/drvops/bin/"
		copy_libs "$f"
		nbin=$((nbin + 1))
	done
fi

TESTS=()
DEBUG_ONLY_SUITES="test_failnth test_fuzz"
TESTS_SRC=build/tests
TESTS_DST=tests
if [ "$MODE" = selinux ]; then
	TESTS_SRC=build/tests-selinux
	TESTS_DST=tests-selinux
	mkdir -p "$ROOT/drvops/tests-selinux" "$ROOT/drvops/selinux"
	secilc -M false -c 33 -o "$ROOT/drvops/selinux/policy.33" -f /dev/null \
		tests/suites/selinux/drvops-test.cil ||
		die "secilc tests/suites/selinux/drvops-test.cil failed"
fi
# DRVOPS_BENCH_ARGS="-f null -r 31": drvops-bench's arguments (development;
# `make bench` runs it without). DRVOPS_BENCH_PROFILE=1: run it under
# `perf record` (cpu-clock: TCG has no PMU) and print where the time went
# (`make bench-profile`).
if [ "$MODE" = bench ] && [ -n "${DRVOPS_BENCH_ARGS:-}" ]; then
	printf '%s\n' "$DRVOPS_BENCH_ARGS" >"$ROOT/drvops/bench-args"
fi
if [ "$MODE" = bench ] && [ "${DRVOPS_BENCH_PROFILE:-0}" = 1 ]; then
	PERF="$(command -v perf || true)"
	[ -n "$PERF" ] || die "perf not found (package linux-perf)"
	mkdir -p "$ROOT/usr/bin"
	cp -L "$PERF" "$ROOT/usr/bin/perf"
	copy_libs "$PERF"
	touch "$ROOT/drvops/bench-profile"
fi
# The benchmark boot carries no test binaries.
if [ "$MODE" != bench ] && [ "$MODE" != mpi ] && [ -d "$TESTS_SRC" ]; then
	for f in "$TESTS_SRC"/test_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		# DRVOPS_TESTS="test_a test_b": run only these (development).
		if [ -n "${DRVOPS_TESTS:-}" ] &&
		   [[ " $DRVOPS_TESTS " != *" $(basename "$f") "* ]]; then
			continue
		fi
		# Suites that need the debug kernel's fault injection.
		if [ "$KERNEL" != debug ] &&
		   [[ " $DEBUG_ONLY_SUITES " == *" $(basename "$f") "* ]]; then
			continue
		fi
		cp "$f" "$ROOT/drvops/$TESTS_DST/"
		copy_libs "$f"
		TESTS+=("$(basename "$f")")
	done
fi
if { [ "$MODE" = check ] || [ "$MODE" = selinux ]; } && [ "${#TESTS[@]}" = 0 ]; then
	die "no test binaries $TESTS_SRC/test_* (did 'make userspace' build the tests?)"
fi

RDMA=""
for c in "$(command -v rdma 2>/dev/null || true)" /usr/bin/rdma /sbin/rdma /usr/sbin/rdma /bin/rdma; do
	if [ -n "$c" ] && [ -x "$c" ]; then
		RDMA="$c"
		break
	fi
done
[ -n "$RDMA" ] || die "rdma tool not found (package iproute2)"
rm -f "$ROOT/usr/bin/rdma"
cp -L "$RDMA" "$ROOT/usr/bin/rdma"
copy_libs "$RDMA"

if [ "$MODE" = mpi ]; then
	# shellcheck source=tests/vm/mpi-mode.sh
	. tests/vm/mpi-mode.sh
	mpi_initramfs # sets TESTS (the scripts) and MPI_QEMU
fi

(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$INITRD" ||
	die "building the initramfs failed"
say "initramfs $(du -h "$INITRD" | cut -f1): $((nko + 2)) modules ($nko built), $nbin tools, ${#TESTS[@]} test binaries"

# --------------------------------------------------------------- f. boot
# tsc=reliable: TCG's vCPUs fail the boot-time TSC sync check, and the
# fallback clocksource (HPET) makes every clock_gettime() a system call
# with an emulated MMIO read, several times a getppid(): timing loops,
# psm-shim and Open MPI would measure the clock more than themselves.
# TCG's TSCs all follow the host's clock, so the TSC (and vDSO) is used.
APPEND="console=ttyS0 panic=-1 tsc=reliable drvops.mode=$MODE drvops.timeout=$TEST_TIMEOUT"
[ "$ALLOW_MISSING" != 1 ] || APPEND="$APPEND drvops.allow_missing=1"
[ "$MODE" != selinux ] || APPEND="$APPEND security=selinux enforcing=1"
[ -z "$KERNEL_APPEND" ] || APPEND="$APPEND $KERNEL_APPEND"
[ -z "${DRVOPS_APPEND:-}" ] || APPEND="$APPEND $DRVOPS_APPEND"
[ -z "${DRVOPS_ONLY:-}" ] || APPEND="$APPEND drvops.only=$DRVOPS_ONLY"
[ -z "${DRVOPS_FUZZ_CALLS:-}" ] || APPEND="$APPEND drvops.fuzz_calls=$DRVOPS_FUZZ_CALLS"
[ -z "${DRVOPS_FUZZ_SEED:-}" ] || APPEND="$APPEND drvops.fuzz_seed=$DRVOPS_FUZZ_SEED"
[ -z "${DRVOPS_FUZZ_SECS:-}" ] || APPEND="$APPEND drvops.fuzz_secs=$DRVOPS_FUZZ_SECS"
# The CPU model: "max" (the suites and the benchmarks' goals). TCG runs
# "rep movsb" one byte per step, so with ERMS every kernel copy and
# glibc's larger memcpy crawl, and the many small ones inside system
# calls weigh on per-call costs; DRVOPS_QEMU_CPU=max,-erms,-fsrm gives the
# kernel and glibc their word loops instead (a 64 KiB memcpy 119 us with
# ERMS, 20 us without), which TCG runs twice as fast in glibc (AVX2) as in
# the kernel (8-byte moves). README "Benchmarks" has both views.
QEMU_CPU=${DRVOPS_QEMU_CPU:-max}
[ "$QEMU_CPU" = max ] || say "qemu -cpu $QEMU_CPU"
QEMU=(qemu-system-x86_64 -accel tcg,thread=multi -cpu "$QEMU_CPU" -m 1024 -smp 2
	-nodefaults -serial stdio -nographic -no-reboot
	-kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND")
[ "$MODE" != mpi ] || QEMU+=("${MPI_QEMU[@]}")
if [ "$KEEP" = 1 ]; then
	printf -v qcmd '%q ' "${QEMU[@]}"
	say "qemu command: $qcmd"
fi

: >"$GUEST_LOG"
ln -sfn "$(basename "$GUEST_LOG")" "$LOGDIR/guest-latest.log"
say "booting $KERNEL ($ABI) in qemu (TCG, timeout ${VM_TIMEOUT}s), console log $GUEST_LOG"

# mawk only streams with -W interactive.
AWK=(awk)
if awk -W version 2>&1 | grep -qi mawk; then
	AWK=(awk -W interactive)
fi
# Any of these in the console fails the run: oopses and warnings, and every
# report of the debug kernel's checkers (KASAN, KFENCE, lockdep,
# sleep-in-atomic, DEBUG_OBJECTS, soft lockups, hung tasks).
BAD_RE='WARNING:|BUG:|Oops|KASAN|KFENCE|general protection|Call Trace|refcount_t|list_(add|del) corruption|possible circular locking|inconsistent lock state|possible recursive locking|sleeping function called from invalid context|ODEBUG|soft lockup|blocked for more than|rcu.*stall|Kernel panic|UBSAN'

# Everything goes to the log; only lines that matter reach stdout.
STREAM_AWK='
{
	sub(/\r+$/, "")
	print > logf; fflush(logf)
	line = $0
	if (line ~ /DRVOPS-DMESG-BEGIN/) { in_dmesg = 1; next }
	if (line ~ /DRVOPS-DMESG-END/) { in_dmesg = 0; next }
	# The CSV of the benchmark is extracted from the log afterwards.
	if (line ~ /DRVOPS-CSV-BEGIN/) { in_csv = 1; next }
	if (line ~ /DRVOPS-CSV-END/) { in_csv = 0; next }
	if (in_csv) next
	if (line ~ /DRVOPS-(DEMO|RDMA|BENCH|STUCK)-BEGIN/) { in_sec = 1 }
	if (in_sec || line ~ /DRVOPS-/) {
		print line
		if (line ~ /DRVOPS-(DEMO|RDMA|BENCH|STUCK)-END/) in_sec = 0
		fflush(); next
	}
	if (in_dmesg) next
	if (line ~ /Run Summary:/) in_sum = 1
	if (in_sum) {
		print "    " line
		if (line ~ /Elapsed time/) in_sum = 0
		fflush(); next
	}
	if (line ~ /\.\.\.FAILED|had failures:|^ +[0-9]+\. .*:[0-9]+ +- |^FAIL[: ]|^[0-9]+ passed, [0-9]+ failed/) {
		print "    " line; fflush(); next
	}
	if (line ~ bad) { ctx = 40 }
	if (ctx > 0 && line ~ /^\[ *[0-9]+\.[0-9]+\]/) {
		print "    " line; ctx--; fflush()
		if (line ~ /---\[ end/) ctx = 0
	}
}'

# A kernel that dies before the guest's init starts (so before any module
# of ours is loaded) is booted once more: under multi-threaded TCG a vCPU
# can still run a stale translation of code another vCPU is patching
# (text_poke's int3 left in place: "Oops: int3" in sched_clock_cpu while
# 6.12 marked sched_clock stable, seen once in CI). The first console log
# is kept beside the second as *.first-boot.log.
T_BOOT=$SECONDS
for attempt in 1 2; do
	set +e +o pipefail
	timeout -k 10 "$VM_TIMEOUT" "${QEMU[@]}" </dev/null 2>&1 |
		"${AWK[@]}" -v logf="$GUEST_LOG" -v bad="$BAD_RE" "$STREAM_AWK"
	st=("${PIPESTATUS[@]}")
	set -e -o pipefail
	QEMU_RC="${st[0]}"
	if [ "$attempt" = 2 ] || grep -q '^DRVOPS-GUEST-BEGIN' "$GUEST_LOG" ||
		! grep -qE 'Kernel panic|Oops' "$GUEST_LOG"; then
		break
	fi
	mv "$GUEST_LOG" "${GUEST_LOG%.log}.first-boot.log"
	say "the kernel died before the guest's init (${GUEST_LOG%.log}.first-boot.log): booting once more"
done
BOOT_SECS=$((SECONDS - T_BOOT))

# ------------------------------------------------------------ g. verdict
FAIL_REASONS=()
fail() { FAIL_REASONS+=("$*"); }

if [ "$QEMU_RC" = 124 ] || [ "$QEMU_RC" = 137 ]; then
	fail "qemu timed out after ${VM_TIMEOUT}s (DRVOPS_VM_TIMEOUT)"
elif [ "$QEMU_RC" != 0 ]; then
	fail "qemu exited with rc=$QEMU_RC"
fi
if ! grep -q '^DRVOPS-GUEST-DONE' "$GUEST_LOG"; then
	fail "guest did not finish (no DRVOPS-GUEST-DONE)"
	echo "[drvops] last lines of the console:"
	tail -n 40 "$GUEST_LOG" | sed 's/^/    /'
fi

# suite_result NAME: prints "RC SUMMARY FAILED_SUITES FAILED_TESTS FAILED_ASSERTS RAN"
# (RC "none" without a DRVOPS-SUITE-END line; SUMMARY yes/no: a CUnit
# "Run Summary" was seen; failures are the Failed column of its rows).
suite_result() {
	awk -v name="$1" '
	$0 == "DRVOPS-SUITE-BEGIN " name { in_s = 1; next }
	in_s && index($0, "DRVOPS-SUITE-END " name " rc=") {
		rc = $0; sub(/.*rc=/, "", rc); in_s = 0; done = 1; next
	}
	in_s && $1 ~ /^(suites|tests|asserts)$/ && NF >= 5 && $2 ~ /^[0-9]+$/ {
		summary = "yes"
		if ($5 ~ /^[0-9]+$/) failed[$1] += $5
		if ($1 == "tests" && $3 ~ /^[0-9]+$/) ran += $3
	}
	# plain scripts (tests/mpi/*.sh): "N passed, N failed"
	in_s && /^[0-9]+ passed, [0-9]+ failed/ {
		summary = "yes"; failed["tests"] += $3; ran += $1 + $3
	}
	END {
		printf "%s %s %d %d %d %d\n", (done ? rc : "none"),
			(summary ? summary : "no"), failed["suites"],
			failed["tests"], failed["asserts"], ran
	}' "$GUEST_LOG"
}

PASSED=0
FAILED=0
SUITE_LINES=()
if [ "$MODE" = check ] || [ "$MODE" = selinux ] || [ "$MODE" = mpi ]; then
	for t in "${TESTS[@]}"; do
		read -r rc summary fs ft fa ran < <(suite_result "$t")
		why=()
		if [ "$rc" = none ]; then
			why+=("no result (crashed, hung or never ran)")
		elif [ "$rc" != 0 ]; then
			case "$rc" in
			124|143|137) why+=("rc=$rc (killed by the ${TEST_TIMEOUT}s timeout?)") ;;
			*) why+=("rc=$rc") ;;
			esac
		fi
		[ "$fs" = 0 ] || why+=("$fs CUnit suite(s) failed (init/cleanup)")
		[ "$ft" = 0 ] || why+=("$ft CUnit test(s) failed")
		[ "$fa" = 0 ] || why+=("$fa CUnit assert(s) failed")
		# A suite proves something only if it says what it ran.
		if [ "$rc" = 0 ] && [ "$summary" != yes ]; then
			why+=("no CUnit Run Summary (or N passed, N failed) printed")
		elif [ "$rc" = 0 ] && [ "$ran" = 0 ]; then
			why+=("ran 0 tests")
		fi
		if [ "${#why[@]}" = 0 ]; then
			PASSED=$((PASSED + 1))
			SUITE_LINES+=("PASS  $t ($ran tests)")
		else
			FAILED=$((FAILED + 1))
			msg="$(printf '%s; ' "${why[@]}")"
			SUITE_LINES+=("FAIL  $t: ${msg%; }")
		fi
	done
	[ "$FAILED" = 0 ] || fail "$FAILED test binar$([ "$FAILED" = 1 ] && echo y || echo ies) failed"
fi

DEMO_RC="$(sed -n 's/^.*DRVOPS-DEMO-END rc=\([0-9]*\).*$/\1/p' "$GUEST_LOG" | tail -n 1)"
BENCH_RC="$(sed -n 's/^.*DRVOPS-BENCH-END rc=\([0-9]*\).*$/\1/p' "$GUEST_LOG" | tail -n 1)"
if [ "$MODE" = bench ]; then
	if [ -z "$BENCH_RC" ]; then
		fail "drvops-bench did not finish (no DRVOPS-BENCH-END)"
	elif [ "$BENCH_RC" != 0 ]; then
		fail "drvops-bench rc=$BENCH_RC (rows that could not be measured say why)"
	fi
elif [ "$MODE" = mpi ]; then
	: # no demo in the MPI guest
elif [ "$MODE" = selinux ]; then
	grep -q '^DRVOPS-SELINUX enforcing=1' "$GUEST_LOG" ||
		fail "the guest did not load the policy and enforce"
elif [ -z "$DEMO_RC" ]; then
	fail "demo did not finish (no DRVOPS-DEMO-END)"
elif [ "$DEMO_RC" != 0 ]; then
	fail "demo rc=$DEMO_RC"
fi

mapfile -t ERRORS < <(grep -a 'DRVOPS-ERROR' "$GUEST_LOG" || true)
[ "${#ERRORS[@]}" = 0 ] || fail "${#ERRORS[@]} DRVOPS-ERROR line(s)"

RMMOD_CHECK="drvops_miscbench drvops_hfi drvops_generic drvops_swverbs ib_drvops"
[ "$MODE" != mpi ] || RMMOD_CHECK="drvops_hfi drvops_swverbs ib_drvops"
for m in $RMMOD_CHECK; do
	r="$(sed -n "s/^.*DRVOPS-RMMOD $m rc=\([0-9]*\).*\$/\1/p" "$GUEST_LOG" | tail -n 1)"
	if [ -z "$r" ]; then
		if [ "$ALLOW_MISSING" = 1 ] && grep -q "DRVOPS-SKIP rmmod $m" "$GUEST_LOG"; then
			continue
		fi
		grep -q '^DRVOPS-GUEST-DONE' "$GUEST_LOG" && fail "no DRVOPS-RMMOD line for $m"
	elif [ "$r" != 0 ]; then
		if grep -q "DRVOPS-NOTE rmmod $m: not loaded" "$GUEST_LOG"; then
			fail "rmmod $m: module was not loaded at the end"
		else
			fail "rmmod $m rc=$r (still in use after everything closed?)"
		fi
	fi
done

# Kernel problems, each with what the guest was doing at the time (the dmesg
# dumps repeat console lines: skipped when the console already had them).
mapfile -t KHITS < <(awk -v bad="$BAD_RE" '
	/DRVOPS-DMESG-BEGIN/ { in_d = 1; next }
	/DRVOPS-DMESG-END/ { in_d = 0; if (!dumped++) ctx = "final rmmod"; next }
	/DRVOPS-SUITE-BEGIN / { ctx = $2 }
	/DRVOPS-SUITE-END / { ctx = "after " $2 }
	/DRVOPS-DEMO-BEGIN/ { ctx = "demo" }
	/DRVOPS-DEMO-END/ { ctx = "after demo" }
	/DRVOPS-BENCH-BEGIN/ { ctx = "bench" }
	/DRVOPS-BENCH-END/ { ctx = "after bench" }
	/DRVOPS-GUEST-BEGIN/ { ctx = "module load" }
	$0 ~ bad {
		key = $0
		if (in_d && (key in shown)) next
		shown[key] = 1
		where = in_d ? "dmesg dump" : (ctx ? ctx : "boot")
		printf "%d: [%s] %s\n", NR, where, $0
	}' "$GUEST_LOG")
[ "${#KHITS[@]}" = 0 ] || fail "kernel problem in the log: ${#KHITS[@]} line(s) match $BAD_RE"

# ----------------------------------------------------------- summary
echo "[drvops] ---------------------------------------------------------------"
if [ "$MODE" = check ] || [ "$MODE" = selinux ] || [ "$MODE" = mpi ]; then
	for l in "${SUITE_LINES[@]}"; do
		echo "[drvops] $l"
	done
fi
if [ "$MODE" = bench ]; then
	echo "[drvops] drvops-bench: rc=${BENCH_RC:-did not finish}"
elif [ "$MODE" = selinux ]; then
	echo "[drvops] SELinux boot (security=selinux, test policy enforcing)"
elif [ "$MODE" = mpi ]; then
	echo "[drvops] MPI guest (Debian bookworm userland, Open MPI, our libpsm2)"
elif [ -n "$DEMO_RC" ]; then
	echo "[drvops] demo: rc=$DEMO_RC"
else
	echo "[drvops] demo: did not finish"
fi
for e in "${ERRORS[@]}"; do
	echo "[drvops] $e"
done
if [ "${#KHITS[@]}" -gt 0 ]; then
	echo "[drvops] kernel log problems (first 10; line numbers in $GUEST_LOG):"
	printf '%s\n' "${KHITS[@]}" | head -n 10 | sed 's/^/    /'
fi
[ "$ALLOW_MISSING" != 1 ] ||
	echo "[drvops] DRVOPS_ALLOW_MISSING_MODULES=1: missing modules tolerated, NOT a valid CI result"
[ -z "${DRVOPS_TESTS:-}" ] ||
	echo "[drvops] DRVOPS_TESTS set: only $DRVOPS_TESTS ran, NOT a full run"
echo "[drvops] guest log $GUEST_LOG (boot+run ${BOOT_SECS}s, total $((SECONDS - T_START))s)"

# plot_csv CSV NAME: its PNGs (bench-plot.sh), each also linked as
# NAME-latest-<plot>.png; a plot that cannot be drawn fails the run.
plot_csv() {
	local png rc=0 bench_pngs
	bench_pngs="$(bash tests/vm/bench-plot.sh "$1" "${1%.csv}")" || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "bench-plot.sh could not draw $1"
	for png in $bench_pngs; do
		ln -sfn "$(basename "$png")" "$LOGDIR/$2-latest-${png##*-$TS-}"
		echo "[drvops] plot $LOGDIR/$2-latest-${png##*-$TS-} -> $(basename "$png")"
	done
}

# extract_csv FILE: the CSV the guest printed between its markers (the last
# block; console lines of the kernel that landed inside are dropped: CSV rows
# have no blanks).
extract_csv() {
	awk '/DRVOPS-CSV-BEGIN/ { csv = ""; in_c = 1; next }
	     /DRVOPS-CSV-END/ { in_c = 0; done = csv; next }
	     in_c && /^[A-Za-z0-9_.-]+,[^ ]*$/ { csv = csv $0 "\n" }
	     END { printf "%s", done }' "$GUEST_LOG" >"$1"
}

# The MPI benchmark (tests/mpi/bench/run.sh, `make bench-mpi`) prints a CSV.
if [ "$MODE" = mpi ] && grep -q 'DRVOPS-CSV-BEGIN' "$GUEST_LOG"; then
	BENCH_CSV="$LOGDIR/bench-mpi-$TS.csv"
	extract_csv "$BENCH_CSV"
	if [ -s "$BENCH_CSV" ]; then
		ln -sfn "$(basename "$BENCH_CSV")" "$LOGDIR/bench-mpi-latest.csv"
		echo "[drvops] CSV $LOGDIR/bench-mpi-latest.csv -> $(basename "$BENCH_CSV")"
		plot_csv "$BENCH_CSV" bench-mpi
	else
		rm -f "$BENCH_CSV"
		fail "no CSV rows between DRVOPS-CSV-BEGIN/END in the guest log"
	fi
fi

if [ "$MODE" = bench ]; then
	BENCH_CSV="$LOGDIR/bench-$TS.csv"
	extract_csv "$BENCH_CSV"
	if [ -s "$BENCH_CSV" ]; then
		ln -sfn "$(basename "$BENCH_CSV")" "$LOGDIR/bench-latest.csv"
		echo "[drvops] CSV $LOGDIR/bench-latest.csv -> $(basename "$BENCH_CSV")"
		plot_csv "$BENCH_CSV" bench
	else
		rm -f "$BENCH_CSV"
		fail "no CSV between DRVOPS-CSV-BEGIN/END in the guest log"
	fi
	if [ "${#FAIL_REASONS[@]}" -gt 0 ]; then
		printf '[drvops] BENCH FAILED: %s\n' "${FAIL_REASONS[@]}"
		exit 1
	fi
	echo "[drvops] BENCH DONE (qemu TCG: compare ratios, not absolute numbers)"
	exit 0
fi

if [ "$MODE" = demo ]; then
	if [ -n "$DEMO_RC" ] && [ "$DEMO_RC" != 0 ]; then
		echo "[drvops] DEMO FAILED: rc=$DEMO_RC"
		exit "$DEMO_RC"
	fi
	if [ "${#FAIL_REASONS[@]}" -gt 0 ]; then
		printf '[drvops] DEMO FAILED: %s\n' "${FAIL_REASONS[@]}"
		exit 1
	fi
	echo "[drvops] DEMO PASSED"
	exit 0
fi

if [ -n "$POLICY_PID" ]; then
	if wait "$POLICY_PID"; then
		echo "[drvops] policy: $(tail -n 1 "$POLICY_LOG" | sed 's/^\[policy\] //')"
	else
		grep -a 'FAIL\|ERROR' "$POLICY_LOG" | head -n 20 | sed 's/^/    /'
		fail "policy/check.sh failed, see $POLICY_LOG"
	fi
fi

echo "$PASSED passed, $FAILED failed"
# make check adds up the suites of all its boots (see the Makefile).
[ -z "${DRVOPS_SUMMARY_FILE:-}" ] || echo "$PASSED $FAILED" >>"$DRVOPS_SUMMARY_FILE"
RC=0
if [ "${#FAIL_REASONS[@]}" -gt 0 ]; then
	printf '[drvops] FAILED: %s\n' "${FAIL_REASONS[@]}"
	RC=1
else
	echo "[drvops] PASSED"
fi

# The full check goes on with the enforcing-SELinux boot (its own verdict),
# unless DRVOPS_TESTS leaves it nothing to run.
if [ "$MODE" = check ] && [ "$SELINUX" != 0 ] && [ "$KERNEL" = 6.1 ] &&
   { [ -z "${DRVOPS_TESTS:-}" ] || [[ " $DRVOPS_TESTS " == *" test_selinux "* ]]; }; then
	say "=== second boot: SELinux enforcing (tests/vm/run.sh --selinux) ==="
	T_SEL=$SECONDS
	DRVOPS_SKIP_BUILD=1 bash "$0" --selinux || RC=1
	say "SELinux boot took $((SECONDS - T_SEL))s"
	if [ "$RC" = 0 ]; then
		echo "[drvops] PASSED (normal boot, policy check and SELinux boot)"
	else
		echo "[drvops] FAILED (see above: normal boot, policy check or SELinux boot)"
	fi
fi
exit "$RC"
