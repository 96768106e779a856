#!/bin/bash
# Stand-in health check: local name resolution works.
# Runs inside the guest with bash + busybox only; changes nothing.
set -euo pipefail

if ! grep -qw localhost /etc/hosts; then
    echo "localhost does not resolve: /etc/hosts lacks it" >&2
    exit 1
fi
if [ -f /etc/resolv.conf ] && grep -q "^nameserver" /etc/resolv.conf; then
    grep "^nameserver" /etc/resolv.conf
else
    echo "no nameserver configured (fine for the simulator)"
fi
echo "DNS resolution OK"
