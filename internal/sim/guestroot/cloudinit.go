//go:build linux

package guestroot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// CloudInit is what PVE's cloud-init drive tells a VM (ciuser, sshkeys,
// nameserver, searchdomain, ipconfigN), as the guest's cloud-init applies it.
type CloudInit struct {
	Hostname      string // short name or FQDN; the short part goes to /etc/hostname
	User          string // "" = the image's default user (ubuntu, debian, ...; else root)
	SSHKeys       []string
	Nameservers   []string
	SearchDomains []string
	Network       []CloudInitNIC
	InstanceID    string // default "iid-phoenix"
	// PasswordHash is the user's password hash (user-data password), set in
	// /etc/shadow; "" leaves the account locked.
	PasswordHash string
	// Packages are installed on first boot (user-data packages).
	Packages []string
	// RunCmd are shell lines run on first boot, after the packages (runcmd).
	RunCmd []string
}

// CloudInitNIC is one ipconfigN with the NIC it belongs to.
type CloudInitNIC struct {
	Name     string // eth0, eth1, ...
	MAC      string // matched in netplan; optional
	IPv4     string // "dhcp", "a.b.c.d/nn" or ""
	Gateway4 string
	IPv6     string // "dhcp", "auto", "addr/nn" or ""
	Gateway6 string
}

// The image default users of the usual cloud images, by os-release ID.
var defaultCloudUsers = map[string]string{
	"ubuntu": "ubuntu", "debian": "debian", "rocky": "rocky", "almalinux": "almalinux",
	"fedora": "fedora", "centos": "cloud-user", "alpine": "alpine", "arch": "arch",
}

// ApplyCloudInit applies ci to guest id's root the way cloud-init's first
// boot would (see ApplyCloudInitIn).
func (m *Manager) ApplyCloudInit(id int, ci CloudInit) error {
	root, err := m.existing(id)
	if err != nil {
		return err
	}
	if err := ApplyCloudInitIn(root, ci); err != nil {
		return err
	}
	return m.runCommands(context.Background(), id, ci.RunCmd)
}

