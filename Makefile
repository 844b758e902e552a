# SPDX-License-Identifier: GPL-2.0
#
# make            kernel modules (kbuild) + all userspace
# make modules    kernel modules only, against KDIR
# make userspace  library, tools and test binaries (static, for the guest)
# make check      everything: host tests, lint, then the busybox guest on
#                 every kernel of the matrix (Debian's 6.1, Debian's 6.12
#                 LTS, the debug kernel: KASAN, lockdep, ...), the
#                 enforcing-SELinux guest and the MPI guest (Debian
#                 userland + Open MPI, tests/mpi/*.sh) on 6.1
# make check-kernel KERNEL=6.12|debug|6.1
#                 the busybox guest on one kernel of the matrix
# make fuzz       the seeded fuzzer on the debug kernel, 5 million calls
#                 (FUZZ_CALLS, FUZZ_SEED): calls/s and errno histograms
# make check-mpi  only the MPI guest (DRVOPS_MPI_TESTS="smoke.sh" to select)
# make demo       the README demo in the qemu guest
# make bench      drvops-bench in the qemu guest: tables, CSV (and PNG) in
#                 ~/.cache/drvops/logs/bench-latest.*
# make install    libdrvops (shared, static, pkg-config), headers, tools,
#                 man pages (DESTDIR, PREFIX=/usr/local, LIBDIR, ...)
# make check-install  what `make install` gives a user, on the host
# make check-packages the Debian packages: build, lintian, DKMS (6.1, 6.12)
# make bench-mpi  the MPI benchmark in the MPI guest (tests/mpi/bench/run.sh):
#                 PSM2 over psm-shim, Open MPI over it, Open MPI's shared
#                 memory; CSV in ~/.cache/drvops/logs/bench-mpi-latest.csv
# make bench-mpi-profile  perf and strace of the 8 B polling ping-pongs
#                 (raw HFI, psm-shim) in the MPI guest (bench/profile.sh)
#
# KDIR defaults to the headers of the test-bed kernel (resolved by
# tests/vm/kernel-abi.sh). For a real host:
#   make KDIR=/lib/modules/$(uname -r)/build

KDIR ?= $(shell tests/vm/kernel-abi.sh --kdir 2>/dev/null)

.PHONY: all modules userspace check check-kernel check-mpi fuzz demo bench bench-profile bench-mpi bench-mpi-profile clean install-headers install check-install check-packages

all: modules userspace

