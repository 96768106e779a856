//go:build linux

package pvesim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Storage content as pve-storage's API2/Storage/{Content,Status}.pm serves
// it: volume info and delete, upload and download-url.

var (
	// parse_volume_id (Plugin.pm).
	volumeIDRE = regexp.MustCompile(`(?i)^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$`)
	// ISO_EXT_RE_0, VZTMPL_EXT_RE_1, BACKUP_EXT_RE_2, IMPORT_EXT_RE_1 and
	// UPLOAD_IMPORT_EXT_RE_1 of PVE::Storage, anchored as their users do.
	isoNameRE       = regexp.MustCompile(`(?i)^[^/]+\.(?:iso|img)$`)
	vztmplNameRE    = regexp.MustCompile(`(?i)^[^/]+\.(tar|tar\.(gz|xz|zst|bz2))$`)
	backupNameRE    = regexp.MustCompile(`^[^/]+\.(tgz|(?:(?:tar|vma)(?:\.(?:gz|lzo|zst|bz2|xz))?))$`)
	importNameRE    = regexp.MustCompile(`^[a-zA-Z0-9\-.+=_ ]+\.(ova|ovf|qcow2|raw|vmdk)$`)
	uploadImportRE  = regexp.MustCompile(`^[a-zA-Z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)$`)
	dirImageRE      = regexp.MustCompile(`^(\d+)/(\S+)$`)
	dirLinkedRE     = regexp.MustCompile(`^(\d+)/(\S+)/(\d+)/(\S+)$`)
	dirImageNameRE  = regexp.MustCompile(`^((base-)?[^/\s]+\.(raw|qcow2|vmdk|subvol))$`)
	lvmVolnameRE    = regexp.MustCompile(`^((vm|base)-(\d+)-\S+)$`)
	zfsVolnameRE    = regexp.MustCompile(`^(((base|basevol)-(\d+)-\S+)/)?((base|basevol|vm|subvol)-(\d+)-\S+)$`)
	unsafeFilenameC = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)
	allocExtRE      = regexp.MustCompile(`\.(raw|qcow2|vmdk)$`)
)

// vtypeSubdirs is Plugin.pm's $vtype_subdirs.
var vtypeSubdirs = map[string]string{"images": "images", "rootdir": "private", "iso": "template/iso",
	"vztmpl": "template/cache", "backup": "dump", "snippets": "snippets", "import": "import"}

// parsedVol is what a storage plugin's parse_volname returns.
type parsedVol struct {
	vtype, name string
	vmid        int
	format      string
}

// parseVolname is the storage plugin's parse_volname for sid's type.
func parseVolname(stor *Storage, volname string) (parsedVol, error) {
	switch stor.Type {
	case "lvmthin":
		if m := lvmVolnameRE.FindStringSubmatch(volname); m != nil {
			id, _ := strconv.Atoi(m[3])
			return parsedVol{"images", m[1], id, "raw"}, nil
		}
		return parsedVol{}, die("unable to parse lvm volume name '%s'", volname)
	case "zfspool":
		if m := zfsVolnameRE.FindStringSubmatch(volname); m != nil {
			id, _ := strconv.Atoi(m[7])
			format := "raw"
			if m[6] == "subvol" || m[6] == "basevol" {
				return parsedVol{"rootdir", m[5], id, "subvol"}, nil
			}
			return parsedVol{"images", m[5], id, format}, nil
		}
		return parsedVol{}, die("unable to parse zfs volume name '%s'", volname)
	}
	// dir (and every other file based plugin)
	image := func(vmid, name string) (parsedVol, error) {
		m := dirImageNameRE.FindStringSubmatch(name)
		if m == nil {
			return parsedVol{}, die("unable to parse volume filename '%s'", name)
		}
		id, _ := strconv.Atoi(vmid)
		return parsedVol{"images", name, id, m[3]}, nil
	}
	if m := dirLinkedRE.FindStringSubmatch(volname); m != nil {
		if _, err := image(m[1], m[2]); err != nil {
			return parsedVol{}, err
		}
		return image(m[3], m[4])
	}
	if m := dirImageRE.FindStringSubmatch(volname); m != nil {
		return image(m[1], m[2])
	}
	dir, name, _ := strings.Cut(volname, "/")
	switch {
	case dir == "iso" && isoNameRE.MatchString(name):
		return parsedVol{"iso", name, 0, "raw"}, nil
	case dir == "vztmpl" && vztmplNameRE.MatchString(name):
		return parsedVol{"vztmpl", name, 0, "raw"}, nil
	case dir == "backup" && backupNameRE.MatchString(name):
		return parsedVol{"backup", name, volumeOwner(name), "raw"}, nil
	case dir == "snippets" && name != "" && !strings.Contains(name, "/"):
		return parsedVol{"snippets", name, 0, "raw"}, nil
	case dir == "import" && importNameRE.MatchString(name):
		return parsedVol{"import", name, 0, importNameRE.FindStringSubmatch(name)[1]}, nil
	}
	return parsedVol{}, die("unable to parse directory volume name '%s'", volname)
}

