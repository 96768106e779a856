#!/usr/bin/env bash
# The main job: build the provider and the simulator, start pvesim seeded from
# the example estate's phoenix config, then `terraform apply` examples/estate
# with a dev_overrides CLI config (no registry, no network), re-plan (nothing
# to change) and destroy. Secrets stay in the simulator's env file.
#   TF_LOG_PROVIDER=INFO make demo   also streams every feature script's output
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
work="$root/.cache/demo"

step "prerequisites"
bash scripts/install-deps.sh
bash scripts/ensure-modules.sh
tf=$(bash scripts/ensure-terraform.sh)
echo "Terraform: $("$tf" version 2>/dev/null | head -1) (${tf#"$root"/})"

step "building terraform-provider-phoenix and pvesim (static) into bin/"
with_progress "go build (about a minute on first run)" "$root/.cache/logs/demo-build.log" make --no-print-directory build

step "starting pvesim, seeded from examples/estate/phoenix/etc"
rm -rf "$work" && mkdir -p "$work"
./bin/pvesim serve --listen 127.0.0.1:0 --ssh-listen 127.0.0.1:0 --real-guests=true --state-dir "$work/sim" \
  --agent-boot-delay 0 --phoenix-config-dir examples/estate/phoenix/etc --env-file "$work/sim.env" \
  >"$work/sim.json" 2>"$work/sim.log" &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT
# pvesim writes the env file once it listens; give up after 30 s.
for _ in $(seq 300); do
  [ -s "$work/sim.env" ] && break
  kill -0 $sim 2>/dev/null || { cat "$work/sim.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/sim.env" ] || { echo "pvesim did not start; its log:" >&2; cat "$work/sim.log" >&2; exit 1; }
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$work/sim.json"; }
echo "API:        $(field endpoint)"
echo "node shell: $(field ssh_address) (SSH, user root, host key pinned)"
echo "credentials and settings: ${work#"$root"/}/sim.env (PROXMOX_VE_* exports, valid while the demo runs)"
echo "simulator log: ${work#"$root"/}/sim.log"
# shellcheck disable=SC1091
. "$work/sim.env"
# Bind mounts and feature flags other than nesting need root@pam with a
# ticket, as on PVE: authenticate with the password, not the API token.
unset PROXMOX_VE_API_TOKEN

cat >"$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/phoenix-hypervisor/phoenix" = "$root/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
cd examples/estate
"$tf" get -no-color >/dev/null # modules only: the provider comes from dev_overrides
step "terraform apply examples/estate: creates, configures and provisions every guest (a few minutes)"
[ -n "${TF_LOG_PROVIDER:-}" ] || echo "(TF_LOG_PROVIDER=INFO make demo also streams each feature script's output)"
"$tf" apply -auto-approve -input=false -no-color -state="$work/terraform.tfstate"
step "terraform plan again: nothing to change"
"$tf" plan -detailed-exitcode -input=false -no-color -state="$work/terraform.tfstate" >/dev/null
echo "No changes."
step "terraform destroy"
"$tf" destroy -auto-approve -input=false -no-color -state="$work/terraform.tfstate" | tail -1
