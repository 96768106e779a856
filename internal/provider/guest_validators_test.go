//go:build linux

package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// validate runs phoenix_guest's config validation through the provider
// server, as Terraform does at plan time, on a valid spec with set applied.
func validate(t *testing.T, set map[string]any) []*tfprotov6.Diagnostic {
	t.Helper()
	ctx := context.Background()
	var sr resource.SchemaResponse
	NewGuestResource().Schema(ctx, resource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx)
	st := tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)}
	spec := path.Root("spec")
	base := map[string]any{"vmid": int64(700), "kind": "lxc", "os_template": pvesim.DefaultCTTemplate}
	for k, v := range base {
		if _, ok := set[k]; !ok {
			set[k] = v
		}
	}
	for k, v := range set {
		p := spec
		if root, ok := strings.CutPrefix(k, "/"); ok {
			// a resource attribute outside spec: "/script_timeout_seconds"
			p, k = path.Root(strings.Split(root, ".")[0]), strings.Join(strings.Split(root, ".")[1:], ".")
		}
		for _, part := range strings.Split(k, ".") {
			if part != "" {
				p = p.AtName(part)
			}
		}
		if d := st.SetAttribute(ctx, p, v); d.HasError() {
			t.Fatalf("setting %s: %v", k, d)
		}
	}
	dv, err := tfprotov6.NewDynamicValue(typ, st.Raw)
	if err != nil {
		t.Fatal(err)
	}
	srv := providerserver.NewProtocol6(New("test")())()
	if _, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "phoenix_guest", Config: &dv})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Diagnostics
}

func rule(typ, action, proto, port string) []firewallRuleModel {
	s := func(v string) types.String { return optString(v) }
	return []firewallRuleModel{{Type: s(typ), Action: s(action), Proto: s(proto), Port: s(port), Source: s(""), Dest: s(""), Comment: s("")}}
}

func mount(typ, storage string, size int64, hostPath, p string) []mountPointModel {
	m := mountPointModel{Type: optString(typ), Name: types.StringNull(), Storage: optString(storage), SizeGB: types.Int64Value(size),
		HostPath: optString(hostPath), Path: optString(p)}
	if size == 0 {
		m.SizeGB = types.Int64Null()
	}
	return []mountPointModel{m}
}

func hc(typ, cmd string) []healthCheckModel {
	return []healthCheckModel{{Name: optString("up"), Type: optString(typ), Path: types.StringNull(), Command: optString(cmd),
		Retries: types.Int64Null(), Interval: types.Int64Null()}}
}