// ApplyCloudInitIn writes /etc/hostname, /etc/hosts, the user (created when
// missing, with sudo rights) and its ~/.ssh/authorized_keys, the netplan file
// /etc/netplan/50-cloud-init.yaml, /etc/resolv.conf, and cloud-init's state
// (/var/lib/cloud/instance -> instances/<iid>, with boot-finished) that the
// guest's `cloud-init status` reads and `cloud-init clean` removes.
func ApplyCloudInitIn(root string, ci CloudInit) error {
	if ci.InstanceID == "" {
		ci.InstanceID = "iid-phoenix"
	}
	if strings.ContainsAny(ci.InstanceID, "/\x00") || ci.InstanceID == "." || ci.InstanceID == ".." {
		return fmt.Errorf("guestroot: invalid instance id %q", ci.InstanceID)
	}
	if ci.Hostname != "" {
		short, _, _ := strings.Cut(ci.Hostname, ".")
		fqdn := ci.Hostname
		if fqdn == short && len(ci.SearchDomains) > 0 {
			fqdn = short + "." + ci.SearchDomains[0]
		}
		if err := WriteFileIn(root, "/etc/hostname", []byte(short+"\n"), 0o644); err != nil {
			return err
		}
		hosts := fmt.Sprintf("127.0.1.1 %s %s\n127.0.0.1 localhost\n\n::1 localhost ip6-localhost ip6-loopback\n", fqdn, short)
		if err := WriteFileIn(root, "/etc/hosts", []byte(hosts), 0o644); err != nil {
			return err
		}
	}
	if err := applyUser(root, ci); err != nil {
		return err
	}
	if err := InstallPackagesIn(root, ci.Packages); err != nil {
		return err
	}
	if len(ci.Network) > 0 {
		if err := MkdirAllIn(root, "/etc/netplan", 0o755); err != nil {
			return err
		}
		if err := WriteFileIn(root, "/etc/netplan/50-cloud-init.yaml", netplan(ci), 0o600); err != nil {
			return err
		}
	}
	if len(ci.Nameservers) > 0 || len(ci.SearchDomains) > 0 {
		var b strings.Builder
		if len(ci.SearchDomains) > 0 {
			fmt.Fprintf(&b, "search %s\n", strings.Join(ci.SearchDomains, " "))
		}
		for _, ns := range ci.Nameservers {
			fmt.Fprintf(&b, "nameserver %s\n", ns)
		}
		if err := WriteFileIn(root, "/etc/resolv.conf", []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	inst := "/var/lib/cloud/instances/" + ci.InstanceID
	for _, d := range []string{inst, "/var/lib/cloud/data", "/var/log"} {
		if err := MkdirAllIn(root, d, 0o755); err != nil {
			return err
		}
	}
	if err := symlinkIn(root, "/var/lib/cloud/instance", inst); err != nil {
		return err
	}
	files := map[string]string{
		inst + "/boot-finished":            "0.00 - Thu, 01 Jan 1970 00:00:00 +0000 - v. 24.1.3\n",
		"/var/lib/cloud/data/instance-id":  ci.InstanceID + "\n",
		"/var/log/cloud-init.log":          "cloud-init[1]: Cloud-init v. 24.1.3 finished. Datasource DataSourceNoCloud [seed=/dev/sr0]\n",
		"/var/log/cloud-init-output.log":   "Cloud-init v. 24.1.3 finished. Datasource DataSourceNoCloud [seed=/dev/sr0]\n",
		"/var/lib/cloud/data/result.json":  `{"v1": {"datasource": "DataSourceNoCloud [seed=/dev/sr0]", "errors": []}}` + "\n",
		"/var/lib/cloud/data/status.json":  `{"v1": {"stage": null, "datasource": "DataSourceNoCloud [seed=/dev/sr0]"}}` + "\n",
		"/var/lib/cloud/data/set-hostname": fmt.Sprintf(`{"hostname": %q}`+"\n", ci.Hostname),
	}
	for p, data := range files {
		if err := WriteFileIn(root, p, []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func applyUser(root string, ci CloudInit) error {
	user := ci.User
	if user == "" {
		user = "root"
		if data, _, err := ReadFileIn(root, "/etc/os-release", 0); err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if id, ok := strings.CutPrefix(line, "ID="); ok {
					if u := defaultCloudUsers[strings.Trim(id, `"`)]; u != "" {
						user = u
					}
				}
			}
		}
	}
	if strings.ContainsAny(user, ":/\n\x00") || user == "." || user == ".." {
		return fmt.Errorf("guestroot: invalid user name %q", user)
	}
	uid, gid, home, err := ensureUser(root, user)
	if err != nil {
		return err
	}
	if ci.PasswordHash != "" {
		if err := setShadowHash(root, user, ci.PasswordHash); err != nil {
			return err
		}
	}
	if len(ci.SSHKeys) == 0 {
		return nil
	}
	sshDir := path.Join(home, ".ssh")
	if err := MkdirAllIn(root, sshDir, 0o700); err != nil {
		return err
	}
	keys := strings.Join(ci.SSHKeys, "\n") + "\n"
	if err := WriteFileIn(root, sshDir+"/authorized_keys", []byte(keys), 0o600); err != nil {
		return err
	}
	for _, p := range []string{home, sshDir, sshDir + "/authorized_keys"} {
		if err := ChownIn(root, p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// ensureUser returns the user's ids and home, adding it (next free uid >=
// 1000, own group, locked password, passwordless sudo like cloud-init's
// default user) when /etc/passwd does not know it.
func ensureUser(root, user string) (int, int, string, error) {
	passwd, _, err := ReadFileIn(root, "/etc/passwd", 0)
	if err != nil {
		return 0, 0, "", err
	}
	next := 1000
	for _, line := range strings.Split(string(passwd), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 {
			continue
		}
		uid, _ := strconv.Atoi(f[2])
		gid, _ := strconv.Atoi(f[3])
		if f[0] == user {
			return uid, gid, f[5], nil
		}
		if uid >= next && uid < 65534 {
			next = uid + 1
		}
	}
	home := "/home/" + user
	appendLine := func(p, line string) error {
		data, _, err := ReadFileIn(root, p, 0)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
			data = append(data, '\n')
		}
		perm := os.FileMode(0o644)
		if p == "/etc/shadow" {
			perm = 0o640
		}
		return WriteFileIn(root, p, append(data, line+"\n"...), perm)
	}
	id := strconv.Itoa(next)
	if err := appendLine("/etc/passwd", user+":x:"+id+":"+id+"::"+home+":/bin/bash"); err != nil {
		return 0, 0, "", err
	}
	if err := appendLine("/etc/group", user+":x:"+id+":"); err != nil {
		return 0, 0, "", err
	}
	if err := appendLine("/etc/shadow", user+":!:19000:0:99999:7:::"); err != nil {
		return 0, 0, "", err
	}
	if err := MkdirAllIn(root, home, 0o755); err != nil {
		return 0, 0, "", err
	}
	if err := MkdirAllIn(root, "/etc/sudoers.d", 0o750); err != nil {
		return 0, 0, "", err
	}
	sudo := "# Created by cloud-init v. 24.1.3\n\n# User rules for " + user + "\n" + user + " ALL=(ALL) NOPASSWD:ALL\n"
	if err := WriteFileIn(root, "/etc/sudoers.d/90-cloud-init-users", []byte(sudo), 0o440); err != nil {
		return 0, 0, "", err
	}
	return next, next, home, nil
}

// netplan renders the v2 file cloud-init writes from PVE's network config.
func netplan(ci CloudInit) []byte {
	var b strings.Builder
	b.WriteString("# This file is generated from information provided by the datasource.  Changes\n" +
		"# to it will not persist across an instance reboot.  To disable cloud-init's\n" +
		"# network configuration capabilities, write a file\n" +
		"# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:\n" +
		"# network: {config: disabled}\nnetwork:\n    version: 2\n    ethernets:\n")
	nics := append([]CloudInitNIC(nil), ci.Network...)
	sort.SliceStable(nics, func(i, j int) bool { return nics[i].Name < nics[j].Name })
	for _, n := range nics {
		fmt.Fprintf(&b, "        %s:\n", n.Name)
		var addrs, routes []string
		switch n.IPv4 {
		case "":
		case "dhcp":
			b.WriteString("            dhcp4: true\n")
		default:
			addrs = append(addrs, n.IPv4)
		}
		switch n.IPv6 {
		case "":
		case "dhcp":
			b.WriteString("            dhcp6: true\n")
		case "auto":
			b.WriteString("            accept-ra: true\n")
		default:
			addrs = append(addrs, n.IPv6)
		}
		if len(addrs) > 0 {
			b.WriteString("            addresses:\n")
			for _, a := range addrs {
				fmt.Fprintf(&b, "            - %s\n", a)
			}
		}
		if n.MAC != "" {
			fmt.Fprintf(&b, "            match:\n                macaddress: %s\n", strings.ToLower(n.MAC))
		}
		if len(ci.Nameservers) > 0 || len(ci.SearchDomains) > 0 {
			b.WriteString("            nameservers:\n")
			if len(ci.Nameservers) > 0 {
				b.WriteString("                addresses:\n")
				for _, ns := range ci.Nameservers {
					fmt.Fprintf(&b, "                - %s\n", ns)
				}
			}
			if len(ci.SearchDomains) > 0 {
				b.WriteString("                search:\n")
				for _, s := range ci.SearchDomains {
					fmt.Fprintf(&b, "                - %s\n", s)
				}
			}
		}
		if n.Gateway4 != "" {
			routes = append(routes, n.Gateway4)
		}
		if n.Gateway6 != "" {
			routes = append(routes, n.Gateway6)
		}
		if len(routes) > 0 {
			b.WriteString("            routes:\n")
			for _, gw := range routes {
				to := "default"
				if strings.Contains(gw, ":") {
					to = "'::/0'"
				}
				fmt.Fprintf(&b, "            -   to: %s\n                via: %s\n", to, gw)
			}
		}
		if n.MAC != "" {
			fmt.Fprintf(&b, "            set-name: %s\n", n.Name)
		}
	}
	return []byte(b.String())
}

// symlinkIn (re)creates the guest symlink p -> target.
func symlinkIn(root, p, target string) error {
	if err := RemoveIn(root, p); err != nil && !errors.Is(err, unix.ENOTEMPTY) {
		return err
	}
	rootfd, err := openRoot(root)
	if err != nil {
		return err
	}
	defer unix.Close(rootfd)
	parent, err := mkdirAllIn(rootfd, path.Dir(cleanGuestPath(p)), 0o755)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	return unix.Symlinkat(target, parent, path.Base(cleanGuestPath(p)))
}

// cloudInitScript stands in for the cloud-init command inside guests.
const cloudInitScript = `#!/bin/sh
# Stand-in for cloud-init in phoenix simulated guests: first-boot state is
# written by the simulator; this reports and cleans it.
state=/var/lib/cloud
cmd="$1"
[ $# -gt 0 ] && shift
case "$cmd" in
clean)
	logs=0 seed=0 machineid=0
	for a in "$@"; do
		case "$a" in
		-l|--logs) logs=1 ;;
		-s|--seed) seed=1 ;;
		--machine-id) machineid=1 ;;
		-r|--reboot|-c|--configs|all|network|ssh_config) ;;
		*) echo "cloud-init: error: unrecognized arguments: $a" >&2; exit 2 ;;
		esac
	done
	for e in "$state"/* "$state"/.[!.]*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		[ "$seed" = 0 ] && [ "$e" = "$state/seed" ] && continue
		rm -rf "$e"
	done
	[ "$logs" = 1 ] && rm -f /var/log/cloud-init.log /var/log/cloud-init-output.log
	[ "$machineid" = 1 ] && echo uninitialized > /etc/machine-id
	exit 0
	;;
status)
	if [ -e "$state/instance/boot-finished" ]; then
		echo "status: done"
	else
		echo "status: not started"
	fi
	exit 0
	;;
--version|-v|version)
	echo "/usr/bin/cloud-init 24.1.3"
	;;
*)
	echo "usage: cloud-init {clean,status,--version} ..." >&2
	exit 2
	;;
esac
`

// setShadowHash puts hash in user's /etc/shadow entry (cloud-init's password).
func setShadowHash(root, user, hash string) error {
	if strings.ContainsAny(hash, ":\n") {
		return fmt.Errorf("guestroot: invalid password hash for %s", user)
	}
	data, _, err := ReadFileIn(root, "/etc/shadow", 0)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	for i, l := range lines {
		if f := strings.Split(l, ":"); len(f) > 2 && f[0] == user {
			f[1] = hash
			lines[i] = strings.Join(f, ":")
		}
	}
	return WriteFileIn(root, "/etc/shadow", []byte(strings.Join(lines, "\n")+"\n"), 0o640)
}
