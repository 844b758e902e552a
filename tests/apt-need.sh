#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# apt-need.sh PKG...: install (apt-get, no recommends) those of the Debian
# packages that are not installed yet; nothing when all are. For the host
# checks that need tools beyond the test bed's (tests/install, packages).
set -euo pipefail
need=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null ||
		need+=("$p")
done
[ "${#need[@]}" -gt 0 ] || exit 0
echo "apt-need: installing ${need[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"${need[@]}" >/dev/null
