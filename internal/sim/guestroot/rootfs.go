//go:build linux

package guestroot

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Host binaries the base root is built from (Debian bash-static and busybox-static).
var (
	BashStatic    = "/bin/bash-static"
	BusyboxStatic = "/bin/busybox"
)

// CheckDeps reports whether the static binaries the base root needs are
// installed, with the command that installs them.
func CheckDeps() error {
	for _, p := range []string{BashStatic, BusyboxStatic} {
		if err := requireStatic(p); err != nil {
			return fmt.Errorf("guestroot: %v; install bash-static and busybox-static with scripts/install-guest-deps.sh (as root)", err)
		}
	}
	return nil
}

// requireStatic refuses dynamically linked binaries: inside a guest root there
// is no libc for them (Debian's plain busybox package is dynamic).
func requireStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("%s: %v", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", p)
		}
	}
	return nil
}

type baseFile struct {
	path string
	mode os.FileMode
	data string
}

var baseDirs = []struct {
	path string
	mode os.FileMode
}{
	{"bin", 0o755}, {"sbin", 0o755}, {"usr", 0o755}, {"usr/bin", 0o755}, {"usr/sbin", 0o755},
	{"usr/local", 0o755}, {"usr/local/bin", 0o755}, {"usr/local/sbin", 0o755}, {"usr/share", 0o755},
	{"usr/lib", 0o755}, {"lib", 0o755}, {"etc", 0o755}, {"etc/profile.d", 0o755}, {"etc/cloud", 0o755},
	{"root", 0o700}, {"home", 0o755}, {"tmp", 0o1777}, {"var", 0o755}, {"var/tmp", 0o1777},
	{"var/lib", 0o755}, {"var/lib/cloud", 0o755}, {"var/log", 0o755}, {"var/cache", 0o755},
	{"run", 0o755}, {"dev", 0o755}, {"proc", 0o555}, {"sys", 0o555}, {"mnt", 0o755},
	{"opt", 0o755}, {"srv", 0o755}, {"media", 0o755},
}

