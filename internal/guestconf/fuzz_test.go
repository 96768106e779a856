package guestconf

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveconf"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// Fuzz tests of the strings the provider builds for PVE (net0, mpN,
// startup, ipconfig0, sshkeys, nameserver, searchdomain, cicustom): for any
// input the provider accepts at plan time (its rules, mirrored below from
// internal/provider/validators.go), the string passes PVE's own parameter
// check (the simulator's pveschema, generated from the 9.1 schema), parses
// back to exactly the input (nothing injected through ',' or '='), and
// survives the config file (pveconf's render and parse). No input panics.
// `go test` runs the seeds; `go test -fuzz FuzzX ./internal/guestconf`
// explores.

var (
	ifaceOK = regexp.MustCompile(`^[-_.\w]+$`).MatchString
	storeOK = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]*[a-zA-Z0-9]$`).MatchString
	pathOK  = func(p string) bool {
		return strings.HasPrefix(p, "/") && !strings.ContainsAny(p, "\n\r,") && strings.TrimRightFunc(p, unicode.IsSpace) == p &&
			!regexp.MustCompile(`/\.\.?(/|$)`).MatchString(p)
	}
	userOK   = regexp.MustCompile(`^[a-z_][a-z0-9_.-]*\$?$`).MatchString
	ipConfOK = func(v string) bool {
		if v == "dhcp" || v == "manual" {
			return true
		}
		p, err := netip.ParsePrefix(v)
		return err == nil && p.Addr().Is4() && p.Bits() >= 8
	}
	gwOK = func(v string) bool { a, err := netip.ParseAddr(v); return err == nil && a.Is4() }
)

// param is the parameter name (net0...) of method and path in PVE's schema.
func param(t *testing.T, method, path, name string) *pveschema.Param {
	t.Helper()
	e, ok := pveschema.Lookup(method, path)
	if !ok {
		t.Fatalf("%s %s not in the schema", method, path)
	}
	p, ok := e.ParamFor(name)
	if !ok {
		t.Fatalf("%s %s has no parameter %s", method, path, name)
	}
	return p
}

// pveAccepts parses value as PVE does for name and returns its keys.
func pveAccepts(t *testing.T, method, path, name, value string) map[string]string {
	t.Helper()
	m, err := pveschema.ParsePropertyAt(param(t, method, path, name), name, value)
	if err != nil {
		t.Fatalf("PVE refuses %s=%q: %v", name, value, err)
	}
	return m
}

// survivesConfFile renders key=value into a config file and reads it back.
func survivesConfFile(t *testing.T, kind, key, value string) {
	t.Helper()
	f := &pveconf.File{Main: pveconf.NewSection()}
	f.Main.Keys[key] = value
	back, warnings := pveconf.Parse(kind, 100, pveconf.Render(kind, f))
	if got := back.Main.Keys[key]; got != value || len(warnings) > 0 {
		t.Fatalf("%s: %q through the config file came back as %q (%v)", key, value, got, warnings)
	}
}

const ctConfig = "/nodes/{node}/lxc/{vmid}/config"

func FuzzContainerNet(f *testing.F) {
	f.Add("eth0", "vmbr0", "10.0.0.5/24", "10.0.0.1", "52:54:00:12:34:56", true)
	f.Add("eth0", "vmbr0", "dhcp", "", "", false)
	f.Add("eth0,bridge=evil", "vmbr0,firewall=1", "manual", "10.0.0.1;reboot", "52:54:00:12:34:56,tag=5", false)
	f.Add("eth-1.2_x", "vmbr0.100", "192.168.1.2/32", "192.168.1.1", "02:00:00:00:00:01", true)
	f.Fuzz(func(t *testing.T, name, bridge, ip, gw, mac string, fw bool) {
		g := &phoenix.Guest{Kind: phoenix.KindLXC, ID: 100, Network: phoenix.Network{Name: name, Bridge: bridge, IP: ip, Gateway: gw, MAC: mac}}
		if fw {
			g.Firewall = &phoenix.Firewall{Enabled: true}
		}
		net0 := ContainerCreateParams(g, "local:vztmpl/x.tar.zst")["net0"]
		if !(name == "" || ifaceOK(name)) || !(bridge == "" || ifaceOK(bridge)) || !(ip == "" || ipConfOK(ip)) ||
			!(gw == "" || gwOK(gw)) || !(mac == "" || phoenix.ValidMAC(mac)) || net0 == "" {
			return // refused at plan time
		}
		m := pveAccepts(t, "PUT", ctConfig, "net0", net0)
		if name == "" {
			name = "eth0"
		}
		want := map[string]string{"name": name, "bridge": bridge, "ip": ip, "gw": gw, "hwaddr": strings.ToUpper(mac)}
		if fw {
			want["firewall"] = "1"
		}
		for k, v := range want {
			if v != "" && m[k] != v {
				t.Fatalf("net0 %q: %s parsed as %q, want %q (all: %v)", net0, k, m[k], v, m)
			}
		}
		if len(m) != countSet(want) {
			t.Fatalf("net0 %q parses to %v: keys beyond %v", net0, m, want)
		}
		survivesConfFile(t, "lxc", "net0", net0)
	})
}

func countSet(m map[string]string) int {
	n := 0
	for _, v := range m {
		if v != "" {
			n++
		}
	}
	return n
}

func FuzzContainerMounts(f *testing.F) {
	f.Add("local-lvm", int64(8), "/data", "", false)
	f.Add("", int64(0), "/certs", "/srv/certs", true)
	f.Add("tank", int64(2), "/a=b/c d", "/srv/x=y", true)
	f.Add("local-lvm,mp=/etc", int64(1), "/data,backup=1", "/x,ro=1", false)
	f.Fuzz(func(t *testing.T, storage string, size int64, mpPath, hostPath string, bind bool) {
		mp := phoenix.MountPoint{Type: "volume", Storage: storage, SizeGB: size, Path: mpPath}
		if bind {
			mp = phoenix.MountPoint{Type: "bind", HostPath: hostPath, Path: mpPath}
		}
		ch := DiffContainer(&phoenix.Guest{Kind: phoenix.KindLXC, ID: 100, MountPoints: []phoenix.MountPoint{mp}}, map[string]string{})
		v := ch.Set["mp0"]
		if !pathOK(mpPath) || (bind && !pathOK(hostPath)) || (!bind && (!storeOK(storage) || size < 1)) {
			return
		}
		m := pveAccepts(t, "PUT", ctConfig, "mp0", v)
		vol := hostPath
		if !bind {
			vol = storage + ":" + strconv.FormatInt(size, 10)
		}
		if m["mp"] != mpPath || m["volume"] != vol || len(m) != 2 {
			t.Fatalf("mp0 %q parses to %v, want volume %q at %q", v, m, vol, mpPath)
		}
		survivesConfFile(t, "lxc", "mp0", v)
	})
}

func FuzzStartup(f *testing.F) {
	f.Add(int64(1), int64(5))
	f.Add(int64(0), int64(0))
	f.Add(int64(-1), int64(99999))
	f.Fuzz(func(t *testing.T, order, up int64) {
		g := &phoenix.Guest{Kind: phoenix.KindLXC, ID: 100, BootOrder: &order, BootDelay: &up}
		ct := DiffContainer(g, map[string]string{}).Set["startup"]
		g.Kind = phoenix.KindVM
		vm := DiffVM(g, map[string]string{}, VMSettings{}).Set["startup"]
		if order < 0 || up < 0 {
			return // refused at plan time (at least 0)
		}
		if ct != vm {
			t.Fatalf("containers and VMs render startup differently: %q vs %q", ct, vm)
		}
		m := pveAccepts(t, "PUT", ctConfig, "startup", ct)
		if m["order"] != strconv.FormatInt(order, 10) || (up > 0 && m["up"] != strconv.FormatInt(up, 10)) {
			t.Fatalf("startup %q parses to %v", ct, m)
		}
		survivesConfFile(t, "qemu", "startup", vm)
	})
}

const vmConfig = "/nodes/{node}/qemu/{vmid}/config"

func FuzzVMCloudInit(f *testing.F) {
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q ops@example"
	f.Add("ops", key, "10.0.0.5/24", "10.0.0.1", "10.0.0.1 1.1.1.1", "lan example.com", "local")
	f.Add("phoenix_user", key+"\n"+key, "dhcp", "", "", "", "snip-store")
	f.Add("a$(reboot)", "ssh-rsa AAAA x\"y'z;`id`", "10.0.0.5/24,gw=1.2.3.4", "1.2.3.4,ip6=dhcp", "8.8.8.8;reboot", "lan,x", "local,user=x")
	f.Fuzz(func(t *testing.T, user, keys, ip, gw, nameservers, search, snippets string) {
		g := &phoenix.Guest{Kind: phoenix.KindVM, ID: 100, CloudInit: &phoenix.CloudInit{Username: user},
			Network: phoenix.Network{IP: ip, Gateway: gw, SearchDomain: search}}
		if keys != "" {
			g.CloudInit.SSHAuthorizedKeys = strings.Split(keys, "\n")
		}
		if nameservers != "" {
			g.Network.Nameservers = strings.Fields(nameservers)
		}
		cicustom := "user=" + snippets + ":snippets/" + SnippetName(100)
		set := DiffVM(g, map[string]string{}, VMSettings{CICustom: cicustom}).Set
		if set["sshkeys"] != "" && DecodeSSHKeys(set["sshkeys"]) != strings.TrimRight(keys, "\n") {
			t.Fatalf("sshkeys %q decode to %q, want %q", set["sshkeys"], DecodeSSHKeys(set["sshkeys"]), keys)
		}
		if !userOK(user) || !sshKeysOK(g.CloudInit.SSHAuthorizedKeys) || !(ip == "" || (ipConfOK(ip) && ip != "manual")) ||
			!(gw == "" || gwOK(gw)) || !nameserversOK(g.Network.Nameservers) || !(search == "" || phoenix.ValidDNSNameList(search)) || !storeOK(snippets) {
			return
		}
		e, _ := pveschema.Lookup("PUT", vmConfig)
		v := pveschema.Values{"node": {"pve"}, "vmid": {"100"}}
		for k, x := range set {
			v[k] = []string{x}
		}
		if errs := e.Validate(v); len(errs) > 0 {
			t.Fatalf("PVE refuses %v: %v", set, errs)
		}
		if set["ipconfig0"] != "" {
			m := pveAccepts(t, "PUT", vmConfig, "ipconfig0", set["ipconfig0"])
			if m["ip"] != ip || (gw != "" && ip != "dhcp" && m["gw"] != gw) {
				t.Fatalf("ipconfig0 %q parses to %v", set["ipconfig0"], m)
			}
		}
		if m := pveAccepts(t, "PUT", vmConfig, "cicustom", set["cicustom"]); m["user"] != snippets+":snippets/"+SnippetName(100) || len(m) != 1 {
			t.Fatalf("cicustom %q parses to %v", set["cicustom"], m)
		}
		for k, x := range set {
			survivesConfFile(t, "qemu", k, x)
		}
	})
}

func sshKeysOK(keys []string) bool {
	for _, k := range keys {
		f := strings.Fields(k)
		if len(f) < 2 || strings.ContainsAny(k, "\n\r") || !(strings.HasPrefix(f[0], "ssh-") || strings.HasPrefix(f[0], "ecdsa-") || strings.HasPrefix(f[0], "sk-")) {
			return false
		}
	}
	return true
}

func nameserversOK(ns []string) bool {
	for _, n := range ns {
		if _, err := netip.ParseAddr(n); err != nil {
			return false
		}
	}
	return true
}
