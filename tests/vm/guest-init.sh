#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the drvops test guest (busybox initramfs built by tests/vm/run.sh).
#
# Guest layout:
#   /drvops/modules/   ib_core.ko ib_uverbs.ko (Debian's), ib_drvops.ko,
#                      drvops_generic.ko, drvops_miscbench.ko (benchmark
#                      baseline) and any other *.ko of the build
#   /drvops/bin/       build/bin/*   (drvops-demo, drvops-info,
#                      drvops-bench, ...)
#   /drvops/tests/     build/tests/test_*  (CUnit binaries)
#   /drvops/tests-selinux/  build/tests-selinux/test_* (selinux mode only)
#   /drvops/selinux/policy.33  the test policy (selinux mode only)
#   /usr/bin/rdma      iproute2's rdma tool (with its shared libraries)
#
# Kernel command line:
#   drvops.mode=check|demo|bench|selinux
#                              (default check; bench: only drvops-bench,
#                              no demo and no suites; selinux: load
#                              /drvops/selinux/policy.33 and enforce before
#                              any module, then only /drvops/tests-selinux,
#                              no demo; boot with security=selinux)
#   drvops.timeout=SECS        per-binary timeout (default 300)
#   drvops.only=WORD           development: only tests whose name contains
#                              WORD (DRVOPS_ONLY of tests/vm/run.sh)
#   drvops.allow_missing=1     test-bed development only: a missing module or
#                              demo binary is reported as DRVOPS-SKIP, not
#                              DRVOPS-ERROR
#
# Output markers (parsed by the host, tests/vm/run.sh):
#   DRVOPS-MODULE <name> loaded
#   DRVOPS-ERROR <text>                       any of these fails the run
#   DRVOPS-RDMA-BEGIN ... DRVOPS-RDMA-END     rdma dev / rdma link
#   DRVOPS-DEMO-BEGIN ... DRVOPS-DEMO-END rc=N
#   DRVOPS-SUITE-BEGIN <test> ... DRVOPS-SUITE-END <test> rc=N
#   DRVOPS-BENCH-BEGIN ... DRVOPS-BENCH-END rc=N   (bench mode; the
#                      output holds DRVOPS-CSV-BEGIN ... DRVOPS-CSV-END)
#   DRVOPS-DMESG-BEGIN ... DRVOPS-DMESG-END
#   DRVOPS-RMMOD <name> rc=N
#   DRVOPS-GUEST-DONE

export PATH=/drvops/bin:/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/tmp

/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s 2>/dev/null
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The console the kernel handed us may be missing if the cpio has no
# /dev/console node; devtmpfs has one.
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/shm /dev/pts
mount -t tmpfs tmpfs /dev/shm
# Readable by the unprivileged suites (they compare our leak counters).
mount -t debugfs -o mode=0755 debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
echo 0 >/proc/sys/kernel/printk_ratelimit
# Console: warnings and worse only, so test output is not interleaved with
# info messages; everything is in the dmesg dump at the end.
echo "5 4 1 7" >/proc/sys/kernel/printk
hostname drvops-guest

MODDIR=/drvops/modules
mode=check
tmo=300
allow_missing=0
for w in $(cat /proc/cmdline); do
	case "$w" in
	drvops.mode=*) mode="${w#*=}" ;;
	drvops.timeout=*) tmo="${w#*=}" ;;
	drvops.allow_missing=*) allow_missing="${w#*=}" ;;
	drvops.only=*) export DRVOPS_ONLY="${w#*=}" ;;
	drvops.fuzz_calls=*) export DRVOPS_FUZZ_CALLS="${w#*=}" ;;
	drvops.fuzz_seed=*) export DRVOPS_FUZZ_SEED="${w#*=}" ;;
	drvops.fuzz_secs=*) export DRVOPS_FUZZ_SECS="${w#*=}" ;;
	esac
done

echo "DRVOPS-GUEST-BEGIN mode=$mode kernel=$(uname -r) cpus=$(nproc)"