var baseFiles = []baseFile{
	{"etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/bash\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
		"bin:x:2:2:bin:/bin:/usr/sbin/nologin\n" +
		"sys:x:3:3:sys:/dev:/usr/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
	{"etc/group", 0o644, "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\n" +
		"sudo:x:27:\nusers:x:100:\nnogroup:x:65534:\n"},
	{"etc/shadow", 0o640, "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n" +
		"bin:*:19000:0:99999:7:::\nsys:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n"},
	{"etc/hostname", 0o644, "localhost\n"},
	{"etc/hosts", 0o644, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
	{"etc/resolv.conf", 0o644, ""},
	{"etc/shells", 0o644, "/bin/sh\n/bin/bash\n/usr/bin/bash\n"},
	{"etc/profile", 0o644, "export PATH=" + DefaultPath + "\n" +
		"for f in /etc/profile.d/*.sh; do [ -r \"$f\" ] && . \"$f\"; done\nunset f\n"},
	{"usr/bin/cloud-init", 0o755, cloudInitScript},
	{"usr/bin/systemctl", 0o755, systemctlScript},
}

// systemctlScript stands in for systemctl: units are enabled and started by
// name (state under /run/systemd/sim), so scripts and cloud-init's runcmd
// that manage services work.
const systemctlScript = `#!/bin/sh
# Stand-in for systemctl in phoenix simulated guests.
state=/run/systemd/sim
mkdir -p "$state"
cmd=""
units=""
for a in "$@"; do
	case "$a" in
	--now|--quiet|-q|--no-pager|--no-block) [ "$a" = --now ] && now=1 ;;
	-*) ;;
	*) if [ -z "$cmd" ]; then cmd=$a; else units="$units ${a%.service}"; fi ;;
	esac
done
rc=0
for u in $units; do
	case "$cmd" in
	enable) : > "$state/$u.enabled"; [ -n "$now" ] && : > "$state/$u.active" ;;
	disable) rm -f "$state/$u.enabled"; [ -n "$now" ] && rm -f "$state/$u.active" ;;
	start|restart|reload) : > "$state/$u.active" ;;
	stop) rm -f "$state/$u.active" ;;
	is-active) if [ -e "$state/$u.active" ]; then echo active; else echo inactive; rc=3; fi ;;
	is-enabled) if [ -e "$state/$u.enabled" ]; then echo enabled; else echo disabled; rc=1; fi ;;
	status) [ -e "$state/$u.active" ] || rc=3 ;;
	*) echo "systemctl: unknown command $cmd" >&2; exit 1 ;;
	esac
done
[ "$cmd" = daemon-reload ] && exit 0
exit $rc
`

// baseVersion names the cached base: bump it when the base's content changes.
const baseVersion = "v3"

// buildBase writes the shared base root into dir (which must not exist).
func buildBase(dir string) error {
	if err := CheckDeps(); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for _, d := range baseDirs {
		p := filepath.Join(dir, d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		if err := unix.Chmod(p, unixMode(d.mode)); err != nil {
			return err
		}
	}
	for _, f := range baseFiles {
		if err := writeHostFile(filepath.Join(dir, f.path), []byte(f.data), f.mode); err != nil {
			return err
		}
	}
	for src, dst := range map[string]string{BashStatic: "bin/bash", BusyboxStatic: "bin/busybox"} {
		if err := copyRegular(src, filepath.Join(dir, dst)); err != nil {
			return err
		}
	}
	for _, l := range [][2]string{{"usr/bin/bash", "/bin/bash"}, {"bin/rbash", "bash"}} {
		if err := os.Symlink(l[1], filepath.Join(dir, l[0])); err != nil {
			return err
		}
	}
	// Applets where busybox itself says they live (usr/bin/env, bin/sed, ...).
	// Hard links, not symlinks: ~270 new inodes would make every clone several
	// times slower. /bin/sh stays a symlink, like Debian's /bin/sh -> dash.
	if err := os.Symlink("busybox", filepath.Join(dir, "bin/sh")); err != nil {
		return err
	}
	out, err := exec.Command(BusyboxStatic, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full: %v", err)
	}
	for _, rel := range strings.Fields(string(out)) {
		if !strings.Contains(rel, "/") || strings.Contains(rel, "..") {
			continue // e.g. linuxrc
		}
		p := filepath.Join(dir, rel)
		if _, err := os.Lstat(p); err == nil {
			continue // ours (bash, cloud-init) win over applets
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Link(filepath.Join(dir, "bin/busybox"), p); err != nil {
			return err
		}
	}
	return nil
}

func writeHostFile(p string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(p, data, mode.Perm()); err != nil {
		return err
	}
	return unix.Chmod(p, unixMode(mode))
}

func copyRegular(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeHostFile(dst, data, 0o755)
}

// OSRelease is the distribution a template name stands for.
type OSRelease struct {
	ID, VersionID, Name, PrettyName, Codename, IDLike string
}

var distros = map[string]struct{ id, name, like string }{
	"debian":     {"debian", "Debian GNU/Linux", ""},
	"ubuntu":     {"ubuntu", "Ubuntu", "debian"},
	"devuan":     {"devuan", "Devuan GNU/Linux", "debian"},
	"alpine":     {"alpine", "Alpine Linux", ""},
	"archlinux":  {"arch", "Arch Linux", ""},
	"centos":     {"centos", "CentOS Stream", "rhel fedora"},
	"rockylinux": {"rocky", "Rocky Linux", "rhel centos fedora"},
	"almalinux":  {"almalinux", "AlmaLinux", "rhel centos fedora"},
	"fedora":     {"fedora", "Fedora Linux", ""},
	"opensuse":   {"opensuse-leap", "openSUSE Leap", "suse opensuse"},
	"gentoo":     {"gentoo", "Gentoo", ""},
}

var codenames = map[string]string{
	"debian 11": "bullseye", "debian 12": "bookworm", "debian 13": "trixie",
	"ubuntu 20.04": "focal", "ubuntu 22.04": "jammy", "ubuntu 24.04": "noble",
	"ubuntu 24.10": "oracular", "ubuntu 25.04": "plucky", "ubuntu 25.10": "questing",
	"devuan 5": "daedalus",
}

// TemplateOS maps a PVE template volume name such as
// "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst" to its
// distribution. An empty or unrecognised name gives Debian 13, PVE 9's base.
func TemplateOS(template string) OSRelease {
	name := template
	if i := strings.LastIndexAny(name, "/:"); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.IndexByte(name, '_'); i >= 0 {
		name = name[:i]
	}
	for _, ext := range append([]string{".tar.zst", ".tar.xz", ".tar.gz", ".tgz"}, imageExts...) {
		name = strings.TrimSuffix(name, ext)
	}
	parts := strings.Split(strings.ToLower(name), "-")
	for dv, codename := range codenames {
		// Ubuntu's cloud images are named by codename (noble-server-cloudimg-amd64.img).
		if parts[0] == codename {
			d, v, _ := strings.Cut(dv, " ")
			return osRelease(d, v)
		}
	}
	if _, ok := distros[parts[0]]; !ok {
		return osRelease("debian", "13")
	}
	version := ""
	if len(parts) > 1 && parts[1] != "" && parts[1][0] >= '0' && parts[1][0] <= '9' {
		version = parts[1]
	}
	return osRelease(parts[0], version)
}

// imageExts are the file types of disk images (cloud images, import content).
var imageExts = []string{".img", ".qcow2", ".raw", ".vmdk", ".ova"}

// IsDiskImage reports whether a template name is a disk image (a VM created
// by importing it runs the image's OS) rather than a container template.
func IsDiskImage(name string) bool {
	for _, ext := range imageExts {
		if strings.HasSuffix(strings.ToLower(name), ext) {
			return true
		}
	}
	return false
}

func osRelease(key, version string) OSRelease {
	d := distros[key]
	r := OSRelease{ID: d.id, VersionID: version, Name: d.name, IDLike: d.like, PrettyName: d.name}
	if version != "" {
		r.PrettyName += " " + version
	}
	if c := codenames[key+" "+version]; c != "" {
		r.Codename = c
		if key != "ubuntu" {
			r.PrettyName += " (" + c + ")"
		} else if yy, err := strconv.Atoi(strings.Split(version, ".")[0]); err == nil && yy%2 == 0 && strings.HasSuffix(version, ".04") {
			r.PrettyName += " LTS"
		}
	}
	return r
}

// File renders /etc/os-release.
func (r OSRelease) File() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "PRETTY_NAME=%q\nNAME=%q\n", r.PrettyName, r.Name)
	if r.VersionID != "" {
		fmt.Fprintf(&b, "VERSION_ID=%q\n", r.VersionID)
		v := r.VersionID
		if r.Codename != "" {
			v += " (" + r.Codename + ")"
		}
		fmt.Fprintf(&b, "VERSION=%q\n", v)
	}
	if r.Codename != "" {
		fmt.Fprintf(&b, "VERSION_CODENAME=%s\n", r.Codename)
	}
	fmt.Fprintf(&b, "ID=%s\n", r.ID)
	if r.IDLike != "" {
		if strings.Contains(r.IDLike, " ") {
			fmt.Fprintf(&b, "ID_LIKE=%q\n", r.IDLike)
		} else {
			fmt.Fprintf(&b, "ID_LIKE=%s\n", r.IDLike)
		}
	}
	return b.Bytes()
}