var specValidatorCases = []struct {
	set  map[string]any
	want string
}{
	{map[string]any{"kind": "docker"}, `spec.kind: expected one of "lxc", "vm", got "docker"`},
	{map[string]any{"vmid": int64(42)}, `spec.vmid: expected an integer from 100 to 999999999`},
	{map[string]any{"name": "web_server"}, `spec.name: expected a DNS name`},
	{map[string]any{"cores": int64(0)}, `spec.cores: expected an integer from 1 to 8192`},
	{map[string]any{"memory_mb": int64(8)}, `spec.memory_mb: expected an integer at least 16`},
	{map[string]any{"swap_mb": int64(-1)}, `spec.swap_mb: expected an integer at least 0`},
	{map[string]any{"disk_size_gb": int64(0)}, `spec.disk_size_gb: expected an integer at least 1`},
	{map[string]any{"storage": "local lvm"}, `spec.storage: expected a PVE storage ID`},
	{map[string]any{"os_template": "debian.tar.zst"}, `spec.os_template: expected a PVE volume ID`},
	{map[string]any{"os_type": "windows"}, `spec.os_type: expected one of`},
	{map[string]any{"clone_from": int64(99)}, `spec.clone_from: expected an integer from 100`},
	{map[string]any{"clone_from": int64(900), "clone_snapshot": "current"}, `spec.clone_snapshot: snapshot name "current" is reserved by PVE`},
	{map[string]any{"template_snapshot_name": "1st"}, `spec.template_snapshot_name: snapshot name "1st" does not match`},
	{map[string]any{"template_snapshot_name": "vzdump"}, `spec.template_snapshot_name: snapshot name "vzdump" is reserved`},
	{map[string]any{"boot_order": int64(-1)}, `spec.boot_order: expected an integer at least 0`},
	{map[string]any{"boot_delay": int64(-5)}, `spec.boot_delay: expected an integer at least 0`},
	{map[string]any{"network.ip": "10.0.0.5"}, `spec.network.ip: expected "dhcp", "manual" (containers) or an IPv4 address in CIDR`},
	{map[string]any{"network.ip": "fd00::5/64"}, `spec.network.ip: expected "dhcp"`},
	{map[string]any{"kind": "vm", "template_image": "x.img", "storage": "local-lvm", "network.ip": "manual"}, `spec.network.ip: "manual" is for containers only`},
	{map[string]any{"kind": "vm", "clone_from": int64(8000), "pct_options": []string{"nesting=1"}}, `spec.pct_options: pct_options is a container setting`},
	{map[string]any{"kind": "vm", "name": "vm"}, `spec.template_image: a VM needs template_image (a cloud image) or clone_from`},
	{map[string]any{"kind": "vm", "template_image": "x.img"}, `spec.storage: a VM created from a cloud image needs storage`},
	{map[string]any{"network.gateway": "fe80::1"}, `spec.network.gateway: expected an IPv4 address`},
	{map[string]any{"network.mac": "01:00:5E:00:00:01"}, `spec.network.mac: expected a unicast MAC address`},
	{map[string]any{"network.name": "eth 0"}, `spec.network.name: expected a name of letters`},
	{map[string]any{"network.bridge": "vmbr0;reboot"}, `spec.network.bridge: expected a bridge name`},
	{map[string]any{"network.nameservers": []string{"dns.example"}}, `spec.network.nameservers[0]: expected an IP address`},
	{map[string]any{"network.search_domain": "corp_lan"}, `spec.network.search_domain: expected DNS names`},
	{map[string]any{"pct_options": []string{"nesting=yes"}}, `spec.pct_options[0]: expected a flag like nesting=1`},
	{map[string]any{"lxc_options": []string{"apparmor=unconfined"}}, `spec.lxc_options[0]: expected a raw LXC option`},
	{map[string]any{"gpus": []string{"all"}}, `spec.gpus[0]: expected a GPU index`},
	{map[string]any{"ports": []string{"80-81"}}, `spec.ports[0]: expected "host:guest" ports`},
	{map[string]any{"dependencies": []int64{5}}, `spec.dependencies[0]: expected an integer from 100`},
	{map[string]any{"firewall.rules": rule("forward", "ACCEPT", "", "")}, `spec.firewall.rules[0].type: expected one of "in", "out", "group"`},
	{map[string]any{"firewall.rules": rule("in", "ALLOW", "", "")}, `spec.firewall.rules[0].action: expected ACCEPT, DROP or REJECT for a "in" rule`},
	{map[string]any{"firewall.rules": rule("in", "ACCEPT", "tcpp", "")}, `spec.firewall.rules[0].proto: expected a protocol name`},
	{map[string]any{"firewall.rules": rule("in", "ACCEPT", "tcp", "90:80")}, `spec.firewall.rules[0].port: backwards range "90:80"`},
	{map[string]any{"firewall.rules": rule("in", "ACCEPT", "tcp", "70000")}, `spec.firewall.rules[0].port: expected a port number 0-65535`},
	{map[string]any{"mount_points": mount("nfs", "local-lvm", 2, "", "/data")}, `spec.mount_points[0].type: expected one of "volume", "zfs_volume", "bind"`},
	{map[string]any{"mount_points": mount("bind", "", 0, "srv/certs", "/certs")}, `spec.mount_points[0].host_path: expected an absolute path`},
	{map[string]any{"mount_points": mount("volume", "local-lvm", 2, "", "data")}, `spec.mount_points[0].path: expected an absolute path`},
	{map[string]any{"mount_points": mount("volume", "", 2, "", "/data")}, `spec.mount_points[0]: a volume needs storage and size_gb`},
	{map[string]any{"mount_points": mount("bind", "", 0, "", "/certs")}, `spec.mount_points[0].host_path: a bind mount needs host_path`},
	{map[string]any{"health_checks": hc("probe", "true")}, `spec.health_checks[0].type: expected one of "script", "command"`},
	{map[string]any{"health_checks": hc("command", "")}, `spec.health_checks[0].command: a command check needs command`},
	{map[string]any{"features": []featureModel{{Name: optString("../etc/passwd"), Content: optString("x"), Path: types.StringNull(), Host: types.BoolNull(), Trigger: types.StringNull()}}},
		`spec.features[0].name: expected a plain feature name`},
	{map[string]any{"features": []featureModel{{Name: optString("docker"), Content: types.StringNull(), Path: types.StringNull(), Host: types.BoolNull(), Trigger: types.StringNull()}}},
		`spec.features[0]: feature "docker" has neither path nor content`},
	{map[string]any{"cloud_init.username": "Ops Team"}, `spec.cloud_init.username: expected a user name without spaces`},
	{map[string]any{"cloud_init.ssh_authorized_keys": []string{"not a key"}}, `spec.cloud_init.ssh_authorized_keys[0]: expected an OpenSSH public key`},
	{map[string]any{"extra_json": "[1,2]"}, `spec.extra_json: expected a JSON object`},
	{map[string]any{"os_template": types.StringNull(), "template": types.StringNull()}, `spec.os_template: a container needs os_template (or template) or clone_from`},
	{map[string]any{"clone_snapshot": "golden"}, `spec.clone_snapshot: clone_snapshot names a snapshot of the clone source: set clone_from too`},
}

