#!/usr/bin/env bash
# The main job: build the provider and the simulator, start pvesim seeded from
# the example estate's phoenix config, then `terraform apply` examples/estate
# with a dev_overrides CLI config (no registry, no network).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
tf=$(bash scripts/ensure-terraform.sh)
go build -o bin/terraform-provider-phoenix .
# static: the simulator also serves as pct/qm inside its node sandbox
CGO_ENABLED=0 go build -o bin/pvesim ./cmd/pvesim

work="$root/.cache/demo"
rm -rf "$work" && mkdir -p "$work"
./bin/pvesim serve --listen 127.0.0.1:0 --ssh-listen 127.0.0.1:0 --state-dir "$work/sim" --agent-boot-delay 0 \
  --phoenix-config-dir examples/estate/phoenix/etc --env-file "$work/sim.env" > "$work/sim.json" 2> "$work/sim.log" &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT
# pvesim writes the env file once it listens; give up after 30 s.
for _ in $(seq 300); do
  [ -s "$work/sim.env" ] && break
  kill -0 $sim 2>/dev/null || { cat "$work/sim.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/sim.env" ] || { echo "pvesim did not start" >&2; exit 1; }
echo "pvesim: $(cat "$work/sim.json")"
# shellcheck disable=SC1091
source "$work/sim.env"
# Bind mounts and feature flags other than nesting need root@pam with a
# ticket, as on PVE: authenticate with the password, not the API token.
unset PROXMOX_VE_API_TOKEN

cat > "$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/phoenix-hypervisor/phoenix" = "$root/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
cd examples/estate
"$tf" get -no-color >/dev/null  # modules only: the provider comes from dev_overrides
"$tf" apply -auto-approve -input=false -no-color -state="$work/terraform.tfstate"
echo "== re-apply: nothing to change"
"$tf" plan -detailed-exitcode -input=false -no-color -state="$work/terraform.tfstate" >/dev/null
echo "== destroy"
"$tf" destroy -auto-approve -input=false -no-color -state="$work/terraform.tfstate" | tail -1
