package nodeshell

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
)

// qm disk import / qm importdisk (qemu-server's CLI/qm.pm importdisk).

func qmImportSpec(prefix string) *cmdSpec {
	return spec(prefix, []string{"vmid", "source", "storage"}, nil, nil, []string{"format", "target-disk"}, true)
}

var driveNameRE = regexp.MustCompile(`^((ide|sata|scsi|virtio)\d+|efidisk0|tpmstate0)$`)

func qmImportDisk(c *call, p *parsedArgs, prefix string) int {
	spec := qmImportSpec(prefix)
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, spec)
	}
	if f, ok := p.opts["format"]; ok && f != "raw" && f != "qcow2" && f != "vmdk" {
		return paramErr(map[string]string{"format": fmt.Sprintf("value '%s' does not have a value in the enumeration 'raw, qcow2, vmdk'", f)}).print(c.stderr, spec)
	}
	sc, ok := c.storageCluster(spec)
	if !ok {
		return exitDie
	}
	if _, ok := c.guest(id, "qemu"); !ok {
		return exitDie
	}
	target := p.opts["target-disk"]
	if !driveNameRE.MatchString(target) {
		target = "" // do_import does not take unusedN
	}
	source := p.pos["source"]
	size, err := c.imageSize(source)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: non-existent or non-regular file\n", source)
		return exitDie
	}
	fmt.Fprintf(c.stdout, "importing disk '%s' to VM %d ...\n", source, id)
	abs := source
	if !path.IsAbs(abs) {
		abs = path.Join(c.cwd, abs)
	}
	drive, volid, err := sc.ImportDisk(c.ctx, c.node, id, ImportDiskRequest{Source: abs, Size: size, Storage: p.pos["storage"],
		Format: p.opts["format"], TargetDisk: target, Warn: c.stderr})
	if err != nil {
		return printErr(c.stderr, spec, err)
	}
	fmt.Fprintf(c.stdout, "transferred 0.0 B of %s (0.00%%)\n", renderBytes(size))
	fmt.Fprintf(c.stdout, "transferred %s of %s (100.00%%)\n", renderBytes(size), renderBytes(size))
	fmt.Fprintf(c.stdout, "%s: successfully imported disk '%s'\n", drive, volid)
	return 0
}

// imageSize is file_size_info's virtual size of a node file: a qcow2
// image's from its header, any other file's length.
func (c *call) imageSize(p string) (int64, error) {
	root, err := c.nodeRoot()
	if err != nil {
		return 0, err
	}
	defer root.Close()
	f, err := root.Open(c.nodeRel(p))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0, os.ErrInvalid
	}
	var hdr [32]byte
	if n, _ := io.ReadFull(f, hdr[:]); n == len(hdr) && string(hdr[:4]) == "QFI\xfb" {
		return int64(binary.BigEndian.Uint64(hdr[24:32])), nil
	}
	return fi.Size(), nil
}

// renderBytes is PVE::Format::render_bytes with precision 1.
func renderBytes(v int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f, u := float64(v), 0
	for f > 1023 && u < len(units)-1 {
		f /= 1024
		u++
	}
	return fmt.Sprintf("%.1f %s", f, units[u])
}
