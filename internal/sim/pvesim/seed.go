//go:build linux

package pvesim

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// Default seed volumes, so a bare simulator can create guests out of the box.
const (
	DefaultCTTemplate = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
	DefaultCloudImage = "local:import/noble-server-cloudimg-amd64.qcow2"
	DefaultISO        = "local:iso/debian-12.7.0-amd64-netinst.iso"
)

// seedDefaults creates what a fresh PVE 9 install has: storages local and
// local-lvm and bridge vmbr0, plus a few template volumes.
func seedDefaults(st *State) {
	st.Bridges = []string{"vmbr0"}
	st.Storages = []*Storage{
		{ID: "local", Type: "dir", Path: "/var/lib/vz", Content: []string{"iso", "vztmpl", "backup", "import"}, Total: 100 * gib},
		{ID: "local-lvm", Type: "lvmthin", Content: []string{"images", "rootdir"}, Total: 400 * gib},
	}
	addTemplateVolume(st, DefaultCTTemplate, "vztmpl", 120*mib)
	addTemplateVolume(st, DefaultCloudImage, "import", 600*mib)
	addTemplateVolume(st, DefaultISO, "iso", 630*mib)
}

// addTemplateVolume puts a non-guest volume on every node.
func addTemplateVolume(st *State, volid, content string, size int64) {
	format := map[string]string{"vztmpl": "tzst", "iso": "iso", "import": "raw"}[content]
	if strings.HasSuffix(volid, ".qcow2") {
		format = "qcow2"
	}
	for _, n := range st.Nodes {
		if st.volume(n, volid) == nil {
			st.addVolume(&Volume{VolID: volid, Node: n, Content: content, Format: format, Size: size, Ctime: time.Now().Unix()})
		}
	}
}

// seedPhoenix builds the host's digital twin from a phoenix config directory
// (parsed with internal/phoenix): its zfs-dataset storages, the bridge, and
// the LXC templates and cloud images its guests reference.
//
// It returns the files the guests name by an absolute path outside every
// storage (LXC templates on real phoenix hosts), which every node gets.
func seedPhoenix(st *State, dir string) ([]string, error) {
	est, err := phoenix.Load(phoenix.Sources{Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("phoenix config %s: %w", dir, err)
	}
	var files []string
	for _, ps := range est.Storages {
		if st.storage(ps.ID) != nil {
			continue
		}
		s := &Storage{ID: ps.ID, Type: ps.Type, Content: append([]string(nil), ps.Content...), Total: 1 * tib}
		if ps.Type == "dir" {
			s.Path = ps.Path
			if s.Path == "" {
				s.Path = "/" + strings.Replace(ps.ID, "-", "/", 1)
			}
		} else {
			s.Pool = strings.TrimPrefix(strings.Replace(ps.ID, "-", "/", 1), "/")
		}
		st.Storages = append(st.Storages, s)
	}
	if b := est.Network.Bridge; b != "" && !containsStr(st.Bridges, b) {
		st.Bridges = append(st.Bridges, b)
	}
	for _, g := range est.Guests {
		if vol := templateVolume(st, g.OSTemplate, g.Template); vol != "" {
			addTemplateVolume(st, vol, "vztmpl", 130*mib)
		} else if path.IsAbs(g.Template) {
			files = append(files, path.Clean(g.Template))
		}
		if img := g.TemplateImage; img != "" {
			addTemplateVolume(st, importVolume(img), "import", 600*mib)
		}
	}
	return files, nil
}

// importVolume is the import volume a cloud image is kept as. PVE lists
// import/ files ending .qcow2, .raw, .vmdk, .ova or .ovf only; Ubuntu's
// ".img" cloud images are qcow2 files and are stored under that extension.
func importVolume(img string) string {
	name := path.Base(img)
	if !importNameRE.MatchString(name) {
		name = strings.TrimSuffix(name, path.Ext(name)) + ".qcow2"
	}
	return "local:import/" + name
}

// templateVolume maps a template path such as
// /fastData/shared-iso/template/cache/X.tar.zst to the volume on the dir
// storage whose path holds it ("fastData-shared-iso:vztmpl/X.tar.zst").
func templateVolume(st *State, resolved, p string) string {
	if resolved != "" {
		return resolved
	}
	if p == "" {
		return ""
	}
	if strings.Contains(p, ":") {
		return p
	}
	for _, s := range st.Storages {
		if s.Type == "dir" && s.Path != "" && strings.HasPrefix(p, s.Path+"/template/cache/") {
			return s.ID + ":vztmpl/" + strings.TrimPrefix(p, s.Path+"/template/cache/")
		}
	}
	if path.IsAbs(p) {
		return "" // a file on the node, outside every storage
	}
	return "local:vztmpl/" + path.Base(p)
}