# The enforcing boot: the policy goes in before the RDMA modules, so that
# /dev/infiniband/* is labelled when it is created. One write() of the
# whole policy.
if [ "$mode" = selinux ]; then
	mkdir -p /sys/fs/selinux
	mount -t selinuxfs selinuxfs /sys/fs/selinux 2>/dev/null
	sz="$(wc -c </drvops/selinux/policy.33 2>/dev/null)"
	if [ -z "$sz" ] ||
	   ! dd if=/drvops/selinux/policy.33 of=/sys/fs/selinux/load \
		bs="$sz" count=1 2>/dev/null ||
	   ! echo 1 >/sys/fs/selinux/enforce ||
	   [ "$(cat /sys/fs/selinux/enforce)" != 1 ]; then
		echo "DRVOPS-ERROR selinux: cannot load the policy and enforce"
	else
		echo "DRVOPS-SELINUX enforcing=1 policy=${sz}B"
	fi
fi

problem() {
	if [ "$allow_missing" = 1 ]; then
		echo "DRVOPS-SKIP $*"
	else
		echo "DRVOPS-ERROR $*"
	fi
}

# Module parameters (params_of) and unload_modules, shared with mpi-init.sh.
. /drvops/guest-modules.sh

# load NAME [PARAMS...]: insmod /drvops/modules/NAME.ko unless loaded.
load() {
	name="$1"
	shift
	[ -d "/sys/module/$name" ] && return 0
	ko="$MODDIR/$name.ko"
	if [ ! -f "$ko" ]; then
		problem "module $name: $ko is missing"
		return 1
	fi
	if ! out="$(insmod "$ko" "$@" 2>&1)"; then
		echo "DRVOPS-ERROR module $name: insmod $ko $* failed: $out"
		return 1
	fi
	echo "DRVOPS-MODULE $name loaded${*:+ ($*)}"
}

# In load order; unloaded in reverse (ib_core/ib_uverbs stay).
MODULES="ib_core ib_uverbs ib_drvops drvops_swverbs drvops_generic drvops_hfi drvops_miscbench"
OURS_REVERSED="drvops_miscbench drvops_hfi drvops_generic drvops_swverbs ib_drvops"

load_all() {
	for m in $MODULES; do
		# shellcheck disable=SC2046
		load "$m" $(params_of "$m") || return 1
	done
}

load_all
initial_load_ok=$?

# Before each binary: put back modules a previous test left unloaded, so
# every suite starts from the same state.
ensure_loaded() {
	[ "$initial_load_ok" = 0 ] || return 0
	for m in $MODULES; do
		if [ ! -d "/sys/module/$m" ]; then
			echo "DRVOPS-NOTE $m not loaded (after $1), reloading"
		fi
	done
	load_all >/dev/null || echo "DRVOPS-ERROR reloading modules after $1 failed"
}

echo "DRVOPS-RDMA-BEGIN"
echo "# rdma dev"
rdma dev 2>&1
echo "# rdma link"
rdma link 2>&1
echo "# ls /dev/infiniband"
ls -l /dev/infiniband 2>&1
echo "DRVOPS-RDMA-END"

# run_timed NAME PROG [ARGS]: run with the per-binary timeout, output to
# the console.
run_timed() {
	shift
	(cd /tmp && DRVOPS_MODDIR="$MODDIR" run_watched "$tmo" "$@") </dev/null 2>&1
}

# Suites run as an ordinary user (uid:gid, no capabilities, the kernel's
# default RLIMIT_MEMLOCK of 8 MiB, as on Debian), except these, which need
# root: they reload modules (test_lifetime; test_hfi_procs: rmmod mid
# transfer), make cgroups (test_cgroup), namespaces and mounts
# (test_containers), switch between users (test_jobs), configure fault
# injection (test_failnth), reload modules as chaos (test_fuzz) or load
# the registration test module (test_registry).
#
# These pin up to 128 MiB at once (64 MiB MRs, tids and sends): they run
# as the user with a 256 MiB memlock limit, as a cluster's limits.conf
# gives MPI users; the limit itself is tested in test_hfi_abi (a child
# lowers it to 64 KiB) and test_races (at the default).
TEST_USER=1000:1000
ROOT_SUITES="test_lifetime test_hfi_procs test_cgroup test_containers"
ROOT_SUITES="$ROOT_SUITES test_jobs test_failnth test_fuzz test_registry"
BIG_MEMLOCK_SUITES="test_copy test_bind test_hfi_abi"
BIG_MEMLOCK_KIB=262144