modules:
	@test -n "$(KDIR)" || { echo "KDIR not set and no test-bed headers found: run tests/vm/run.sh --deps or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

userspace:
	$(MAKE) -C userspace

# Host packages first (the host-side psm-shim tests need CUnit and, for the
# ABI check, Debian's libpsm2-dev; the MPI programs libopenmpi-dev), then
# host tests, the MPI programs (build/mpi/), then the guests.
# Every boot appends "passed failed" suite counts; the last line adds them up.
SUMMARY := $(CURDIR)/build/check-summary

# Warnings are errors in the test bed and CI (not in a user's build).
check check-kernel check-mpi fuzz demo bench bench-profile bench-mpi bench-mpi-profile: export WERROR := 1

check:
	bash tests/vm/run.sh --deps
	DRVOPS_KERNEL=6.12 bash tests/vm/run.sh --deps
	$(MAKE) check-install
	DRVOPS_DEB_OUT=$(CURDIR)/build/debs $(MAKE) check-packages
	$(MAKE) -C userspace/psm-shim check
	$(MAKE) -C tests/mpi
	@mkdir -p $(dir $(SUMMARY)) && rm -f $(SUMMARY)
	DRVOPS_SUMMARY_FILE=$(SUMMARY) bash tests/vm/run.sh
	DRVOPS_SUMMARY_FILE=$(SUMMARY) DRVOPS_SKIP_BUILD=1 DRVOPS_USE_DEBS=1 bash tests/vm/run.sh --mpi
	DRVOPS_SUMMARY_FILE=$(SUMMARY) DRVOPS_KERNEL=6.12 bash tests/vm/run.sh
	DRVOPS_SUMMARY_FILE=$(SUMMARY) DRVOPS_KERNEL=debug bash tests/vm/run.sh
	@awk '{ p += $$1; f += $$2 } END { print "suites: " p " passed, " f " failed" }' $(SUMMARY)

KERNEL ?= debug
check-kernel:
	DRVOPS_SELINUX=0 DRVOPS_KERNEL=$(KERNEL) bash tests/vm/run.sh

# The fuzzer (tests/suites/test_fuzz.c) on the debug kernel: FUZZ_CALLS
# calls (make check runs a 300000-call slice, at most 200 s), FUZZ_SEED
# replays a run; the calls stop 10 minutes before FUZZ_TIMEOUT.
FUZZ_CALLS ?= 5000000
FUZZ_SEED ?= 1
FUZZ_TIMEOUT ?= 7200
fuzz:
	DRVOPS_SELINUX=0 DRVOPS_KERNEL=debug DRVOPS_TESTS=test_fuzz \
	DRVOPS_FUZZ_CALLS=$(FUZZ_CALLS) DRVOPS_FUZZ_SEED=$(FUZZ_SEED) \
	DRVOPS_FUZZ_SECS=$$(($(FUZZ_TIMEOUT) - 600)) \
	DRVOPS_TEST_TIMEOUT=$(FUZZ_TIMEOUT) DRVOPS_VM_TIMEOUT=$(FUZZ_TIMEOUT) \
	bash tests/vm/run.sh

# The MPI guest alone (builds first; the rootfs is cached in ~/.cache/drvops).
check-mpi:
	bash tests/vm/run.sh --deps
	$(MAKE) -C tests/mpi
	bash tests/vm/run.sh --mpi

demo:
	bash tests/vm/run.sh --demo

bench:
	bash tests/vm/run.sh --bench

# Builds userspace first: the PSM2 benchmark links build/psm-shim/libpsm2.so.2.
BENCH_MPI_TIMEOUT ?= 900
# drvops-bench under perf in the guest: where the time goes (kernel and
# user symbols), printed after the tables. BENCH_ARGS narrows the run.
BENCH_ARGS ?= -f null,hfi -m 65536
bench-profile:
	DRVOPS_BENCH_PROFILE=1 DRVOPS_BENCH_ARGS="$(BENCH_ARGS)" bash tests/vm/run.sh --bench

bench-mpi:
	bash tests/vm/run.sh --deps
	$(MAKE) userspace
	$(MAKE) -C tests/mpi all bench
	DRVOPS_MPI_TESTS=bench/run.sh DRVOPS_TEST_TIMEOUT=$(BENCH_MPI_TIMEOUT) bash tests/vm/run.sh --mpi

# Where an 8 B message's time goes in the MPI guest (perf and strace join
# its rootfs, a second cached image): tests/mpi/bench/profile.sh.
bench-mpi-profile:
	bash tests/vm/run.sh --deps
	$(MAKE) userspace
	$(MAKE) -C tests/mpi all bench
	DRVOPS_MPI_PKGS="linux-perf strace" DRVOPS_MPI_TESTS=bench/profile.sh \
	DRVOPS_TEST_TIMEOUT=$(BENCH_MPI_TIMEOUT) bash tests/vm/run.sh --mpi

install-headers:
	install -d $(DESTDIR)/usr/include/rdma
	install -m 644 uapi/rdma/*.h $(DESTDIR)/usr/include/rdma/

# libdrvops (shared and static, pkg-config), headers, tools, man pages:
# DESTDIR, PREFIX (/usr/local), LIBDIR, INCLUDEDIR, BINDIR, MANDIR.
install:
	$(MAKE) -C userspace install

# What `make install` gives a user, checked on the host (tests/install/).
check-install:
	bash tests/install/check.sh

# The Debian packages: dpkg-buildpackage, lintian, DKMS against 6.1 and
# 6.12 (tests/packages/check.sh; the test bed installs both kernels' headers).
check-packages:
	bash tests/vm/run.sh --deps
	DRVOPS_KERNEL=6.12 bash tests/vm/run.sh --deps
	bash tests/packages/check.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean
