package guestconf

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// VM configuration: the same desired-map-and-diff approach as containers,
// over qemu-server's keys. Keys the model leaves unset are not managed.

// vmDiskKeyRE matches qemu drive keys (scsi0, virtio1, sata2, ide3).
var vmDiskKeyRE = regexp.MustCompile(`^(scsi|virtio|sata|ide)(\d+)$`)

// netModels are qemu-server's NIC models: the model is the key of net0's
// first part ("virtio=BC:24:11:..").
var netModels = map[string]bool{"virtio": true, "e1000": true, "e1000e": true, "rtl8139": true, "vmxnet3": true,
	"i82551": true, "i82557b": true, "i82559er": true, "ne2k_isa": true, "ne2k_pci": true, "pcnet": true}

// pveOSTypes are qemu-server's ostype values.
var pveOSTypes = map[string]bool{"other": true, "wxp": true, "w2k": true, "w2k3": true, "w2k8": true, "wvista": true,
	"win7": true, "win8": true, "win10": true, "win11": true, "l24": true, "l26": true, "solaris": true}

// linuxOS are phoenix os_type values that mean a Linux 2.6+ kernel.
// (the distribution names PVE's container ostype takes, as phoenix writes them).
var linuxOS = map[string]bool{"ubuntu": true, "debian": true, "devuan": true, "centos": true, "fedora": true,
	"opensuse": true, "archlinux": true, "alpine": true, "gentoo": true, "nixos": true}

// VMOSType maps a phoenix os_type ("ubuntu", or a PVE value such as "l26")
// to qemu-server's ostype; ok is false for a value it cannot place.
func VMOSType(osType string) (string, bool) {
	t := strings.ToLower(strings.TrimSpace(osType))
	switch {
	case pveOSTypes[t]:
		return t, true
	case linuxOS[t]:
		return "l26", true
	}
	return "", false
}

