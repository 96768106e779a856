package phoenix

import (
	"errors"
	"strings"
	"testing"
)

// ct is a valid container entry with extra members spliced in (later keys win
// for our reader, as it takes the first; so overrides replace by name).
func ct(fields string) string {
	base := map[string]string{
		"name": `"web"`, "cores": `2`, "memory_mb": `1024`, "storage_pool": `"local-lvm"`,
		"storage_size_gb": `8`, "template": `"local:vztmpl/debian.tar.zst"`,
	}
	order := []string{"name", "cores", "memory_mb", "storage_pool", "storage_size_gb", "template"}
	var parts []string
	for _, f := range splitTop(fields) {
		k, v, _ := strings.Cut(f, ":")
		k = strings.Trim(strings.TrimSpace(k), `"`)
		if _, ok := base[k]; !ok {
			order = append(order, k)
		}
		base[k] = strings.TrimSpace(v)
	}
	for _, k := range order {
		if v := base[k]; v != "-" {
			parts = append(parts, `"`+k+`":`+v)
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// splitTop splits "a:1, b:[1,2]" at top-level commas.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	inStr := false
	for i, c := range s {
		switch {
		case c == '"' && (i == 0 || s[i-1] != '\\'):
			inStr = !inStr
		case inStr:
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

func lxcFile(entries ...string) string {
	return `{"lxc_configs":{` + strings.Join(entries, ",") + `}}`
}

func TestInvalidConfigs(t *testing.T) {
	const hyp0 = `{}`
	cases := []struct {
		name     string
		hyp, lxc string
		vm       string
		want     string
	}{
		{"memory as string", hyp0, lxcFile(`"950":` + ct(`"memory_mb":"72G"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".memory_mb: expected an integer, got "72G"`},
		{"cores float", hyp0, lxcFile(`"950":` + ct(`"cores":1.5`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".cores: expected an integer, got 1.5`},
		{"name not string", hyp0, lxcFile(`"950":` + ct(`"name":12`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".name: expected a string, got 12`},
		{"unprivileged string", hyp0, lxcFile(`"950":` + ct(`"unprivileged":"yes"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".unprivileged: expected a boolean, got "yes"`},
		{"features not array", hyp0, lxcFile(`"950":` + ct(`"features":"docker"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".features: expected an array of strings, got "docker"`},
		{"feature element not string", hyp0, lxcFile(`"950":` + ct(`"features":["docker",3]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".features[1]: expected a string, got 3`},
		{"feature with slash", hyp0, lxcFile(`"950":` + ct(`"features":["../etc/passwd"]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".features[0]: expected a plain feature name (letters, digits, '.', '_', '-'), got "../etc/passwd"`},
		{"feature with shell chars", hyp0, lxcFile(`"950":` + ct(`"features":["x;rm -rf"]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".features[0]: expected a plain feature name (letters, digits, '.', '_', '-'), got "x;rm -rf"`},
		{"missing name", hyp0, lxcFile(`"950":` + ct(`"name":-`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".name: required field is missing`},
		{"missing storage size", hyp0, lxcFile(`"950":` + ct(`"storage_size_gb":-`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".storage_size_gb: required field is missing`},
		{"missing cores without defaults", hyp0, lxcFile(`"950":` + ct(`"cores":-`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".cores: required field is missing (and proxmox_defaults.lxc has no cores)`},
		{"no template nor clone", hyp0, lxcFile(`"950":` + ct(`"template":-`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".template: expected template or clone_from_ctid: a container needs an OS template or a clone source`},
		{"ID too small", hyp0, lxcFile(`"99":` + ct(``)), "",
			`phoenix_lxc_configs.json: lxc_configs."99": expected an ID from 100 to 999999999, got 99`},
		{"ID too large", hyp0, lxcFile(`"1000000000":` + ct(``)), "",
			`phoenix_lxc_configs.json: lxc_configs."1000000000": expected an ID from 100 to 999999999, got 1000000000`},
		{"non-numeric key", hyp0, lxcFile(`"web":` + ct(``)), "",
			`phoenix_lxc_configs.json: lxc_configs.web: expected a numeric CTID as key`},
		{"lxc_configs missing", hyp0, `{"nvidia_driver_version":"1"}`, "",
			`phoenix_lxc_configs.json: lxc_configs: required field is missing`},
		{"unknown clone source", hyp0, lxcFile(`"950":` + ct(`"template":-,"clone_from_ctid":"901"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".clone_from_ctid: clone source 901 is not defined`},
		{"clone source of the other kind", `{"vms":[{"vmid":8000,"name":"t","template_image":"x.img"}]}`,
			lxcFile(`"950":` + ct(`"template":-,"clone_from_ctid":8000`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".clone_from_ctid: clone source 8000 is a VM, not a LXC`},
		{"unknown dependency", hyp0, lxcFile(`"950":` + ct(`"dependencies":["953"]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".dependencies[0]: dependency 953 is not defined`},
		{"dependency not an ID", hyp0, lxcFile(`"950":` + ct(`"dependencies":["web"]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".dependencies[0]: expected a guest ID (an integer or a string of digits), got "web"`},
		{"dependency cycle", hyp0, lxcFile(`"950":`+ct(`"name":"a","dependencies":["951"]`), `"951":`+ct(`"name":"b","dependencies":["950"]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".dependencies: dependency cycle: 950 -> 951 -> 950`},
		{"clone cycle", hyp0, lxcFile(`"950":`+ct(`"name":"a","template":-,"clone_from_ctid":"951"`), `"951":`+ct(`"name":"b","template":-,"clone_from_ctid":"950"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".clone_from_ctid: dependency cycle: 950 -> 951 -> 950`},
		{"self clone", hyp0, lxcFile(`"950":` + ct(`"template":-,"clone_from_ctid":"950"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".clone_from_ctid: a guest cannot be cloned from itself`},
		{"duplicate names", hyp0, lxcFile(`"950":`+ct(`"name":"web"`), `"951":`+ct(`"name":"web"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."951".name: name "web" is already used by LXC 950 (lxc_configs."950")`},
		{"ID used by LXC and VM", `{"vms":[{"vmid":950,"name":"vm","template_image":"x.img"}]}`, lxcFile(`"950":` + ct(``)), "",
			`phoenix_hypervisor_config.json: vms[0].vmid: ID 950 is already used by LXC lxc_configs."950" (phoenix_lxc_configs.json)`},
		{"VMs in two places", `{"vms":[{"vmid":8000,"name":"a","template_image":"x.img"}]}`, lxcFile(), `{"vms":[{"vmid":8001,"name":"b","template_image":"x.img"}]}`,
			`phoenix_vm_configs.json: vms: VMs are defined both here and in phoenix_hypervisor_config.json (vms); keep them in one file`},
		{"same VM in two places", `{"vms":[{"vmid":8000,"name":"a","template_image":"x.img"}]}`, lxcFile(), `{"vms":[{"vmid":8000,"name":"a2","template_image":"x.img"}]}`,
			`phoenix_vm_configs.json: vms[0].vmid: ID 8000 is already used by VM vms[0] (phoenix_hypervisor_config.json)`},
		{"VM missing vmid", `{"vms":[{"name":"a","template_image":"x.img"}]}`, lxcFile(), "",
			`phoenix_hypervisor_config.json: vms[0].vmid: required field is missing`},
		{"VM id string", `{"vms":[{"vmid":"abc","name":"a","template_image":"x.img"}]}`, lxcFile(), "",
			`phoenix_hypervisor_config.json: vms[0].vmid: expected an integer VM ID, got "abc"`},
		{"VM without image or clone", `{"vms":[{"vmid":8000,"name":"a"}]}`, lxcFile(), "",
			`phoenix_hypervisor_config.json: vms[0].template_image: expected template_image or clone_from_vmid: a VM needs a disk image or a clone source`},
		{"bad snapshot name", hyp0, lxcFile(`"950":` + ct(`"template_snapshot_name":"1st"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".template_snapshot_name: snapshot name "1st" does not match ^[a-zA-Z][a-zA-Z0-9_-]+$`},
		{"snapshot name too long", hyp0, lxcFile(`"950":` + ct(`"template_snapshot_name":"a23456789012345678901234567890123456789012"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".template_snapshot_name: snapshot name "a23456789012345678901234567890123456789012" is longer than 40 characters`},
		{"reserved snapshot name", hyp0, lxcFile(`"950":` + ct(`"template_snapshot_name":"current"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".template_snapshot_name: snapshot name "current" is reserved by PVE`},
		{"bad CIDR", hyp0, lxcFile(`"950":` + ct(`"network_config":{"name":"eth0","bridge":"vmbr0","ip":"10.0.0.300/24","gw":"10.0.0.1"}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".network_config.ip: expected "dhcp" or an address in CIDR notation (e.g. 10.0.0.5/24), got "10.0.0.300/24"`},
		{"address without prefix", hyp0, lxcFile(`"950":` + ct(`"network_config":{"ip":"10.0.0.5","gw":"10.0.0.1"}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".network_config.ip: expected "dhcp" or an address in CIDR notation (e.g. 10.0.0.5/24), got "10.0.0.5"`},
		{"bad gateway", hyp0, lxcFile(`"950":` + ct(`"network_config":{"ip":"10.0.0.5/24","gw":"10.0.0"}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".network_config.gw: expected a gateway IP address, got "10.0.0"`},
		{"gateway of another family", hyp0, lxcFile(`"950":` + ct(`"network_config":{"ip":"10.0.0.5/24","gw":"fe80::1"}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".network_config.gw: gateway fe80::1 is not of the same address family as 10.0.0.5/24`},
		{"bad MAC", hyp0, lxcFile(`"950":` + ct(`"mac_address":"52:54:00:AA:BB"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".mac_address: expected a unicast MAC address like 52:54:00:12:34:56, got "52:54:00:AA:BB"`},
		{"multicast MAC", hyp0, lxcFile(`"950":` + ct(`"mac_address":"01:54:00:AA:BB:CC"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".mac_address: expected a unicast MAC address like 52:54:00:12:34:56, got "01:54:00:AA:BB:CC"`},
		{"bad nameserver", `{"vms":[{"vmid":8000,"name":"a","template_image":"x.img","network_config":{"ip":"dhcp","nameservers":["dns"]}}]}`, lxcFile(), "",
			`phoenix_hypervisor_config.json: vms[0].network_config.nameservers[0]: expected an IP address, got "dns"`},
		{"bad pct option", hyp0, lxcFile(`"950":` + ct(`"pct_options":["nesting=yes"]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".pct_options[0]: expected a container feature flag like nesting=1 (one of fuse, force_rw_sys, keyctl, mknod, mount, nesting), got "nesting=yes"`},
		{"bad lxc option", hyp0, lxcFile(`"950":` + ct(`"lxc_options":["apparmor=unconfined"]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".lxc_options[0]: expected a raw LXC option "lxc.key=value", got "apparmor=unconfined"`},
		{"bad gpu assignment", hyp0, lxcFile(`"950":` + ct(`"gpu_assignment":"all"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".gpu_assignment: expected "none" or comma-separated GPU indices, got "all"`},
		{"volume missing size", hyp0, lxcFile(`"950":` + ct(`"volumes":[{"name":"d","pool":"p","mount_point":"/d"}]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".volumes[0].size_gb: required field is missing`},
		{"firewall bad action", hyp0, lxcFile(`"950":` + ct(`"firewall":{"enabled":true,"rules":[{"type":"in","action":"ALLOW","proto":"tcp","port":"80"}]}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".firewall.rules[0].action: expected ACCEPT, DROP or REJECT, got "ALLOW"`},
		{"firewall bad port", hyp0, lxcFile(`"950":` + ct(`"firewall":{"enabled":true,"rules":[{"type":"in","action":"ACCEPT","port":"http-ish"}]}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".firewall.rules[0].port: expected a port number 0-65535, a range a:b or a comma list of them, got "http-ish"`},
		{"firewall backwards range", hyp0, lxcFile(`"950":` + ct(`"firewall":{"enabled":true,"rules":[{"type":"in","action":"ACCEPT","port":"22,90:80"}]}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".firewall.rules[0].port: backwards range "90:80" in "22,90:80": did you mean 80:90?`},
		{"firewall unknown protocol", hyp0, lxcFile(`"950":` + ct(`"firewall":{"enabled":true,"rules":[{"type":"in","action":"ACCEPT","proto":"tcpp"}]}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".firewall.rules[0].proto: expected a protocol name from /etc/protocols (tcp, udp, icmp...) or number, got "tcpp"`},
		{"bad search domain", hyp0, lxcFile(`"950":` + ct(`"network_config":{"ip":"dhcp","search_domain":"corp_lan"}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".network_config.search_domain: expected DNS names separated by spaces or commas, got "corp_lan"`},
		{"firewall bad source", hyp0, lxcFile(`"950":` + ct(`"firewall":{"enabled":true,"rules":[{"type":"in","action":"ACCEPT","source":"10.0.0.999"}]}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".firewall.rules[0].source: expected an IP address, CIDR, alias or +ipset, got "10.0.0.999"`},
		{"bad port mapping", hyp0, lxcFile(`"950":` + ct(`"ports":["80-81"]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".ports[0]: expected "host:guest" ports like "8080:80", got "80-81"`},
		{"shared volume for unknown CT", `{"shared_volumes":{"certs":{"host_path":"/srv/certs","mounts":{"999":"/certs"}}}}`, lxcFile(`"950":` + ct(``)), "",
			`phoenix_hypervisor_config.json: shared_volumes.certs.mounts."999": container 999 is not defined in lxc_configs`},
		{"shared volume relative host path", `{"shared_volumes":{"certs":{"host_path":"srv/certs","mounts":{"950":"/certs"}}}}`, lxcFile(`"950":` + ct(``)), "",
			`phoenix_hypervisor_config.json: shared_volumes.certs.host_path: expected an absolute path, got "srv/certs"`},
		{"bad host address", `{"network":{"interfaces":{"name":"vmbr0","address":"10.0.0.13","gateway":"10.0.0.1"}}}`, lxcFile(), "",
			`phoenix_hypervisor_config.json: network.interfaces.address: expected an address in CIDR notation (e.g. 10.0.0.5/24), got "10.0.0.13"`},
		{"bad default network string", `{"proxmox_defaults":{"lxc":{"network_config":"10.0.0.110/24,gateway"}}}`, lxcFile(`"950":` + ct(``)), "",
			`phoenix_hypervisor_config.json: proxmox_defaults.lxc.network_config: expected a gateway IP address, got "gateway"`},
		{"storage ids not strings", `{"proxmox_storage_ids":{"a":1}}`, lxcFile(), "",
			`phoenix_hypervisor_config.json: proxmox_storage_ids.a: expected a storage ID string, got 1`},
		{"top level not object", `[]`, lxcFile(), "",
			`phoenix_hypervisor_config.json: line 1, column 1: expected a JSON object at the top level, got an array`},
		{"malformed JSON", hyp0, "{\n  \"lxc_configs\": {\n    \"950\": {\"name\": \"a\",}\n  }\n}", "",
			`phoenix_lxc_configs.json: line 3, column 25: malformed JSON: unexpected '}', expected a string key`},
		{"truncated JSON", hyp0, `{"lxc_configs": {`, "",
			`phoenix_lxc_configs.json: line 1, column 18: malformed JSON: unexpected end of input, expected a string key`},
		{"negative cores", hyp0, lxcFile(`"950":` + ct(`"cores":0`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".cores: expected a positive integer, got 0`},
		{"bad hostname", hyp0, lxcFile(`"950":` + ct(`"name":"web_server"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".name: expected a DNS name (letters, digits, '-' and '.'), got "web_server"`},
		// Attack input: shell metacharacters and newlines where PVE or a
		// shell would see them are refused, naming the value.
		{"hostname with command substitution", hyp0, lxcFile(`"950":` + ct(`"name":"web$(reboot)"`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".name: expected a DNS name (letters, digits, '-' and '.'), got "web$(reboot)"`},
		{"feature with backticks", hyp0, lxcFile(`"950":` + ct("\"features\":[\"`id`\"]")), "",
			"phoenix_lxc_configs.json: lxc_configs.\"950\".features[0]: expected a plain feature name (letters, digits, '.', '_', '-'), got \"`id`\""},
		{"feature with a newline", hyp0, lxcFile(`"950":` + ct(`"features":["base\nsetup"]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".features[0]: expected a plain feature name (letters, digits, '.', '_', '-'), got "base\nsetup"`},
		{"lxc option with a newline", hyp0, lxcFile(`"950":` + ct(`"lxc_options":["lxc.apparmor.profile=unconfined\nlxc.cap.drop="]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".lxc_options[0]: expected a raw LXC option "lxc.key=value", got "lxc.apparmor.profile=unconfined\nlxc.cap.drop="`},
		{"gateway with a shell command", hyp0, lxcFile(`"950":` + ct(`"network_config":{"ip":"10.0.0.5/24","gw":"10.0.0.1;reboot"}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".network_config.gw: expected a gateway IP address, got "10.0.0.1;reboot"`},
		{"search domain with quotes", hyp0, lxcFile(`"950":` + ct(`"network_config":{"ip":"dhcp","search_domain":"lan'\"x"}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".network_config.search_domain: expected DNS names separated by spaces or commas, got "lan'\"x"`},
		{"mask shorter than PVE takes", hyp0, lxcFile(`"950":` + ct(`"network_config":{"ip":"10.0.0.5/4"}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".network_config.ip: expected "dhcp" or an address in CIDR notation (e.g. 10.0.0.5/24), got "10.0.0.5/4"`},
		{"zero memory", hyp0, lxcFile(`"950":` + ct(`"memory_mb":0`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".memory_mb: expected a positive integer, got 0`},
		{"zero root disk", hyp0, lxcFile(`"950":` + ct(`"storage_size_gb":0`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".storage_size_gb: expected a positive integer, got 0`},
		{"firewall rule type", hyp0, lxcFile(`"950":` + ct(`"firewall":{"enabled":true,"rules":[{"type":"forward","action":"ACCEPT"}]}`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".firewall.rules[0].type: expected "in", "out" or "group", got "forward"`},
		{"port mapping with a command", hyp0, lxcFile(`"950":` + ct(`"ports":["80:80;reboot"]`)), "",
			`phoenix_lxc_configs.json: lxc_configs."950".ports[0]: expected "host:guest" ports like "8080:80", got "80:80;reboot"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := Input{Hypervisor: []byte(c.hyp), LXC: []byte(c.lxc)}
			if c.vm != "" {
				in.VM = []byte(c.vm)
			}
			_, err := Parse(in)
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("want problems, got %v", err)
			}
			for _, p := range probs {
				if p.String() == c.want {
					if p.Line == 0 {
						t.Errorf("problem %q has no line", c.want)
					}
					return
				}
			}
			t.Fatalf("want problem\n  %s\ngot\n  %s", c.want, strings.ReplaceAll(err.Error(), "\n", "\n  "))
		})
	}
	if len(cases) < 60 {
		t.Fatalf("the corpus must hold at least 60 invalid configs, has %d", len(cases))
	}
}

// Every problem in a file is reported in one run.
func TestAllProblemsAtOnce(t *testing.T) {
	_, err := Parse(Input{Hypervisor: []byte(`{}`), LXC: []byte(lxcFile(
		`"950":`+ct(`"memory_mb":"72G","mac_address":"zz"`),
		`"951":`+ct(`"name":"b","cores":"x","dependencies":[1234]`)))})
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("want problems, got %v", err)
	}
	if len(probs) != 4 {
		t.Fatalf("want 4 problems, got %d:\n%v", len(probs), err)
	}
}