// Every spec attribute is checked with PVE's own rules at plan time; the
// error names the attribute path and what was expected.
func TestSpecValidators(t *testing.T) {
	if d := validate(t, map[string]any{"name": "web-1", "cores": int64(2), "network.ip": "dhcp"}); len(d) != 0 {
		t.Fatalf("a valid spec must pass: %v", d)
	}
	for _, c := range specValidatorCases {
		t.Run(c.want, func(t *testing.T) { wantAttributeError(t, validate(t, c.set), c.want, true) })
	}
}

// wantAttributeError fails unless diags hold an error on an attribute whose
// detail contains want (only: and no other diagnostic).
func wantAttributeError(t *testing.T, diags []*tfprotov6.Diagnostic, want string, only bool) {
	t.Helper()
	var got []string
	for _, d := range diags {
		got = append(got, d.Detail)
		if d.Severity == tfprotov6.DiagnosticSeverityError && strings.Contains(d.Detail, want) && d.Attribute != nil {
			if only && len(diags) != 1 {
				t.Errorf("want one error, got %d: %v", len(diags), diags)
			}
			return
		}
	}
	t.Fatalf("want an error with its attribute path containing\n  %s\ngot\n  %s", want, strings.Join(got, "\n  "))
}

// The same rules at plan time through Terraform: the error names the path.
func TestAccGuest_validatorsAtPlan(t *testing.T) {
	sim := startSim(t)
	tfresource.Test(t, tfresource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: sim.provider() + fmt.Sprintf(`
resource "phoenix_guest" "bad" {
  spec = {
    vmid        = 730
    kind        = "lxc"
    os_template = %q
    network     = { ip = "10.0.0.5", mac = "zz" }
    firewall    = { enabled = true, rules = [{ type = "in", action = "ACCEPT", port = "22,90:80" }] }
  }
}`, pvesim.DefaultCTTemplate),
			PlanOnly:    true,
			ExpectError: msgRe(`spec.firewall.rules[0].port: backwards range "90:80" in "22,90:80": did you mean 80:90?`),
		}},
	})
}
