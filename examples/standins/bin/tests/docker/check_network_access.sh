#!/bin/bash
# Stand-in health check: the guest has network interfaces (the simulator gives guests loopback only).
# Runs inside the guest with bash + busybox only; changes nothing.
set -euo pipefail

ifaces=$(sed -n "s/^ *\([^:]*\):.*/\1/p" /proc/net/dev | paste -sd" " -)
case " $ifaces " in
*" lo "*) echo "interfaces: $ifaces" ;;
*)
    echo "no loopback interface (have: ${ifaces:-none})" >&2
    exit 1
    ;;
esac
