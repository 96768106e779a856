#!/bin/bash
# Stand-in phoenix_hypervisor_common_utils.sh: the helpers every stand-in
# script sources. It runs in guests that have only bash and busybox, so no jq:
# the guest context (PHOENIX_GUEST_JSON) is written with two-space indents,
# one top-level key per line, and read with sed/awk.
#
# Markers: phoenix_mark NAME writes /var/lib/phoenix/markers/NAME holding
#   guest=<ID that ran it>  name=<guest name>  count=<runs so far>
# and appends "<ID> <NAME>" to /var/lib/phoenix/markers/order.log, so tests can
# assert order of execution, re-runs and what a clone inherited.

PHOENIX_MARKERS_DIR=${PHOENIX_MARKERS_DIR:-/var/lib/phoenix/markers}
PHOENIX_SERVICES_DIR=${PHOENIX_SERVICES_DIR:-/var/lib/phoenix/services}

log_info() { echo "[INFO] ${PHOENIX_FEATURE:-phoenix}: $*"; }
log_warn() { echo "[WARN] ${PHOENIX_FEATURE:-phoenix}: $*" >&2; }
log_error() { echo "[ERROR] ${PHOENIX_FEATURE:-phoenix}: $*" >&2; }
log_fatal() {
    log_error "$@"
    exit 1
}

# phoenix_ctx_get KEY [DEFAULT]: a top-level scalar of the guest context
# (strings unquoted); DEFAULT when the key is missing, null or not a scalar.
phoenix_ctx_get() {
    local key=$1 def=${2-} file=${PHOENIX_GUEST_JSON:-/etc/phoenix/guest.json} v
    if [ ! -r "$file" ]; then
        printf '%s' "$def"
        return 0
    fi
    v=$(sed -n "s/^  \"$key\": \(.*\)\$/\1/p" "$file" | head -n 1)
    v=${v%,}
    case $v in
    '' | null | '[' | '{' | '[]' | '{}') printf '%s' "$def" ;;
    \"*\")
        v=${v#\"}
        v=${v%\"}
        v=${v//\\\"/\"}
        v=${v//\\\//\/}
        printf '%s' "${v//\\\\/\\}"
        ;;
    *) printf '%s' "$v" ;;
    esac
}

# phoenix_ctx_list KEY: the elements of a top-level array of scalars, one a line.
phoenix_ctx_list() {
    local file=${PHOENIX_GUEST_JSON:-/etc/phoenix/guest.json}
    [ -r "$file" ] || return 0
    awk -v start="  \"$1\": [" '
        $0 == start { on = 1; next }
        on && /^  []]/ { exit }
        on { sub(/^ +/, ""); sub(/,$/, ""); sub(/^"/, ""); sub(/"$/, ""); print }
    ' "$file"
}

# phoenix_init "$@": the guest ID from the environment or $1 (phoenix passes
# the CTID as the first argument), the name from the environment or context.
phoenix_init() {
    PHOENIX_GUEST_JSON=${PHOENIX_GUEST_JSON:-/etc/phoenix/guest.json}
    PHOENIX_GUEST_ID=${PHOENIX_GUEST_ID:-${1:-}}
    [ -n "$PHOENIX_GUEST_ID" ] || log_fatal "no guest ID: pass it as \$1 or set PHOENIX_GUEST_ID"
    PHOENIX_GUEST_NAME=${PHOENIX_GUEST_NAME:-$(phoenix_ctx_get name "guest-$PHOENIX_GUEST_ID")}
    PHOENIX_FEATURE=${PHOENIX_FEATURE:-$(basename "$0" .sh)}
    export PHOENIX_GUEST_JSON PHOENIX_GUEST_ID PHOENIX_GUEST_NAME PHOENIX_FEATURE
}

# phoenix_mark NAME: record that NAME ran in this guest (see the header).
phoenix_mark() {
    local name=$1 f count=0
    mkdir -p "$PHOENIX_MARKERS_DIR"
    f=$PHOENIX_MARKERS_DIR/$name
    if [ -f "$f" ]; then
        count=$(sed -n 's/^count=//p' "$f")
    fi
    count=$((${count:-0} + 1))
    printf 'guest=%s\nname=%s\ncount=%s\n' "$PHOENIX_GUEST_ID" "$PHOENIX_GUEST_NAME" "$count" >"$f.tmp"
    mv "$f.tmp" "$f"
    printf '%s %s\n' "$PHOENIX_GUEST_ID" "$name" >>"$PHOENIX_MARKERS_DIR/order.log"
    log_info "marker $name: run $count in guest $PHOENIX_GUEST_ID"
}

# phoenix_has_marker NAME: whether NAME ran here (or in the clone source).
phoenix_has_marker() { [ -f "$PHOENIX_MARKERS_DIR/$1" ]; }

# phoenix_require_marker NAME WHY: fail unless NAME ran here or was inherited.
phoenix_require_marker() {
    phoenix_has_marker "$1" || log_fatal "$1 is not installed in guest $PHOENIX_GUEST_ID: $2"
}

# phoenix_write_file PATH MODE: stdin to PATH, replaced whole (idempotent).
phoenix_write_file() {
    mkdir -p "$(dirname "$1")"
    cat >"$1.tmp"
    chmod "$2" "$1.tmp"
    mv "$1.tmp" "$1"
}

# phoenix_register_service PORT DESCRIPTION: a stand-in service answering on
# PORT. Guests have no curl, so a curl stand-in is installed when curl is
# missing: it answers for registered localhost ports and fails like curl
# (exit 7, "Failed to connect") for the others, so health_check commands
# such as `curl -s --fail http://localhost:6333` work.
phoenix_register_service() {
    mkdir -p "$PHOENIX_SERVICES_DIR"
    printf '%s (guest %s)\n' "$2" "$PHOENIX_GUEST_ID" >"$PHOENIX_SERVICES_DIR/$1"
    if [ -f /usr/local/bin/curl ] || ! command -v curl >/dev/null 2>&1; then
        phoenix_write_file /usr/local/bin/curl 0755 <<'CURL'
#!/bin/bash
# Stand-in curl installed by phoenix_register_service (see common utils).
url=
for a in "$@"; do
    case $a in http://* | https://*) url=$a ;; esac
done
[ -n "$url" ] || { echo "curl: no URL specified" >&2; exit 2; }
hostport=${url#*://}
hostport=${hostport%%/*}
host=${hostport%%:*}
port=${hostport##*:}
if [ "$port" = "$hostport" ]; then
    case $url in https://*) port=443 ;; *) port=80 ;; esac
fi
case $host in localhost | 127.0.0.1 | ::1) ;; *) echo "curl: (6) Could not resolve host: $host" >&2; exit 6 ;; esac
f=/var/lib/phoenix/services/$port
if [ -f "$f" ]; then
    cat "$f"
    exit 0
fi
echo "curl: (7) Failed to connect to $host port $port: Connection refused" >&2
exit 7
CURL
    fi
    log_info "service on port $1: $2"
}
