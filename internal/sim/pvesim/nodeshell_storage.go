//go:build linux

package pvesim

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/nodeshell"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// The node shell's storage side (nodeshell.StorageCluster): pvesm's API
// calls and qm disk import.

var _ nodeshell.StorageCluster = shellCluster{}

func (c shellCluster) CallAPI(ctx context.Context, method, path string, params map[string][]string) (any, error) {
	out, err := c.s.callAPI(ctx, method, path, pveschema.Values(params))
	return out, cliErr(err)
}

func (c shellCluster) WaitTask(ctx context.Context, upid string) ([]string, string, error) {
	status, err := c.s.WaitTask(ctx, upid)
	if err != nil {
		return nil, "", err
	}
	t := c.s.tasks.get(upid)
	lines := t.logLines()
	if n := len(lines); n > 0 {
		lines = lines[:n-1] // the CLI prints no "TASK OK" line
	}
	return lines, status, nil
}

func (c shellCluster) VolumePath(volid string) (string, error) {
	p, _, err := c.s.VolumePath(volid)
	return p, err
}

// ImportDisk is ImportDisk::do_import after qm importdisk's checks.
func (c shellCluster) ImportDisk(ctx context.Context, node string, vmid int, req nodeshell.ImportDiskRequest) (string, string, error) {
	s := c.s
	release, err := s.locks.acquire(ctx, guestLockPath("qemu", vmid), s.opts.LockTimeout)
	if err != nil {
		return "", "", err
	}
	defer release()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.lookup("qemu", node, vmid)
	if err != nil {
		return "", "", err
	}
	if err := g.checkLock(); err != nil {
		return "", "", err
	}
	stor := s.st.storage(req.Storage)
	if stor == nil {
		return "", "", die("storage '%s' does not exist", req.Storage)
	}
	if !storageContent(stor, "images") {
		return "", "", die("storage %s does not support vm images", req.Storage)
	}
	format := "raw" // storage_default_format; dir storages also take qcow2 and vmdk
	if req.Format != "" {
		if req.Format == "raw" || stor.Type == "dir" {
			format = req.Format
		} else {
			fmt.Fprintf(req.Warn, "format '%s' is not supported by the target storage - using '%s' instead\n", req.Format, format)
		}
	}
	if req.TargetDisk != "" {
		if _, ok := g.Config[req.TargetDisk]; ok {
			return "", "", die("cowardly refusing to overwrite existing entry: %s", req.TargetDisk)
		}
	}
	v, err := s.st.allocVolume(node, stor.ID, vmid, "qemu", req.Size, format)
	if err != nil {
		return "", "", err
	}
	drive := req.TargetDisk
	if drive == "" {
		drive = nextFreeKey(g.Config, "unused") // add_unused_volume
	}
	g.Config[drive] = v.VolID
	go s.persist()
	return drive, v.VolID, nil
}

// storageAlloc is POST .../storage/{storage}/content (Content.pm create):
// vdisk_alloc with the file name as the volume name.
func (s *Server) storageAlloc(r *request) (any, error) {
	node, name := r.vars["node"], r.str("filename")
	size, err := allocSizeKiB(r.str("size"))
	if err != nil {
		return nil, err
	}
	format := r.str("format")
	if m := allocExtRE.FindStringSubmatch(name); m != nil {
		if format != "" && format != m[1] {
			return nil, paramErr(map[string]string{"format": fmt.Sprintf("different storage formats (%s != %s)", format, m[1])})
		}
		format = m[1]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stor, err := s.storageByID(r)
	if err != nil {
		return nil, err
	}
	vmid := r.integer("vmid")
	if format == "" {
		format = "raw" // get_formats' default of every simulated type
	}
	if stor.Type == "lvmthin" && format != "raw" {
		return nil, die("unsupported format '%s'", format)
	}
	prefix := fmt.Sprintf("vm-%d-", vmid)
	if len(name) < len(prefix) || name[:len(prefix)] != prefix {
		return nil, die("illegal name '%s' - should be '%s*'", name, prefix)
	}
	volid := stor.ID + ":" + name
	if stor.Type == "dir" {
		if m := allocExtRE.FindStringSubmatch(name); m == nil || m[1] != format {
			ext := ""
			if m != nil {
				ext = m[1]
			}
			return nil, die("illegal name '%s' - wrong extension for format ('%s != '%s')", name, ext, format)
		}
		volid = fmt.Sprintf("%s:%d/%s", stor.ID, vmid, name)
	}
	if s.st.volume(node, volid) != nil {
		p := volumePath(stor, "", parsedVol{vtype: "images", name: name, vmid: vmid})
		if stor.Type == "dir" {
			return nil, die("disk image '%s' already exists", p)
		}
		return nil, die("volume '%s' already exists", volid)
	}
	content := "images"
	s.st.addVolume(&Volume{VolID: volid, Node: node, Content: content, Format: format, Size: size * 1024, VMID: vmid, Ctime: time.Now().Unix()})
	go s.persist()
	return volid, nil
}

// allocSizeKiB is Content.pm create's size: KiB, or M/G.
func allocSizeKiB(v string) (int64, error) {
	unit := int64(1)
	num := v
	switch {
	case len(v) > 1 && v[len(v)-1] == 'M':
		unit, num = 1024, v[:len(v)-1]
	case len(v) > 1 && v[len(v)-1] == 'G':
		unit, num = 1024*1024, v[:len(v)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || num[0] == '+' {
		return 0, paramErr(map[string]string{"size": fmt.Sprintf("unable to parse size '%s'", v)})
	}
	return n * unit, nil
}
