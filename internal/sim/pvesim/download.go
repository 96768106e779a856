//go:build linux

package pvesim

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// Downloads (download-url, aplinfo) and uploads. The simulated node reaches
// only loopback hosts: anything else fails the way wget fails on a host
// without internet access, so tests never touch the network.

// sumWriter hashes a stream with every checksum-algorithm PVE accepts.
type sumWriter struct {
	hs   map[string]hash.Hash
	size int64
}

func newSumWriter() *sumWriter {
	return &sumWriter{hs: map[string]hash.Hash{"md5": md5.New(), "sha1": sha1.New(), "sha224": sha256.New224(),
		"sha256": sha256.New(), "sha384": sha512.New384(), "sha512": sha512.New()}}
}

func (w *sumWriter) Write(p []byte) (int, error) {
	for _, h := range w.hs {
		h.Write(p)
	}
	w.size += int64(len(p))
	return len(p), nil
}

func (w *sumWriter) sums() map[string]string {
	out := map[string]string{}
	for k, h := range w.hs {
		out[k] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

// upload is a file pveproxy received into /var/tmp/pveupload-* (kept in
// the host's temp dir at path).
type upload struct {
	path string
	size int64
	sums map[string]string
}

func (u *upload) remove() { _ = os.Remove(u.path) }

var uploads sync.Map // tmpfilename -> *upload

func takeUpload(tmp string) *upload {
	v, ok := uploads.LoadAndDelete(tmp)
	if !ok {
		return nil
	}
	return v.(*upload)
}

func isMultipart(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "multipart/form-data"
}

// readUpload is pveproxy's multipart handling: form fields become
// parameters, the file part is streamed to a temporary file whose name is
// passed as tmpfilename, its client-side name as filename.
// On error it still returns what it read, so the caller drops the file.
func readUpload(r *http.Request) (pveschema.Values, error) {
	out := pveschema.Values{}
	for k, v := range r.URL.Query() {
		out[k] = v
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, err
		}
		if p.FileName() == "" {
			b, err := io.ReadAll(io.LimitReader(p, 1<<20))
			if err != nil {
				return out, err
			}
			out[p.FormName()] = append(out[p.FormName()], string(b))
			continue
		}
		f, err := os.CreateTemp("", "pveupload-")
		if err != nil {
			return out, err
		}
		w := newSumWriter()
		_, err = io.Copy(io.MultiWriter(w, f), p)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
			return out, err
		}
		tmp := "/var/tmp/pveupload-" + randomHex(16)
		if old, ok := uploads.Swap(tmp, &upload{path: f.Name(), size: w.size, sums: w.sums()}); ok {
			old.(*upload).remove()
		}
		out["filename"] = []string{p.FileName()}
		out["tmpfilename"] = []string{tmp}
	}
	return out, nil
}

// dropUpload removes a temporary upload file the handler did not take.
func dropUpload(params pveschema.Values) {
	if tmp := params.Get("tmpfilename"); tmp != "" {
		if u := takeUpload(tmp); u != nil {
			u.remove()
		}
	}
}

type downloadOpts struct {
	url, algo, sum string
	verify         bool
}

// downloadStart runs first in a download worker: PVE prints the
// "downloading" line as soon as the worker starts, before the transfer.
func downloadStart(o downloadOpts, dest string, check func() error) func(t *Task) error {
	return func(t *Task) error {
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		t.Logf("downloading %s to %s", o.url, dest)
		return nil
	}
}

// downloadVolume is the rest of PVE::Tools::download_file_from_url into
// dest on the volume's node: the file appears once complete and verified.
func (s *Server) downloadVolume(ctx context.Context, t *Task, dest string, vol *Volume, o downloadOpts) error {
	s.mu.Lock()
	exists := s.volumeAt(vol.Node, vol.VolID) != nil
	s.mu.Unlock()
	if exists {
		if o.algo == "" {
			return fmt.Errorf("refusing to override existing file '%s'", dest)
		}
		got, err := s.nodeFileSum(vol.Node, dest, o.algo)
		if err != nil {
			return err
		}
		if strings.EqualFold(got, o.sum) {
			t.Logf("calculating checksum of existing file...OK, got correct file already, no need to download")
			return nil
		}
		t.Logf("calculating checksum of existing file...")
		return fmt.Errorf("checksum mismatch: got '%s' != expect '%s', aborting", got, o.sum)
	}
	body, err := fetch(ctx, o)
	if err != nil {
		return fmt.Errorf("download failed: %s", err)
	}
	defer body.Close()
	w := newSumWriter()
	verify := func() error {
		if o.algo == "" {
			return nil
		}
		if got := w.sums()[o.algo]; !strings.EqualFold(got, o.sum) {
			t.Logf("calculating checksum...")
			return fmt.Errorf("checksum mismatch: got '%s' != expect '%s'", got, o.sum)
		}
		t.Logf("calculating checksum...OK, checksum verified")
		return nil
	}
	_, err = s.writeNodeFile(vol.Node, dest, io.TeeReader(body, w), "tmp_dwnl", verify)
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("got interrupted by signal")
		}
		if strings.HasPrefix(err.Error(), "checksum mismatch") {
			return err
		}
		return fmt.Errorf("download failed: %s", err)
	}
	t.Logf("download of '%s' to '%s' finished", o.url, dest)
	return nil
}

// nodeFileSum is get_file_hash of a node file.
func (s *Server) nodeFileSum(node, p, algo string) (string, error) {
	root, err := s.openNodeRoot(node)
	if err != nil {
		return "", err
	}
	defer root.Close()
	f, err := root.Open(relPath(p))
	if err != nil {
		return "", err
	}
	defer f.Close()
	w := newSumWriter()
	if _, err := io.Copy(w, f); err != nil {
		return "", err
	}
	return w.sums()[algo], nil
}

// fetch GETs o.url like wget would and returns the body; errors are
// wget's last stderr line.
func fetch(ctx context.Context, o downloadOpts) (io.ReadCloser, error) {
	u, err := url.Parse(o.url)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("%s: Invalid host name.", o.url)
	}
	if !loopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("wget: unable to resolve host address '%s'", u.Hostname())
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: !o.verify}} //nolint:gosec // verify-certificates=0
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.url, nil)
	if err != nil {
		return nil, err
	}
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		tr.CloseIdleConnections()
		if ctx.Err() != nil {
			return nil, errors.New("got interrupted by signal")
		}
		return nil, fmt.Errorf("Connecting to %s... failed: %v.", u.Host, err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("%s ERROR %s.", time.Now().Format("2006-01-02 15:04:05"), res.Status)
	}
	return closeBoth{res.Body, tr}, nil
}

type closeBoth struct {
	io.ReadCloser
	tr *http.Transport
}

func (c closeBoth) Close() error {
	err := c.ReadCloser.Close()
	c.tr.CloseIdleConnections()
	return err
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Appliances (pveam): GET/POST /nodes/{node}/aplinfo.

const aplSource = "http://download.proxmox.com/images"

// appliances is a small excerpt of the system section of Proxmox's PVE 9
// appliance index, as PVE::APLInfo parses it. The simulator has no template
// bytes, so the records carry no md5sum/sha512sum.
var appliances = []map[string]string{
	aplRecord("debian-12-standard", "12.7-1", "debian-12", "system/debian-12-standard_12.7-1_amd64.tar.zst",
		"Debian 12 Bookworm (standard)", "A small Debian Bookworm system including all standard packages."),
	aplRecord("ubuntu-24.04-standard", "24.04-2", "ubuntu-24.04", "system/ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
		"Ubuntu 24.04 Noble (standard)", "A small Ubuntu 24.04 Noble Numbat system including all standard packages."),
	aplRecord("alpine-3.20-default", "20240908", "alpine", "system/alpine-3.20-default_20240908_amd64.tar.xz",
		"Alpine Linux 3.20 (default)", "A small Alpine Linux 3.20 system with the default packages."),
}

func aplRecord(pkg, version, os, location, headline, desc string) map[string]string {
	return map[string]string{"package": pkg, "version": version, "type": "lxc", "os": os, "section": "system",
		"architecture": "amd64", "maintainer": "Proxmox Support Team <support@proxmox.com>",
		"infopage": "https://pve.proxmox.com/wiki/Linux_Container#pct_supported_distributions",
		"location": aplSource + "/" + location, "source": aplSource, "template": location[len("system/"):],
		"headline": headline, "description": desc}
}

func (s *Server) aplinfoList(r *request) (any, error) {
	out := make([]map[string]string, 0, len(appliances))
	for _, a := range appliances {
		out = append(out, copyMap(a))
	}
	// PVE returns the values of a hash: no particular order.
	sort.Slice(out, func(i, j int) bool { return out[i]["template"] < out[j]["template"] })
	return out, nil
}

// aplinfoDownload is Nodes.pm apl_download.
func (s *Server) aplinfoDownload(r *request) (any, error) {
	var apl map[string]string
	for _, a := range appliances {
		if a["template"] == r.str("template") {
			apl = a
		}
	}
	if apl == nil {
		return nil, paramErr(map[string]string{"template": "no such template"})
	}
	node := r.vars["node"]
	s.mu.Lock()
	defer s.mu.Unlock()
	stor := s.st.storage(r.str("storage"))
	if stor == nil {
		return nil, die("storage '%s' does not exist", r.str("storage"))
	}
	if !storageContent(stor, "vztmpl") {
		return nil, die("storage '%s' does not support templates", stor.ID)
	}
	tmpl := apl["template"]
	format, _ := contentTarget("vztmpl", tmpl, "")
	vol := &Volume{VolID: stor.ID + ":vztmpl/" + tmpl, Node: node, Content: "vztmpl", Format: format}
	dest := volumePath(stor, "", parsedVol{vtype: "vztmpl", name: tmpl})
	o := downloadOpts{url: apl["location"], verify: true}
	return s.tasks.start(taskSpec{Node: node, Type: "download", ID: tmpl, User: r.user, Prepare: downloadStart(o, dest, nil),
		Work: func(ctx context.Context, t *Task) error { return s.downloadVolume(ctx, t, dest, vol, o) }}).UPID, nil
}

// queryURLMetadata is GET /nodes/{node}/query-url-metadata (Nodes.pm):
// a HEAD request, the file name from Content-Disposition or the URL, size
// and MIME type from the headers. The node reaches loopback hosts only; any
// other host fails as LWP fails without a resolver.
func (s *Server) queryURLMetadata(r *request) (any, error) {
	raw := r.str("url")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, die("invalid server response: '500 URL must be absolute'")
	}
	host := u.Host
	if u.Port() == "" {
		host += map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
	}
	if !loopbackHost(u.Hostname()) {
		return nil, die("invalid server response: '500 Can't connect to %s (Temporary failure in name resolution)'", host)
	}
	verify := !r.has("verify-certificates") || r.boolean("verify-certificates")
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: !verify}} //nolint:gosec // verify-certificates=0
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(r.http.Context(), http.MethodHead, raw, nil)
	if err != nil {
		return nil, die("invalid server response: '500 %s'", err)
	}
	req.Header.Set("User-Agent", "Proxmox VE")
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		msg := "Connection refused"
		if errors.Is(err, context.Canceled) {
			msg = "interrupted"
		} else if strings.Contains(err.Error(), "certificate") {
			msg = "SSL connect attempt failed error:0A000086:SSL routines::certificate verify failed"
		}
		return nil, die("invalid server response: '500 Can't connect to %s (%s)'", host, msg)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, die("invalid server response: '%s'", res.Status)
	}
	out := map[string]any{}
	filename := ""
	if d := res.Header.Get("Content-Disposition"); d != "" {
		if m := regexp.MustCompile(`filename="([^"]*)"`).FindStringSubmatch(d); m != nil {
			filename = m[1]
		} else if m := regexp.MustCompile(`filename=([^;]*)`).FindStringSubmatch(d); m != nil {
			filename = m[1]
		}
	}
	if filename == "" {
		if m := regexp.MustCompile(`^[^?]+/([^?/]*)(?:\?.*)?$`).FindStringSubmatch(raw); m != nil {
			filename = m[1]
		}
	}
	if filename != "" {
		out["filename"] = filename
	}
	if n, err := strconv.ParseInt(res.Header.Get("Content-Length"), 10, 64); err == nil && n != 0 {
		out["size"] = n
	}
	if t := res.Header.Get("Content-Type"); t != "" {
		t, _, _ = strings.Cut(t, ";")
		out["mimetype"] = t
	}
	return out, nil
}
