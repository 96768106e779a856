//go:build linux

package pvesim

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

var (
	qemuDiskKeyRE = regexp.MustCompile(`^(scsi|virtio|sata|ide)\d+$|^efidisk0$|^tpmstate0$`)
	ctMountKeyRE  = regexp.MustCompile(`^(rootfs|mp\d+)$`)
	netKeyRE      = regexp.MustCompile(`^net\d+$`)
	unusedKeyRE   = regexp.MustCompile(`^unused\d+$`)
)

// ctMountType is PVE's classification of a rootfs/mpN volume.
func ctMountType(vol string) string {
	switch {
	case strings.HasPrefix(vol, "/dev/"):
		return "device"
	case strings.HasPrefix(vol, "/"):
		return "bind"
	}
	return "volume"
}

// checkCTPerm is check_ct_modify_config_perm's root-only rules (a token is
// never root@pam).
func checkCTPerm(r *request, old map[string]string, set map[string]string, del []string) error {
	if r.isRoot() {
		return nil
	}
	keys := sortedKeys(set)
	keys = append(keys, del...)
	for _, k := range keys {
		v, deleting := set[k]
		deleting = !deleting
		switch {
		case ctMountKeyRE.MatchString(k) && !deleting:
			m, err := parseProp("lxc", k, v)
			if err != nil {
				return err
			}
			if t := ctMountType(m["volume"]); t != "volume" {
				return permErr("mount point type " + t + " is only allowed for root@pam")
			}
		case strings.HasPrefix(k, "dev") && indexedKeyRE.MatchString(k):
			return permErr("configuring device passthrough is only allowed for root@pam")
		case k == "features":
			if old != nil && old["unprivileged"] != "1" {
				return permErr("changing feature flags for privileged container is only allowed for root@pam")
			}
			if featuresOtherChanged(old["features"], v, deleting) {
				return permErr("changing feature flags (except nesting) is only allowed for root@pam")
			}
		case k == "hookscript":
			return permErr("changing the hookscript is only allowed for root@pam")
		}
	}
	return nil
}

func featuresOtherChanged(oldV, newV string, deleting bool) bool {
	oldF, newF := splitProps(oldV, ""), splitProps(newV, "")
	if deleting {
		newF = map[string]string{}
	}
	if oldV == "" || deleting {
		f := newF
		if deleting {
			f = oldF
		}
		_, hasNesting := f["nesting"]
		return len(f) > 1 || (len(f) == 1 && !hasNesting)
	}
	for _, m := range []map[string]string{oldF, newF} {
		for k := range m {
			if k != "nesting" && oldF[k] != newF[k] {
				return true
			}
		}
	}
	return false
}

// prepareCTMount allocates a new volume for "STORAGE:SIZE" and returns the
// canonical rootfs/mpN value.
func (s *Server) prepareCTMount(g *Guest, key, value string) (string, error) {
	m, err := parseProp("lxc", key, value)
	if err != nil {
		return "", paramErr(map[string]string{key: err.Error()})
	}
	vol := m["volume"]
	if mm := newDiskRE.FindStringSubmatch(vol); mm != nil {
		gb, _ := strconv.ParseFloat(mm[2], 64)
		size := int64(gb * float64(gib))
		v, err := s.st.allocVolume(g.Node, mm[1], g.VMID, "lxc", size, "")
		if err != nil {
			return "", err
		}
		m["volume"], m["size"] = v.VolID, formatSize(size)
	} else if ctMountType(vol) == "volume" {
		sid, _, _ := splitVolID(vol)
		stor := s.st.storage(sid)
		if stor == nil {
			return "", die("storage '%s' does not exist", sid)
		}
		if !storageContent(stor, "rootdir") {
			return "", die("storage '%s' does not allow content type 'rootdir' (Container)", sid)
		}
		if v := s.st.volume(g.Node, vol); v != nil && m["size"] == "" {
			m["size"] = formatSize(v.Size)
		}
	}
	return printProp("lxc", key, m), nil
}

