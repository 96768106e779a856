package guestconf

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// AgentPackage is the guest agent's package in the usual cloud images
// (Debian, Ubuntu, RHEL and derivatives); those images ship without it.
const AgentPackage = "qemu-guest-agent"

// UserDataPackages lists the packages a VM's generated user-data installs:
// its cloud_init packages, plus the guest agent for a VM created from a
// cloud image (the provider provisions through the agent; clones inherit it
// from their template).
func UserDataPackages(g *phoenix.Guest) []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p = strings.TrimSpace(p); p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if g.CloudInit != nil {
		for _, p := range g.CloudInit.Packages {
			add(p)
		}
	}
	if g.TemplateImage != "" && g.CloneFrom == nil {
		add(AgentPackage)
	}
	return out
}

// NeedsUserData reports whether the VM needs a generated user-data snippet
// (cicustom): PVE's native cloud-init keys cannot install packages.
func NeedsUserData(g *phoenix.Guest) bool {
	return g.Kind == phoenix.KindVM && len(UserDataPackages(g)) > 0
}

// SnippetName is the file name of a VM's user-data snippet.
func SnippetName(id int) string { return fmt.Sprintf("phoenix-%d-user.yaml", id) }

// UserData renders the #cloud-config a VM gets through cicustom. A custom
// user-data replaces what PVE would generate from ciuser/sshkeys, so it says
// the same things PVE's own (qemu-server's cloudinit_userdata) says (hostname,
// /etc/hosts, default user and keys), plus the packages, and starts the guest
// agent once installed. Strings are JSON-quoted, which YAML reads as is.
func UserData(g *phoenix.Guest) []byte {
	q := yamlQuote
	var b strings.Builder
	b.WriteString("#cloud-config\n")
	fmt.Fprintf(&b, "# Written by terraform-provider-phoenix for VM %d; edits are overwritten.\n", g.ID)
	if g.Name != "" {
		fmt.Fprintf(&b, "hostname: %s\n", q(g.Name))
	}
	b.WriteString("manage_etc_hosts: true\n")
	if ci := g.CloudInit; ci != nil {
		if ci.Username != "" {
			fmt.Fprintf(&b, "user: %s\n", q(ci.Username))
		}
		if ci.Password != "" {
			fmt.Fprintf(&b, "password: %s\n", q(PasswordHash(g.ID, ci.Password)))
		}
		if len(ci.SSHAuthorizedKeys) > 0 {
			b.WriteString("ssh_authorized_keys:\n")
			for _, k := range ci.SSHAuthorizedKeys {
				fmt.Fprintf(&b, "  - %s\n", q(k))
			}
		}
	}
	b.WriteString("chpasswd:\n  expire: false\nusers:\n  - default\n")
	pkgs := UserDataPackages(g)
	if len(pkgs) > 0 {
		b.WriteString("packages:\n")
		for _, p := range pkgs {
			fmt.Fprintf(&b, "  - %s\n", q(p))
		}
	}
	for _, p := range pkgs {
		if p == AgentPackage {
			b.WriteString("runcmd:\n  - [systemctl, enable, --now, qemu-guest-agent]\n")
		}
	}
	return []byte(b.String())
}

// yamlQuote is a double-quoted YAML scalar: JSON's quoting, plus \u escapes
// for the characters JSON leaves raw but YAML forbids in a document (DEL, C1
// controls, U+FFFE/U+FFFF), which would make cloud-init ignore the whole
// user-data.
func yamlQuote(s string) string {
	b, _ := json.Marshal(s)
	var out strings.Builder
	for _, r := range string(b) {
		if r == 0x7f || (r >= 0x80 && r <= 0x9f && r != 0x85) || r == 0xfffe || r == 0xffff {
			fmt.Fprintf(&out, `\u%04x`, r)
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}
