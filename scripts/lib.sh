# Shared helpers for the scripts (source it; bash only).

# step prints a section heading.
step() { printf '== %s\n' "$*"; }

# with_progress LABEL LOG CMD...: runs CMD with its output in LOG, prints a
# line every 30 s while it runs and the time it took when it ends (all on
# stderr, so callers may capture stdout). On failure it prints LOG's tail
# and returns CMD's status.
with_progress() {
	local label=$1 log=$2 start=$SECONDS ticker rc=0
	shift 2
	mkdir -p "$(dirname "$log")"
	(
		# the trap ends the pending sleep too, so no stray process outlives us
		trap 'kill "$nap" 2>/dev/null; exit 0' TERM
		while :; do
			sleep 30 &
			nap=$!
			wait "$nap"
			printf '   ... still %s (%ds so far; log: %s)\n' "$label" $((SECONDS - start)) "$log" >&2
		done
	) &
	ticker=$!
	"$@" >"$log" 2>&1 || rc=$?
	kill "$ticker" 2>/dev/null
	wait "$ticker" 2>/dev/null || true
	if [ "$rc" -ne 0 ]; then
		printf '   %s failed after %ds; last lines of %s:\n' "$label" $((SECONDS - start)) "$log" >&2
		tail -n 30 "$log" >&2
		return "$rc"
	fi
	printf '   %s: done in %ds\n' "$label" $((SECONDS - start)) >&2
}