// volumePath is PVE::Storage::path for a parsed volume.
func volumePath(stor *Storage, volname string, pv parsedVol) string {
	switch stor.Type {
	case "lvmthin":
		return "/dev/pve/" + pv.name
	case "zfspool":
		if pv.format == "subvol" {
			return "/" + stor.Pool + "/" + pv.name
		}
		return "/dev/zvol/" + stor.Pool + "/" + pv.name
	}
	if pv.vtype == "images" {
		return fmt.Sprintf("%s/images/%d/%s", stor.Path, pv.vmid, pv.name)
	}
	return stor.Path + "/" + vtypeSubdirs[pv.vtype] + "/" + pv.name
}

// realVolumeID is Content.pm's $real_volume_id: a full volume ID or a
// volume name relative to the path's storage.
func realVolumeID(storeid, volume string) (volid, sid, volname string, err error) {
	if strings.Contains(volume, ":") {
		m := volumeIDRE.FindStringSubmatch(volume)
		if m == nil {
			return "", "", "", paramErr(map[string]string{"volume": fmt.Sprintf("unable to parse volume ID '%s'\n", volume)})
		}
		if storeid != "" && m[1] != storeid {
			return "", "", "", paramErr(map[string]string{"volume": fmt.Sprintf("storage ID mismatch (%s != %s)\n", m[1], storeid)})
		}
		return volume, m[1], m[2], nil
	}
	if storeid == "" {
		return "", "", "", paramErr(map[string]string{"volume": "no storage specified - incomplete volume ID"})
	}
	return storeid + ":" + volume, storeid, volume, nil
}

// resolveVolume runs real_volume_id, storage_config and parse_volname
// (caller holds s.mu).
func (s *Server) resolveVolume(r *request) (volid string, stor *Storage, pv parsedVol, err error) {
	volid, sid, volname, err := realVolumeID(r.vars["storage"], r.vars["volume"])
	if err != nil {
		return "", nil, pv, err
	}
	if stor = s.st.storage(sid); stor == nil {
		return "", nil, pv, die("storage '%s' does not exist", sid)
	}
	pv, err = parseVolname(stor, volname)
	return volid, stor, pv, err
}

// volumeListTypes is volume_list's content types, in its order.
var volumeListTypes = []string{"rootdir", "images", "vztmpl", "iso", "backup", "snippets", "import"}