// prepareVMDisk handles new-volume, import-from and cloud-init syntax of a
// QEMU drive and returns the canonical value.
func (s *Server) prepareVMDisk(r *request, g *Guest, key, value string) (string, error) {
	m, err := parseProp("qemu", key, value)
	if err != nil {
		return "", paramErr(map[string]string{key: err.Error()})
	}
	file := m["file"]
	switch {
	case file == "none" || file == "cdrom" || file == "":
	case strings.HasSuffix(file, ":cloudinit"):
		v, err := s.st.allocCloudInit(g.Node, strings.TrimSuffix(file, ":cloudinit"), g.VMID)
		if err != nil {
			return "", err
		}
		m["file"], m["media"] = v.VolID, "cdrom"
	case newDiskRE.MatchString(file):
		mm := newDiskRE.FindStringSubmatch(file)
		gb, _ := strconv.ParseFloat(mm[2], 64)
		size := int64(gb * float64(gib))
		if src := m["import-from"]; src != "" {
			if gb != 0 {
				return "", paramErr(map[string]string{key: "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>"})
			}
			if strings.HasPrefix(src, "/") {
				if !r.isRoot() {
					return "", die("Only root can pass arbitrary filesystem paths.")
				}
				if !s.nodeFileExists(g.Node, src) {
					return "", die("can't find file '%s'", src) // abs_filesystem_path
				}
			} else {
				sv := s.volumeAt(g.Node, src)
				if sv == nil {
					return "", die("cannot import from '%s' - volume '%s' does not exist", src, src)
				}
				if sv.Content != "images" && sv.Content != "import" {
					return "", paramErr(map[string]string{key: src + " has wrong type '" + sv.Content + "' - needs to be 'images' or 'import'"})
				}
				size = sv.Size
			}
			delete(m, "import-from")
		}
		v, err := s.st.allocVolume(g.Node, mm[1], g.VMID, "qemu", size, m["format"])
		if err != nil {
			return "", err
		}
		delete(m, "format")
		m["file"], m["size"] = v.VolID, formatSize(size)
	default:
		if v := s.volumeAt(g.Node, file); v != nil && m["size"] == "" && v.Content != "iso" {
			m["size"] = formatSize(v.Size)
		}
	}
	return printProp("qemu", key, m), nil
}

// prepareNet fills in a generated MAC and prints the canonical value.
func prepareNet(kind, key, value string) (string, error) {
	m, err := parseProp(kind, key, value)
	if err != nil {
		return "", paramErr(map[string]string{key: err.Error()})
	}
	if kind == "lxc" {
		if m["hwaddr"] == "" {
			m["hwaddr"] = randomMAC()
		}
		if m["type"] == "" {
			m["type"] = "veth"
		}
		return printProp(kind, key, m), nil
	}
	// QEMU prints "model=MAC" first (print_net).
	model := m["model"]
	mac := m["macaddr"]
	if mac == "" {
		mac = randomMAC()
	}
	delete(m, "model")
	delete(m, "macaddr")
	rest := printProp(kind, key, m)
	out := model + "=" + mac
	if rest != "" {
		out += "," + rest
	}
	return out, nil
}

// prepareValue converts one requested key/value to what the config stores.
func (s *Server) prepareValue(r *request, g *Guest, key, value string) (string, error) {
	switch {
	case g.Kind == "lxc" && ctMountKeyRE.MatchString(key):
		return s.prepareCTMount(g, key, value)
	case g.Kind == "qemu" && qemuDiskKeyRE.MatchString(key):
		return s.prepareVMDisk(r, g, key, value)
	case netKeyRE.MatchString(key):
		return prepareNet(g.Kind, key, value)
	case key == "tags":
		return tagsList(value), nil
	case g.Kind == "qemu" && key == "cipassword":
		if strings.HasPrefix(value, "$") {
			return value, nil
		}
		sum := sha256.Sum256([]byte(value))
		return "$5$pvesim$" + hex.EncodeToString(sum[:]), nil
	case g.Kind == "qemu" && key == "sshkeys":
		raw, err := url.QueryUnescape(strings.ReplaceAll(value, "+", "%2B"))
		if err != nil {
			return "", paramErr(map[string]string{key: "invalid urlencoded string: " + value})
		}
		return uriEscape(raw), nil
	}
	return value, nil
}

// vmDescription is a VM description as qemu-server reads it back from the
// config file: write_vm_config writes no comment lines for a false value
// ("" or "0": ok is false, the key is gone), parse_vm_config strips
// trailing whitespace (s/\s+$//), leaving "" of a blank one. Containers
// keep theirs as written.
func vmDescription(v string) (string, bool) {
	if v == "" || v == "0" {
		return "", false
	}
	return strings.TrimRight(v, " \t\n\r\f\v"), true
}

