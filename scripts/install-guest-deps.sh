#!/usr/bin/env bash
# Installs the Debian packages internal/sim/guestroot builds guest root filesystems
# from (statically linked bash and busybox). Idempotent: does nothing when both
# packages are already installed, so CI can call it on every run. apt's own
# output goes to .cache/logs/apt.log (printed when it fails).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

need=()
for pkg in bash-static busybox-static; do
	installed "$pkg" || need+=("$pkg")
done

if [ ${#need[@]} -eq 0 ]; then
	echo "Debian packages for simulated guests: bash-static and busybox-static are installed"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
log="$root/.cache/logs/apt.log"
mkdir -p "$(dirname "$log")"
echo "Debian packages for simulated guests: installing ${need[*]} with ${SUDO:+sudo }apt-get (log: ${log#"$root"/})"
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get -q update && $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
	echo "apt-get failed; last lines of $log:" >&2
	tail -n 20 "$log" >&2
	exit 1
fi