// storageContent is GET .../content (Content.pm index, PVE::Storage
// volume_list): the storage's configured content types only; guest images
// from the state, everything else from the files of its directories.
func (s *Server) storageContent(r *request) (any, error) {
	node := r.vars["node"]
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.storageByID(r)
	if err != nil {
		return nil, err
	}
	cts := volumeListTypes
	if r.has("content") {
		cts = []string{r.str("content")}
	}
	var root *os.Root
	if st.Path != "" {
		if root, err = s.openNodeRoot(node); err != nil {
			return nil, err
		}
		defer root.Close()
		if err := activateStorage(root, st); err != nil {
			return nil, err
		}
	}
	hasVMID, vmid := r.has("vmid"), r.integer("vmid")
	var vols []*Volume
	for _, ct := range cts {
		if !storageContent(st, ct) {
			continue
		}
		if ct == "images" || ct == "rootdir" { // list_images
			for _, v := range s.st.Volumes {
				if v.Node == node && strings.HasPrefix(v.VolID, st.ID+":") && v.Content == ct && (!hasVMID || v.VMID == vmid) {
					vols = append(vols, v)
				}
			}
			continue
		}
		if root == nil || hasVMID && (ct == "iso" || ct == "vztmpl") {
			continue
		}
		files, err := listFiles(root, st, node, ct)
		if err != nil {
			return nil, err
		}
		for _, v := range files {
			if ct == "backup" && hasVMID && !strings.Contains(v.VolID, fmt.Sprintf("-%d-", vmid)) {
				continue
			}
			vols = append(vols, v)
		}
	}
	sort.Slice(vols, func(i, j int) bool { return strings.ToLower(vols[i].VolID) < strings.ToLower(vols[j].VolID) })
	out := []map[string]any{}
	for _, v := range vols {
		out = append(out, volumeEntry(v))
	}
	return out, nil
}

func volumeEntry(v *Volume) map[string]any {
	e := map[string]any{"volid": v.VolID, "content": v.Content, "format": v.Format, "size": v.Size, "ctime": v.Ctime}
	if v.VMID != 0 {
		e["vmid"] = v.VMID
	}
	switch v.Content {
	case "images", "rootdir":
		e["used"] = v.Size / 4
	case "backup": // archive_info
		e["subtype"] = "unknown"
		_, name, _ := strings.Cut(v.VolID, ":backup/")
		if m := backupInfoRE.FindStringSubmatch(name); m != nil {
			e["subtype"] = m[1]
			t := time.Date(atoi(m[3]), time.Month(atoi(m[4])), atoi(m[5]), atoi(m[6]), atoi(m[7]), atoi(m[8]), 0, time.Local)
			e["ctime"] = t.Unix()
		}
	}
	return e
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// storageVolume is GET .../content/{volume} (Content.pm info).
func (s *Server) storageVolume(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	volid, stor, pv, err := s.resolveVolume(r)
	if err != nil {
		return nil, err
	}
	v := s.volumeAt(r.vars["node"], volid)
	if v == nil {
		// file_size_info warns "failed to stat" and returns nothing.
		return nil, die("volume_size_info on '%s' failed - no format", volid)
	}
	format, used := v.Format, v.Size
	switch {
	case pv.vtype == "images" || pv.vtype == "rootdir":
		used = v.Size / 4
	default:
		format = pv.format // qemu-img info is asked for the parsed format (raw)
	}
	return map[string]any{"path": volumePath(stor, pv.name, pv), "size": v.Size, "used": used, "format": format}, nil
}

// storageVolumeDelete is DELETE .../content/{volume} (Content.pm delete).
func (s *Server) storageVolumeDelete(r *request) (any, error) {
	s.mu.Lock()
	volid, stor, pv, err := s.resolveVolume(r)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	node := r.vars["node"]
	id := stor.ID
	if pv.vmid != 0 {
		id = fmt.Sprintf("%d@%s", pv.vmid, stor.ID)
	}
	t := s.tasks.start(taskSpec{Node: node, Type: "imgdel", ID: id, User: r.user,
		Work: func(ctx context.Context, t *Task) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			if err := s.freeVolume(t, node, volid, stor, pv); err != nil {
				return err
			}
			t.Logf("Removed volume '%s'", volid)
			return nil
		}})
	if !r.has("delay") {
		return t.UPID, nil
	}
	select {
	case <-t.Done():
		if st := t.ExitStatus(); st != "OK" {
			return nil, die("%s", st)
		}
		return nil, nil
	case <-time.After(time.Duration(r.integer("delay")) * time.Second):
		return t.UPID, nil
	}
}