// uriEscape is URI::Escape::uri_escape: everything but unreserved characters.
func uriEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// removeKey deletes key from a config; guest volumes become unusedN, an
// unusedN key frees its volume (vmconfig_delete_or_detach_drive).
func (s *Server) removeKey(g *Guest, key string) {
	old, ok := g.Config[key]
	if !ok {
		return
	}
	delete(g.Config, key)
	switch {
	case unusedKeyRE.MatchString(key):
		s.st.deleteVolume(g.Node, old)
	case (g.Kind == "lxc" && ctMountKeyRE.MatchString(key)) || (g.Kind == "qemu" && qemuDiskKeyRE.MatchString(key)):
		m, _ := parseProp(g.Kind, key, old)
		vol := m["volume"]
		if g.Kind == "qemu" {
			vol = m["file"]
		}
		if volumeOwner(vol) == g.VMID && s.st.volume(g.Node, vol) != nil {
			if strings.Contains(vol, "cloudinit") {
				s.st.deleteVolume(g.Node, vol)
			} else {
				g.Config[nextFreeKey(g.Config, "unused")] = vol
			}
		}
	}
}

// applyChanges writes set/delete into the config (or, for a running guest and
// keys that cannot hotplug, into the pending section).
func (s *Server) applyChanges(r *request, g *Guest, set map[string]string, del []string) error {
	prepared := map[string]string{}
	for _, k := range sortedKeys(set) {
		v, err := s.prepareValue(r, g, k, set[k])
		if err != nil {
			return err
		}
		prepared[k] = v
	}
	for _, k := range del {
		if g.Running && !hotpluggable(g.Kind, k) {
			if g.Pending == nil {
				g.Pending = map[string]string{}
			}
			if !containsStr(g.PendingDelete, k) {
				g.PendingDelete = append(g.PendingDelete, k)
			}
			continue
		}
		s.removeKey(g, k)
	}
	for _, k := range sortedKeys(prepared) {
		if g.Kind == "qemu" && k == "description" {
			if d, ok := vmDescription(prepared[k]); ok {
				prepared[k] = d
			} else {
				s.removeKey(g, k)
				continue
			}
		}
		if g.Running && !hotpluggable(g.Kind, k) {
			if g.Pending == nil {
				g.Pending = map[string]string{}
			}
			g.Pending[k] = prepared[k]
			continue
		}
		if _, had := g.Config[k]; had && (ctMountKeyRE.MatchString(k) || qemuDiskKeyRE.MatchString(k)) && g.Config[k] != prepared[k] {
			oldVol := diskVolume(g.Kind, k, g.Config[k])
			if oldVol != diskVolume(g.Kind, k, prepared[k]) {
				s.removeKey(g, k)
			}
		}
		g.Config[k] = prepared[k]
	}
	return nil
}

func diskVolume(kind, key, value string) string {
	m, _ := parseProp(kind, key, value)
	if kind == "qemu" {
		return m["file"]
	}
	return m["volume"]
}

// applyPending moves pending values into the config (on stop/start).
func (s *Server) applyPending(g *Guest) {
	for _, k := range g.PendingDelete {
		s.removeKey(g, k)
	}
	for k, v := range g.Pending {
		g.Config[k] = v
	}
	g.Pending, g.PendingDelete = nil, nil
}

// hotpluggable says whether a change applies to a running guest at once.
func hotpluggable(kind, key string) bool {
	switch key {
	case "name", "hostname", "description", "tags", "onboot", "protection", "startup", "lock", "hookscript":
		return true
	}
	if netKeyRE.MatchString(key) || unusedKeyRE.MatchString(key) {
		return true
	}
	if kind == "lxc" {
		switch key {
		case "cores", "cpulimit", "cpuunits", "memory", "swap", "nameserver", "searchdomain":
			return true
		}
		return strings.HasPrefix(key, "mp")
	}
	return qemuDiskKeyRE.MatchString(key) && !strings.HasPrefix(key, "efidisk") && !strings.HasPrefix(key, "tpmstate")
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// listSepRE is split_list's separator.
var listSepRE = regexp.MustCompile(`[,;\s\x00]+`)

// splitList is PVE::Tools::split_list.
func splitList(s string) []string {
	var out []string
	for _, p := range listSepRE.Split(s, -1) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
