#!/usr/bin/env bash
# Installs the Debian packages internal/sim/guestroot builds guest root filesystems
# from (statically linked bash and busybox). Idempotent: does nothing when both
# packages are already installed, so CI can call it on every run.
set -euo pipefail

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

need=()
for pkg in bash-static busybox-static; do
	installed "$pkg" || need+=("$pkg")
done

if [ ${#need[@]} -eq 0 ]; then
	echo "guest deps present: bash-static busybox-static"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${need[@]}"