// freeVolume is vdisk_free / Plugin free_image (caller holds s.mu): a
// guest image leaves the state, a file is unlinked and its directory
// removed when it became empty.
func (s *Server) freeVolume(t *Task, node, volid string, stor *Storage, pv parsedVol) error {
	p := volumePath(stor, pv.name, pv)
	if stor.Path == "" || !fileContent[pv.vtype] {
		if s.st.volume(node, volid) == nil {
			t.Logf("disk image '%s' does not exist", p)
		}
		s.st.deleteVolume(node, volid)
		return nil
	}
	root, err := s.openNodeRoot(node)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.Remove(relPath(p)); errors.Is(err, fs.ErrNotExist) {
		t.Logf("disk image '%s' does not exist", p)
		return nil
	} else if err != nil {
		return fmt.Errorf("unlink '%s' failed - %s", p, strerror(err))
	}
	_ = root.Remove(relPath(path.Dir(p))) // rmdir: only when empty
	return nil
}

// normalizeContentFilename is PVE::Storage::normalize_content_filename.
func normalizeContentFilename(name string) string {
	name = strings.TrimSuffix(name, "\n")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return unsafeFilenameC.ReplaceAllString(name, "_")
}

// contentTarget checks a filename against its content type as upload and
// download-url do and returns the new volume's directory and list format.
func contentTarget(content, filename, badContent string) (format string, err error) {
	switch content {
	case "iso":
		if !isoNameRE.MatchString(filename) {
			return "", paramErr(map[string]string{"filename": "wrong file extension"})
		}
		return "iso", nil
	case "vztmpl":
		m := vztmplNameRE.FindStringSubmatch(filename)
		if m == nil {
			return "", paramErr(map[string]string{"filename": "wrong file extension"})
		}
		if m[2] == "" {
			return "tar", nil
		}
		return "t" + strings.ToLower(m[2]), nil
	case "import":
		m := uploadImportRE.FindStringSubmatch(filename)
		if m == nil {
			return "", paramErr(map[string]string{"filename": "invalid filename or wrong extension"})
		}
		return m[1], nil
	}
	return "", paramErr(map[string]string{"content": badContent})
}

// fileStorage is storage_check_enabled plus the "has a path" test of upload
// and download-url (caller holds s.mu).
func (s *Server) fileStorage(r *request, noPath string) (*Storage, error) {
	stor := s.st.storage(r.vars["storage"])
	if stor == nil {
		return nil, die("storage '%s' does not exist", r.vars["storage"])
	}
	if stor.Path == "" {
		return nil, die(noPath, stor.Type)
	}
	return stor, nil
}

// storageUpload is POST .../upload (Status.pm upload); pveproxy has already
// received the file part (see readUpload).
func (s *Server) storageUpload(r *request) (any, error) {
	node, content := r.vars["node"], r.str("content")
	s.mu.Lock()
	defer s.mu.Unlock()
	stor, err := s.fileStorage(r, "can't upload to storage type '%s'")
	if err != nil {
		return nil, err
	}
	tmp := r.str("tmpfilename")
	if tmp == "" {
		return nil, die("missing temporary file name")
	}
	up := takeUpload(tmp)
	if up == nil {
		return nil, die("temporary file '%s' does not exist", tmp)
	}
	filename := normalizeContentFilename(r.str("filename"))
	if _, err := contentTarget(content, filename, fmt.Sprintf("upload content type '%s' not allowed", content)); err != nil {
		up.remove()
		return nil, err
	}
	if !storageContent(stor, content) {
		up.remove()
		return nil, die("storage '%s' does not support '%s' content", stor.ID, content)
	}
	if err := s.activateOn(node, stor); err != nil {
		up.remove()
		return nil, err
	}
	dest := volumePath(stor, "", parsedVol{vtype: content, name: filename})
	sum, algo := r.str("checksum"), r.str("checksum-algorithm")
	return s.tasks.start(taskSpec{Node: node, Type: "imgcopy", User: r.user, Work: func(ctx context.Context, t *Task) error {
		defer up.remove()
		t.Logf("starting file import from: %s", tmp)
		if algo != "" {
			if got := up.sums[algo]; !strings.EqualFold(got, sum) {
				t.Logf("calculating checksum...")
				return fmt.Errorf("checksum mismatch: got '%s' != expect '%s'", got, sum)
			}
			t.Logf("calculating checksum...OK, checksum verified")
		}
		t.Logf("target node: %s", node)
		t.Logf("target file: %s", dest)
		t.Logf("file size is: %d", up.size)
		t.Logf("command: cp -- %s %s", tmp, dest)
		f, err := os.Open(up.path)
		if err != nil {
			return err
		}
		defer f.Close()
		// NOTE (Status.pm): an existing destination file is overwritten.
		if _, err := s.writeNodeFile(node, dest, f, "tmp_upload", nil); err != nil {
			return fmt.Errorf("import failed: %s", err)
		}
		t.Logf("finished file import successfully")
		return nil
	}}).UPID, nil
}