run_demo() {
	echo "DRVOPS-DEMO-BEGIN"
	demo_rc=0
	if [ -x /drvops/bin/drvops-demo ]; then
		run_timed demo /drvops/bin/drvops-demo
		r=$?
		[ "$r" = 0 ] || echo "DRVOPS-NOTE drvops-demo rc=$r"
		demo_rc=$r
	else
		problem "/drvops/bin/drvops-demo is missing"
		[ "$allow_missing" = 1 ] || demo_rc=127
	fi
	if [ -x /drvops/bin/drvops-info ]; then
		run_timed info /drvops/bin/drvops-info
		r=$?
		[ "$r" = 0 ] || echo "DRVOPS-NOTE drvops-info rc=$r"
		[ "$demo_rc" != 0 ] || demo_rc=$r
	else
		echo "DRVOPS-NOTE /drvops/bin/drvops-info is missing"
	fi
	echo "DRVOPS-DEMO-END rc=$demo_rc"
}

run_bench() {
	echo "DRVOPS-BENCH-BEGIN"
	if [ -x /drvops/bin/drvops-bench ]; then
		args=""
		[ ! -f /drvops/bench-args ] || args="$(cat /drvops/bench-args)"
		if [ -f /drvops/bench-profile ]; then
			# Where the time goes, kernel and user, every CPU.
			echo 0 >/proc/sys/kernel/kptr_restrict
			echo -1 >/proc/sys/kernel/perf_event_paranoid
			# shellcheck disable=SC2086 # word list
			run_timed bench /usr/bin/perf record -q -a -g -e cpu-clock \
				-F 4000 -o /tmp/perf.data -- /drvops/bin/drvops-bench $args
			r=$?
			echo "DRVOPS-PROFILE-BEGIN"
			/usr/bin/perf report -i /tmp/perf.data --stdio --no-children \
				--sort comm,dso,sym --percent-limit 0.25 -g none 2>&1 |
				grep -v '^$' | head -n 200
			echo "DRVOPS-PROFILE-END"
		else
			# shellcheck disable=SC2086 # word list
			run_timed bench /drvops/bin/drvops-bench $args
			r=$?
		fi
	else
		echo "DRVOPS-ERROR /drvops/bin/drvops-bench is missing"
		r=127
	fi
	echo "DRVOPS-BENCH-END rc=$r"
}

if [ "$mode" = bench ]; then
	run_bench
elif [ "$mode" != selinux ]; then
	run_demo
	ensure_loaded demo
fi

if [ "$mode" = check ] || [ "$mode" = selinux ]; then
	check_run_watched
	suite_dir=/drvops/tests
	[ "$mode" != selinux ] || suite_dir=/drvops/tests-selinux
	for t in "$suite_dir"/test_*; do
		[ -x "$t" ] || continue
		name="${t##*/}"
		echo "DRVOPS-SUITE-BEGIN $name"
		# As a user runs them, unless they need root (see ROOT_SUITES).
		case " $ROOT_SUITES " in
		*" $name "*) as="" ;;
		*) as="$TEST_USER" ;;
		esac
		case " $BIG_MEMLOCK_SUITES " in
		*" $name "*) as="$as:$BIG_MEMLOCK_KIB" ;;
		esac
		[ "$mode" != selinux ] || as=""
		DRVOPS_RUN_AS="$as" run_timed "$name" "$t"
		rc=$?
		echo "DRVOPS-SUITE-END $name rc=$rc"
		ensure_loaded "$name"
	done
fi

# Nothing of ours may keep a module busy: stray children of timed-out tests.
kill -9 -1 2>/dev/null
sleep 1

echo "DRVOPS-DMESG-BEGIN"
dmesg -c
echo "DRVOPS-DMESG-END"

# shellcheck disable=SC2086 # word list
unload_modules $OURS_REVERSED

# Anything the unload printed.
if [ -n "$(dmesg)" ]; then
	echo "DRVOPS-DMESG-BEGIN after-rmmod"
	dmesg -c
	echo "DRVOPS-DMESG-END"
fi

echo "DRVOPS-GUEST-DONE"
poweroff -f
