#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: the static
# bash and busybox the simulator builds guest root filesystems from.
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail
need=()
[ -x /bin/bash-static ] || need+=(bash-static)
[ -x /bin/busybox ] || need+=(busybox-static)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${need[*]} (apt-get)..." >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >&2
