#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages as a user gets them (make check: the host built them,
# tests/packages/check.sh; the guest installed them with dpkg before the
# tests, tests/vm/mpi-init.sh): libdrvops1, drvops-tools and libpsm2-drvops
# are installed, the tests' libpsm2.so.2 is the package's (in its private
# directory, Debian's libpsm2-2 still the system's), and the installed
# drvops-info, on libdrvops.so.1, lists the HFI units with sdma.opa.
# Without packages in this run (a bare make check-mpi) says so and checks
# nothing else.
set -uo pipefail

cd "$(dirname "$0")" && . ./lib.bash

T="timeout 60"

if [ ! -d /drvops/debs ]; then
	check "packages are not part of this run (make check installs them)" true
	finish
	exit
fi

installed() {
	local p st
	for p in libdrvops1 drvops-tools libpsm2-drvops; do
		st="$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>&1)"
		echo "$p: $st"
		[[ "$st" == "install ok installed "* ]] || return 1
	done
}

psm2_is_the_package() {
	echo "PSM2_DIR=$PSM2_DIR"
	dpkg -S "$PSM2_DIR/libpsm2.so.2" || return
	# Debian's own libpsm2-2 (Open MPI's dependency) is still the system's.
	ldconfig -p | grep "libpsm2\.so\.2 " >"/tmp/ldconfig.$$" || true
	cat "/tmp/ldconfig.$$"
	grep -q . "/tmp/ldconfig.$$" && ! grep -q drvops-psm2 "/tmp/ldconfig.$$"
}

tools_work() {
	local out
	ldd /usr/bin/drvops-info | grep libdrvops || return
	ldd /usr/bin/drvops-info | grep -qE 'libdrvops\.so\.1 => /(usr/)?lib/' || return
	out="$($T drvops-info)" || return
	echo "$out"
	for u in hfi0 hfi1 hfi2; do
		grep -q "$u" <<<"$out" || { echo "$u not listed"; return 1; }
	done
	grep -q 'sdma.opa' <<<"$out"
}

check "libdrvops1, drvops-tools, libpsm2-drvops installed by dpkg" installed
check "the tests' libpsm2.so.2 is the package's, Debian's stays the system's" psm2_is_the_package
check "the installed drvops-info (libdrvops.so.1) lists hfi0..2 with sdma.opa" tools_work
finish
