//go:build linux

package guestconf

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// The cloud-init user-data the provider generates reads, as the simulated
// cloud-init reads it (YAML), exactly as the spec says: host name, user,
// keys and packages, whatever characters they hold (quotes, '#', ':',
// newlines, YAML's own syntax), and nothing else lands in it.
func FuzzUserData(f *testing.F) {
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q ops@example"
	f.Add("web", "ops", key, "curl")
	f.Add("docker-vm-01", "phoenix_user", key+"\n"+key, "curl\nvim")
	f.Add("x: y", "root\nruncmd: [reboot]", "ssh-rsa AAAA #comment\n- evil", "curl; reboot\n- [sh, -c, id]")
	f.Add("'\"", "{a: b}", "&anchor *alias", "!!binary AAAA")
	f.Fuzz(func(t *testing.T, name, user, keys, packages string) {
		for _, s := range []string{name, user, keys, packages} {
			if !utf8.ValidString(s) {
				return // Terraform strings are UTF-8
			}
		}
		g := &phoenix.Guest{Kind: phoenix.KindVM, ID: 100, Name: name, TemplateImage: "noble.img",
			CloudInit: &phoenix.CloudInit{Username: user}}
		if keys != "" {
			g.CloudInit.SSHAuthorizedKeys = strings.Split(keys, "\n")
		}
		if packages != "" {
			g.CloudInit.Packages = strings.Split(packages, "\n")
		}
		text := string(UserData(g))
		ci, err := pvesim.ParseUserData(text)
		if err != nil {
			t.Fatalf("user-data does not parse: %v\n%s", err, text)
		}
		if ci.Hostname != name || ci.User != user {
			t.Fatalf("hostname %q user %q read back as %q %q\n%s", name, user, ci.Hostname, ci.User, text)
		}
		if wantKeys := g.CloudInit.SSHAuthorizedKeys; !reflect.DeepEqual(ci.SSHKeys, wantKeys) && !(len(wantKeys) == 0 && len(ci.SSHKeys) == 0) {
			t.Fatalf("keys %q read back as %q\n%s", wantKeys, ci.SSHKeys, text)
		}
		if want := UserDataPackages(g); !reflect.DeepEqual(ci.Packages, want) {
			t.Fatalf("packages %q read back as %q\n%s", want, ci.Packages, text)
		}
		if want := []string{"'systemctl' 'enable' '--now' 'qemu-guest-agent'"}; !reflect.DeepEqual(ci.RunCmd, want) {
			t.Fatalf("runcmd %q, want only the agent's start\n%s", ci.RunCmd, text)
		}
	})
}
