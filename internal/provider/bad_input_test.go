//go:build linux

package provider

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Bad input: every validated attribute of phoenix_guest refuses an invalid
// value at plan time, naming its attribute path and what was expected.
// specValidatorCases (guest_validators_test.go) and these together cover
// every attribute the field table gives a rule, which
// TestEveryValidatedAttributeHasACase checks.

func mountWith(name, storage string, size types.Int64) []mountPointModel {
	return []mountPointModel{{Type: optString("volume"), Name: optString(name), Storage: optString(storage), SizeGB: size,
		HostPath: types.StringNull(), Path: optString("/data")}}
}

func ruleWith(source, dest, comment string) []firewallRuleModel {
	return []firewallRuleModel{{Type: optString("in"), Action: optString("ACCEPT"), Source: optString(source), Dest: optString(dest),
		Proto: optString("tcp"), Port: optString("22"), Comment: optString(comment)}}
}

func featureWith(name string, path, content types.String) []featureModel {
	return []featureModel{{Name: optString(name), Path: path, Content: content, Host: types.BoolNull(), Trigger: types.StringNull()}}
}

func checkWith(name string, path types.String, retries, interval int64) []healthCheckModel {
	return []healthCheckModel{{Name: optString(name), Type: optString("script"), Path: path, Command: types.StringNull(),
		Retries: types.Int64Value(retries), Interval: types.Int64Value(interval)}}
}

var moreValidatorCases = []struct {
	set  map[string]any
	want string
}{
	{map[string]any{"template": "debian\nrm -rf /"}, `spec.template: expected a template path, volume ID or name on one line`},
	{map[string]any{"kind": "vm", "storage": "local-lvm", "os_template": types.StringNull(), "template_image": strings.Repeat("x", 256)},
		`spec.template_image: expected a template path, volume ID or name on one line (at most 255 characters)`},
	{map[string]any{"apparmor_profile": "lxc-container-default unconfined"}, `spec.apparmor_profile: expected a profile name without spaces`},
	{map[string]any{"mount_points": mountWith("da\nta", "local-lvm", types.Int64Value(2))}, `spec.mount_points[0].name: expected a single line`},
	{map[string]any{"mount_points": mountWith("data", "local;lvm", types.Int64Value(2))}, `spec.mount_points[0].storage: expected a PVE storage ID`},
	{map[string]any{"mount_points": mountWith("data", "local-lvm", types.Int64Value(0))}, `spec.mount_points[0].size_gb: expected an integer at least 1`},
	{map[string]any{"firewall.rules": ruleWith("10.0.0.999", "", "")}, `spec.firewall.rules[0].source: expected an IP address, CIDR, comma list of them, alias or +ipset`},
	{map[string]any{"firewall.rules": ruleWith("", "$(reboot)", "")}, `spec.firewall.rules[0].dest: expected an IP address, CIDR`},
	{map[string]any{"firewall.rules": ruleWith("", "", "ok\nIN ACCEPT -p tcp")}, `spec.firewall.rules[0].comment: expected a single line`},
	{map[string]any{"features": featureWith("docker", types.StringValue("  "), types.StringNull())}, `spec.features[0].path: expected a non-empty path`},
	{map[string]any{"features": featureWith("docker", types.StringNull(), types.StringValue(""))}, `spec.features[0].content: expected a non-empty value`},
	{map[string]any{"common_utils": "utils.sh\n"}, `spec.common_utils: expected a non-empty path`},
	{map[string]any{"application_script": ""}, `spec.application_script: expected a non-empty path`},
	{map[string]any{"health_checks": checkWith("up\nnow", optString("/check.sh"), 0, 0)}, `spec.health_checks[0].name: expected a single line`},
	{map[string]any{"health_checks": checkWith("up", types.StringValue(""), 0, 0)}, `spec.health_checks[0].path: expected a non-empty path`},
	{map[string]any{"health_checks": checkWith("up", optString("/check.sh"), -1, 0)}, `spec.health_checks[0].retries: expected an integer at least 0`},
	{map[string]any{"health_checks": checkWith("up", optString("/check.sh"), 0, -3)}, `spec.health_checks[0].interval: expected an integer at least 0`},
	{map[string]any{"cloud_init.packages": []string{"curl;reboot"}}, `spec.cloud_init.packages[0]: expected a package name`},
	{map[string]any{"cloud_init.password": ""}, `spec.cloud_init.password: expected a non-empty value`},
	{map[string]any{"network.bridge": "vmbr0 ; reboot"}, `spec.network.bridge: expected a bridge name`},
	{map[string]any{"dependencies": []int64{1000000000}}, `spec.dependencies[0]: expected an integer from 100 to 999999999`},
	{map[string]any{"network.ip": "0.0.0.0/0"}, `spec.network.ip: expected "dhcp", "manual" (containers) or an IPv4 address in CIDR`},
	{map[string]any{"mount_points": mount("volume", "local-lvm", 2, "", "/data ")}, `spec.mount_points[0].path: expected an absolute path without commas, line breaks, trailing blanks or . and .. components`},
	{map[string]any{"mount_points": mount("bind", "", 0, "/srv/../etc", "/certs")}, `spec.mount_points[0].host_path: expected an absolute path without commas`},
	{map[string]any{"/script_timeout_seconds": int64(0)}, `script_timeout_seconds: expected an integer at least 1`},
	{map[string]any{"/estate.config_dir": " "}, `estate.config_dir: expected a non-empty path`},
	{map[string]any{"/estate.config_dir": "/etc/phoenix", "/estate.features_dir": "bin\n"}, `estate.features_dir: expected a non-empty path`},
}

func TestMoreSpecValidators(t *testing.T) {
	for _, c := range moreValidatorCases {
		t.Run(c.want, func(t *testing.T) { wantAttributeError(t, validate(t, c.set), c.want, false) })
	}
}

// validatedPaths lists every attribute path the field table gives a rule
// ("spec.network.ip", "spec.mount_points[0].size_gb", "spec.gpus[0]").
func validatedPaths(prefix string, fields []field) []string {
	var out []string
	for _, f := range fields {
		p := prefix + "." + f.name
		switch {
		case len(f.str) > 0 || len(f.num) > 0:
			out = append(out, p)
		case len(f.elemStr) > 0 || len(f.elemNum) > 0:
			out = append(out, p+"[0]")
		}
		if f.kind == fObjectList {
			out = append(out, validatedPaths(p+"[0]", f.children)...)
		} else {
			out = append(out, validatedPaths(p, f.children)...)
		}
	}
	return out
}

func TestEveryValidatedAttributeHasACase(t *testing.T) {
	var wants []string
	for _, c := range specValidatorCases {
		wants = append(wants, c.want)
	}
	for _, c := range moreValidatorCases {
		wants = append(wants, c.want)
	}
	paths := append(validatedPaths("spec", guestFields), "script_timeout_seconds", "estate.config_dir", "estate.features_dir")
	var missing []string
	for _, p := range paths {
		re := regexp.MustCompile(`^` + regexp.QuoteMeta(p) + `:`)
		found := false
		for _, w := range wants {
			found = found || re.MatchString(w)
		}
		if !found {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("validated attributes without an invalid-value case: %v", missing)
	}
	t.Logf("%d validated attributes, %d invalid-value cases", len(paths), len(wants))
	if len(wants) < 60 {
		t.Fatalf("want at least 60 distinct bad inputs, have %d", len(wants))
	}
}