// activateOn activates stor on node (caller holds s.mu).
func (s *Server) activateOn(node string, stor *Storage) error {
	root, err := s.openNodeRoot(node)
	if err != nil {
		return err
	}
	defer root.Close()
	return activateStorage(root, stor)
}

// writeNodeFile writes node path p from src through a temporary file
// beside it (p.<tmpTag>.<pid>, as wget leaves them) that is renamed into
// place once check (optional) accepts it, so readers never see half a
// volume; it returns the size.
func (s *Server) writeNodeFile(node, p string, src io.Reader, tmpTag string, check func() error) (int64, error) {
	root, err := s.openNodeRoot(node)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	if err := root.MkdirAll(relPath(path.Dir(p)), 0o755); err != nil {
		return 0, err
	}
	tmp := fmt.Sprintf("%s.%s.%d", relPath(p), tmpTag, os.Getpid())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && check != nil {
		err = check()
	}
	if err == nil {
		err = root.Rename(tmp, relPath(p))
	}
	if err != nil {
		_ = root.Remove(tmp)
		return 0, err
	}
	return n, nil
}

// storageDownloadURL is POST .../download-url (Status.pm download_url).
func (s *Server) storageDownloadURL(r *request) (any, error) {
	node, content := r.vars["node"], r.str("content")
	s.mu.Lock()
	defer s.mu.Unlock()
	stor, err := s.fileStorage(r, "can't upload to storage type '%s', not a file based storage!")
	if err != nil {
		return nil, err
	}
	if !storageContent(stor, content) {
		return nil, die("storage '%s' is not configured for content-type '%s'", stor.ID, content)
	}
	filename := normalizeContentFilename(r.str("filename"))
	format, err := contentTarget(content, filename, fmt.Sprintf("upload content-type '%s' is not allowed", content))
	if err != nil {
		return nil, err
	}
	opts := downloadOpts{url: r.str("url"), verify: !r.has("verify-certificates") || r.boolean("verify-certificates")}
	if algo := r.str("checksum-algorithm"); algo != "" {
		opts.algo, opts.sum = algo, r.str("checksum")
	}
	compression := r.str("compression")
	id := filename // encode_text leaves a normalized name as it is
	vol := &Volume{VolID: stor.ID + ":" + content + "/" + filename, Node: node, Content: content, Format: format}
	dest := volumePath(stor, "", parsedVol{vtype: content, name: filename})
	check := func() error {
		if compression != "" && content != "iso" {
			return fmt.Errorf("decompression not supported for %s", content)
		}
		return nil
	}
	return s.tasks.start(taskSpec{Node: node, Type: "download", ID: id, User: r.user, Prepare: downloadStart(opts, dest, check),
		Work: func(ctx context.Context, t *Task) error { return s.downloadVolume(ctx, t, dest, vol, opts) }}).UPID, nil
}