// VMOSTypeNames lists every accepted os_type, for messages and validators.
func VMOSTypeNames() []string {
	var out []string
	for k := range pveOSTypes {
		out = append(out, k)
	}
	for k := range linuxOS {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// VMSettings are what the VM's desired configuration depends on beyond the
// model: where its cloud-init user-data snippet lives, if it needs one.
type VMSettings struct {
	// CICustom is the cicustom value ("user=local:snippets/x.yaml"), or ""
	// when the native cloud-init keys say everything.
	CICustom string
	// SetPassword sends cloud_init.password as cipassword: PVE keeps only a
	// hash and shows it masked, so it is sent at creation and when it changed.
	SetPassword bool
}

// VMCreateParams are the parameters of a VM created from a cloud image:
// the disk imported from source (a volume ID or an absolute path) on
// virtio-scsi, a cloud-init drive, a serial console (cloud images log to it
// and some do not boot without it), the agent, boot from the imported disk.
// Everything the model manages afterwards converges through DiffVM.
func VMCreateParams(g *phoenix.Guest, source string, s VMSettings) map[string]string {
	p := map[string]string{
		"name":    g.Name,
		"scsihw":  "virtio-scsi-pci",
		"scsi0":   g.Storage + ":0,import-from=" + source,
		"ide2":    g.Storage + ":cloudinit",
		"serial0": "socket",
		"vga":     "serial0",
		"agent":   "enabled=1",
		"boot":    "order=scsi0",
	}
	if t, ok := VMOSType(g.OSType); ok {
		p["ostype"] = t
	} else {
		p["ostype"] = "l26"
	}
	for k, v := range DiffVM(g, map[string]string{}, s).Set {
		if k != "ide2" {
			p[k] = v
		}
	}
	return p
}

// BootDisk is the VM's boot disk key: the first disk of the boot order, else
// the first present of scsi0, virtio0, sata0, ide0 that is not a CD-ROM.
func BootDisk(actual map[string]string) string {
	order := parseProps(actual["boot"], "legacy")["order"]
	for _, k := range strings.Split(order, ";") {
		if isVMDisk(actual, k) {
			return k
		}
	}
	keys := make([]string, 0, len(actual))
	for k := range actual {
		if isVMDisk(actual, k) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return diskRank(keys[i]) < diskRank(keys[j]) })
	if len(keys) > 0 {
		return keys[0]
	}
	return ""
}

func isVMDisk(actual map[string]string, k string) bool {
	v, ok := actual[k]
	if !ok || !vmDiskKeyRE.MatchString(k) {
		return false
	}
	m := parseProps(v, "file")
	return m["media"] != "cdrom" && !strings.Contains(m["file"], "cloudinit") && m["file"] != "none"
}

func diskRank(k string) int {
	m := vmDiskKeyRE.FindStringSubmatch(k)
	n, _ := strconv.Atoi(m[2])
	bus := map[string]int{"scsi": 0, "virtio": 1, "sata": 2, "ide": 3}[m[1]]
	return bus*100 + n
}

// ciKeys are the options cloud-init reads from the drive.
var ciKeys = map[string]bool{"ciuser": true, "cipassword": true, "sshkeys": true, "nameserver": true, "searchdomain": true,
	"cicustom": true, "citype": true, "ciupgrade": true, "ipconfig0": true, "name": true}

// IsCloudInitKey reports whether changing key changes what the VM's
// cloud-init drive says (the name is its hostname).
func IsCloudInitKey(key string) bool {
	return ciKeys[key] || strings.HasPrefix(key, "ipconfig")
}

// hasCloudInitDrive reports whether some drive is a cloud-init drive.
func hasCloudInitDrive(actual map[string]string) bool {
	for k, v := range actual {
		if vmDiskKeyRE.MatchString(k) && strings.Contains(parseProps(v, "file")["file"], "cloudinit") {
			return true
		}
	}
	return false
}

// freeIDE returns a free IDE slot for a cloud-init drive (ide2 first, as PVE's UI).
func freeIDE(actual map[string]string) string {
	for _, k := range []string{"ide2", "ide0", "ide1", "ide3"} {
		if _, ok := actual[k]; !ok {
			return k
		}
	}
	return ""
}

// DiffVM computes the config changes that make a VM's actual config match g.
func DiffVM(g *phoenix.Guest, actual map[string]string, s VMSettings) Changes {
	ch := diffCommon(g, actual, "name")
	if g.MemoryMB != nil {
		if parseProps(actual["memory"], "current")["current"] != strconv.FormatInt(*g.MemoryMB, 10) {
			ch.Set["memory"] = strconv.FormatInt(*g.MemoryMB, 10)
		}
	}
	if g.OSType != "" {
		if t, ok := VMOSType(g.OSType); ok && actual["ostype"] != t {
			ch.Set["ostype"] = t
		}
	}
	if agent := parseProps(actual["agent"], "enabled"); agent["enabled"] != "1" {
		agent["enabled"] = "1"
		ch.Set["agent"] = formatProps(agent, "", "enabled")
	}
	if net := desiredVMNet(g, actual["net0"]); net != "" && !sameMap(parseProps(net, ""), parseProps(actual["net0"], "")) {
		ch.Set["net0"] = net
	}
	diffCloudInit(g, actual, s, &ch)
	if disk := BootDisk(actual); disk != "" {
		diffDiskSize(g, disk, parseProps(actual[disk], "file")["size"], &ch)
	}
	if len(ch.Set) == 0 {
		ch.Set = nil
	}
	sort.Strings(ch.Delete)
	return ch
}

// desiredVMNet renders net0 (virtio on the bridge, the MAC when given, the
// firewall flag), keeping from the actual value what the model does not set.
func desiredVMNet(g *phoenix.Guest, actual string) string {
	n := g.Network
	if n.Bridge == "" && n.MAC == "" && g.Firewall == nil {
		return ""
	}
	m := parseProps(actual, "")
	model, mac := "virtio", ""
	for k, v := range m {
		if netModels[k] {
			model, mac = k, v
			delete(m, k)
		}
	}
	if n.MAC != "" {
		mac = strings.ToUpper(n.MAC)
	}
	if mac != "" {
		m[model] = mac
	} else {
		m["model"] = model
	}
	if n.Bridge != "" {
		m["bridge"] = n.Bridge
	}
	if g.Firewall != nil && g.Firewall.Enabled {
		m["firewall"] = "1"
	} else if g.Firewall != nil {
		delete(m, "firewall")
	}
	return formatProps(m, "", model, "model", "bridge")
}

// diffCloudInit manages the cloud-init drive and keys: ciuser, sshkeys (as
// PVE stores them, URI-escaped), ipconfig0, nameserver, cicustom.
func diffCloudInit(g *phoenix.Guest, actual map[string]string, s VMSettings, ch *Changes) {
	wantsCI := g.CloudInit != nil || g.Network.IP != "" || s.CICustom != ""
	if wantsCI && !hasCloudInitDrive(actual) && g.Storage != "" {
		if slot := freeIDE(actual); slot != "" {
			ch.Set[slot] = g.Storage + ":cloudinit"
		}
	}
	set := func(k, v string) {
		switch {
		case v == "" && actual[k] != "":
			ch.Delete = append(ch.Delete, k)
		case v != "" && actual[k] != v:
			ch.Set[k] = v
		}
	}
	if ci := g.CloudInit; ci != nil {
		set("ciuser", ci.Username)
		if s.SetPassword && ci.Password != "" {
			ch.Set["cipassword"] = ci.Password
		}
		if keys := strings.Join(ci.SSHAuthorizedKeys, "\n"); keys != DecodeSSHKeys(actual["sshkeys"]) {
			set("sshkeys", EncodeSSHKeys(ci.SSHAuthorizedKeys))
		}
	}
	if g.Network.IP != "" {
		ip := parseProps(actual["ipconfig0"], "")
		want := map[string]string{}
		for k, v := range ip {
			if k != "ip" && k != "gw" {
				want[k] = v
			}
		}
		want["ip"] = g.Network.IP
		if g.Network.Gateway != "" && g.Network.IP != "dhcp" {
			want["gw"] = g.Network.Gateway
		}
		if !sameMap(want, ip) {
			ch.Set["ipconfig0"] = formatProps(want, "", "ip", "gw")
		}
	}
	if len(g.Network.Nameservers) > 0 {
		if ns := strings.Join(g.Network.Nameservers, " "); strings.Join(strings.Fields(actual["nameserver"]), " ") != ns {
			ch.Set["nameserver"] = ns
		}
	}
	if g.Network.SearchDomain != "" {
		set("searchdomain", g.Network.SearchDomain)
	}
	set("cicustom", s.CICustom)
}

// EncodeSSHKeys renders keys as PVE's sshkeys option holds them: one key a
// line, URI-escaped as Perl's uri_escape does (all but A-Za-z0-9-._~).
func EncodeSSHKeys(keys []string) string {
	s := strings.Join(keys, "\n")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// DecodeSSHKeys undoes any URI escaping of PVE's sshkeys option (the web UI
// escapes fewer characters than uri_escape) and trims the trailing newline.
func DecodeSSHKeys(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			if n, err := strconv.ParseUint(v[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return strings.TrimRight(b.String(), "\n")
}
