//go:build linux

package guestroot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCloudInitApplyAndClean(t *testing.T) {
	m := newGuest(t, 100)
	ci := CloudInit{
		Hostname:      "web1",
		User:          "deploy",
		SSHKeys:       []string{"ssh-ed25519 AAAAC3Nza one@host", "ssh-rsa AAAAB3Nza two@host"},
		Nameservers:   []string{"10.0.0.53"},
		SearchDomains: []string{"example.com"},
		Network: []CloudInitNIC{
			{Name: "eth1", IPv4: "dhcp", IPv6: "auto"},
			{Name: "eth0", MAC: "BC:24:11:AA:BB:CC", IPv4: "10.0.0.5/24", Gateway4: "10.0.0.1"},
		},
	}
	if err := m.ApplyCloudInit(100, ci); err != nil {
		t.Fatal(err)
	}
	root := m.Root(100)
	wantNetplan := `# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.  To disable cloud-init's
# network configuration capabilities, write a file
# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:
# network: {config: disabled}
network:
    version: 2
    ethernets:
        eth0:
            addresses:
            - 10.0.0.5/24
            match:
                macaddress: bc:24:11:aa:bb:cc
            nameservers:
                addresses:
                - 10.0.0.53
                search:
                - example.com
            routes:
            -   to: default
                via: 10.0.0.1
            set-name: eth0
        eth1:
            dhcp4: true
            accept-ra: true
            nameservers:
                addresses:
                - 10.0.0.53
                search:
                - example.com
`
	if got := readHost(t, filepath.Join(root, "etc/netplan/50-cloud-init.yaml")); got != wantNetplan {
		t.Fatalf("netplan:\n%s", got)
	}
	res := sh(t, m, 100, `hostname -F /etc/hostname 2>/dev/null; cat /etc/hostname; grep '^deploy:' /etc/passwd;
stat -c '%u %a' /home/deploy/.ssh /home/deploy/.ssh/authorized_keys; cat /home/deploy/.ssh/authorized_keys;
grep 127.0.1.1 /etc/hosts; cloud-init status`)
	want := "web1\ndeploy:x:1000:1000::/home/deploy:/bin/bash\n1000 700\n1000 600\n" +
		"ssh-ed25519 AAAAC3Nza one@host\nssh-rsa AAAAB3Nza two@host\n127.0.1.1 web1.example.com web1\nstatus: done\n"
	if string(res.Stdout) != want {
		t.Fatalf("guest view after cloud-init:\n%s\nstderr: %s", res.Stdout, res.Stderr)
	}
	// Applying again keeps the user's uid and does not duplicate it.
	if err := m.ApplyCloudInit(100, ci); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(readHost(t, filepath.Join(root, "etc/passwd")), "\ndeploy:"); n != 1 {
		t.Fatalf("user present %d times", n)
	}

	res = sh(t, m, 100, "cloud-init clean --logs; echo rc=$?; cloud-init status; ls -A /var/lib/cloud; ls /var/log")
	if string(res.Stdout) != "rc=0\nstatus: not started\n" {
		t.Fatalf("after clean: %q %q", res.Stdout, res.Stderr)
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/cloud/instances")); !os.IsNotExist(err) {
		t.Fatal("instance state survived cloud-init clean")
	}
}

func TestCloudInitDefaultUserIsImageUser(t *testing.T) {
	m := newGuest(t, 100) // ubuntu template
	if err := m.ApplyCloudInit(100, CloudInit{SSHKeys: []string{"ssh-ed25519 AAAA k@h"}}); err != nil {
		t.Fatal(err)
	}
	if got := readHost(t, filepath.Join(m.Root(100), "home/ubuntu/.ssh/authorized_keys")); got != "ssh-ed25519 AAAA k@h\n" {
		t.Fatalf("ubuntu's keys: %q", got)
	}
	if err := m.Create(101, "archlinux-base_20240911-1_amd64.tar.zst"); err != nil {
		t.Fatal(err)
	}
	if err := m.Create(102, "gentoo-current-openrc_20240101_amd64.tar.xz"); err != nil {
		t.Fatal(err)
	}
	if err := m.ApplyCloudInit(101, CloudInit{User: "root", SSHKeys: []string{"k1"}}); err != nil {
		t.Fatal(err)
	}
	if got := readHost(t, filepath.Join(m.Root(101), "root/.ssh/authorized_keys")); got != "k1\n" {
		t.Fatalf("root's keys: %q", got)
	}
	// No known image user (gentoo): root gets the keys.
	if err := m.ApplyCloudInit(102, CloudInit{SSHKeys: []string{"k2"}}); err != nil {
		t.Fatal(err)
	}
	if got := readHost(t, filepath.Join(m.Root(102), "root/.ssh/authorized_keys")); got != "k2\n" {
		t.Fatalf("gentoo default user keys: %q", got)
	}
	if err := m.ApplyCloudInit(101, CloudInit{User: "../x"}); err == nil {
		t.Fatal("bad user name accepted")
	}
}
