//go:build linux

package pvesim_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// Regressions found by running go-proxmox's own integration tests
// (scripts/goproxmox-integration.sh) against the simulator.

func (e *env) storage(name string) *proxmox.Storage {
	e.t.Helper()
	s, err := e.node().Storage(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// taskLog returns a finished task's log lines.
func (e *env) taskLog(task *proxmox.Task) []string {
	e.t.Helper()
	log, err := task.Log(e.ctx, 0, 50)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]string, len(log))
	for i := range log {
		out[i] = log[i]
	}
	return out
}

func TestStorageStatusUnknownStorage(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	// read_status raises a parameter exception, not storage_config's die.
	_, err := e.node().Storage(e.ctx, "doesnt-exist")
	if err == nil || !strings.Contains(err.Error(), "No such storage.") {
		t.Fatalf("err = %v", err)
	}
	r := e.raw("GET", "/nodes/pve/storage/doesnt-exist/status", nil)
	e.expectErr(r, 400, "Parameter verification failed.")
	if errs, _ := r.body["errors"].(map[string]any); errs["storage"] != "No such storage." {
		t.Fatalf("errors = %v", r.body["errors"])
	}
	// diridx is a fixed list that does not look the storage up.
	r = e.raw("GET", "/nodes/pve/storage/doesnt-exist", nil)
	if data, _ := r.body["data"].([]any); r.status != 200 || len(data) != 11 {
		t.Fatalf("diridx: %d %v", r.status, r.body)
	}
}

func TestStorageVolumeInfo(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	local := e.storage("local")
	for name, want := range map[string]string{
		"doesnt-exist": "unable to parse directory volume name 'iso/doesnt-exist'",
		"missing.iso":  "volume_size_info on 'local:iso/missing.iso' failed - no format",
	} {
		if _, err := local.ISO(e.ctx, name); err == nil || !strings.Contains(err.Error(), "500 "+want) {
			t.Errorf("ISO(%q) err = %v, want %q", name, err, want)
		}
	}
	if _, err := local.VzTmpl(e.ctx, "doesnt-exist"); err == nil || !strings.Contains(err.Error(), "unable to parse directory volume name 'vztmpl/doesnt-exist'") {
		t.Errorf("VzTmpl err = %v", err)
	}
	iso, err := local.ISO(e.ctx, strings.TrimPrefix(pvesim.DefaultISO, "local:iso/"))
	if err != nil {
		t.Fatal(err)
	}
	if iso.Path != "/var/lib/vz/template/iso/debian-12.7.0-amd64-netinst.iso" || iso.Format != "raw" || iso.Size == 0 {
		t.Fatalf("iso = %+v", iso)
	}
	// The volume ID after content/ may hold slashes (fragmentDelimiter '').
	r := e.raw("GET", "/nodes/pve/storage/local-lvm/content/local-lvm:iso/x.iso", nil)
	e.expectErr(r, 500, "unable to parse lvm volume name 'iso/x.iso'")
	r = e.raw("GET", "/nodes/pve/storage/local-lvm/content/local:iso/x.iso", nil)
	e.expectErr(r, 400, "Parameter verification failed.")
}

func TestStorageUploadAndDelete(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	local := e.storage("local")
	body := "not really an iso"
	e.wait(local.UploadString("iso", "up load.iso", body))
	// normalize_content_filename replaces unsafe characters.
	iso, err := local.ISO(e.ctx, "up_load.iso")
	if err != nil {
		t.Fatal(err)
	}
	if uint64(iso.Size) != uint64(len(body)) || !strings.HasSuffix(iso.Path, "/template/iso/up_load.iso") {
		t.Fatalf("iso = %+v", iso)
	}
	content, err := local.GetContent(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range content {
		found = found || (c.Volid == "local:iso/up_load.iso" && c.Format == "iso")
	}
	if !found {
		t.Fatalf("content misses the upload: %+v", content)
	}

	sum := sha256.Sum256([]byte("other"))
	task, err := local.UploadWithHash("iso", writeTemp(t, "c.iso", body), nil, hex.EncodeToString(sum[:]), "sha256")
	e.waitStatus(task, err, "checksum mismatch: got '"+sha256Hex(body)+"' != expect '"+hex.EncodeToString(sum[:])+"'")

	if _, err := local.UploadString("iso", "x.txt", body); err == nil || !strings.Contains(err.Error(), "wrong file extension") {
		t.Fatalf("wrong extension: %v", err)
	}
	if _, err := e.storage("local-lvm").UploadString("iso", "x.iso", body); err == nil || !strings.Contains(err.Error(), "can't upload to storage type 'lvmthin'") {
		t.Fatalf("lvmthin upload: %v", err)
	}

	task, err = iso.Delete(e.ctx)
	e.wait(task, err)
	if task.Type != "imgdel" || task.ID != "local" {
		t.Fatalf("delete task %s", task.UPID)
	}
	if _, err := local.ISO(e.ctx, "up_load.iso"); err == nil || !strings.Contains(err.Error(), "no format") {
		t.Fatalf("after delete: %v", err)
	}
}

func TestStorageDownloadURL(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	payload := strings.Repeat("iso bytes ", 1000)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tiny.iso" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(payload))
	}))
	defer hs.Close()
	local := e.storage("local")

	task, err := local.DownloadURLWithHash(e.ctx, "iso", "tiny.iso", hs.URL+"/tiny.iso", sha256Hex(payload), "sha256")
	e.wait(task, err)
	if log := e.taskLog(task); len(log) == 0 || log[0] != "downloading "+hs.URL+"/tiny.iso to /var/lib/vz/template/iso/tiny.iso" {
		t.Fatalf("log = %q", log)
	}
	iso, err := local.ISO(e.ctx, "tiny.iso")
	if err != nil || uint64(iso.Size) != uint64(len(payload)) {
		t.Fatalf("iso %+v, %v", iso, err)
	}

	task, err = local.DownloadURL(e.ctx, "iso", "tiny.iso", hs.URL+"/tiny.iso")
	e.waitStatus(task, err, "refusing to override existing file '/var/lib/vz/template/iso/tiny.iso'")
	task, err = local.DownloadURL(e.ctx, "iso", "gone.iso", hs.URL+"/gone.iso")
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(e.ctx, 5*time.Millisecond, 10*time.Second); err != nil || !strings.HasSuffix(task.ExitStatus, "ERROR 404 Not Found.") {
		t.Fatalf("404: %v %q", err, task.ExitStatus)
	}
	// The simulated node has no internet: other hosts fail like wget offline.
	task, err = local.DownloadURL(e.ctx, "vztmpl", "a.tar.xz", "http://download.example.invalid/a.tar.xz")
	e.waitStatus(task, err, "download failed: wget: unable to resolve host address 'download.example.invalid'")
	if _, err := local.DownloadURL(e.ctx, "iso", "a.img.gz", hs.URL+"/x"); err == nil || !strings.Contains(err.Error(), "wrong file extension") {
		t.Fatalf("extension: %v", err)
	}
	if _, err := e.storage("local-lvm").DownloadURL(e.ctx, "iso", "a.iso", hs.URL+"/x"); err == nil ||
		!strings.Contains(err.Error(), "can't upload to storage type 'lvmthin', not a file based storage!") {
		t.Fatalf("lvmthin: %v", err)
	}
}

func TestAppliances(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	n := e.node()
	apls, err := n.Appliances(e.ctx)
	if err != nil || len(apls) == 0 {
		t.Fatalf("appliances %v, %v", apls, err)
	}
	for _, a := range apls {
		if a.Type != "lxc" || !strings.HasPrefix(a.Template, a.Package+"_") || a.Source != "http://download.proxmox.com/images" {
			t.Errorf("appliance %+v", a)
		}
	}
	r := e.raw("POST", "/nodes/pve/aplinfo", map[string][]string{"template": {"doesnt-exist"}, "storage": {"local"}})
	e.expectErr(r, 400, "Parameter verification failed.")
	if errs, _ := r.body["errors"].(map[string]any); errs["template"] != "no such template" {
		t.Fatalf("errors = %v", r.body["errors"])
	}
	if _, err := n.DownloadAppliance(e.ctx, apls[0].Template, "local-lvm"); err == nil || !strings.Contains(err.Error(), "storage 'local-lvm' does not support templates") {
		t.Fatalf("local-lvm: %v", err)
	}
	upid, err := n.DownloadAppliance(e.ctx, apls[0].Template, "local")
	if err != nil {
		t.Fatal(err)
	}
	if st := e.waitUPID(upid); st != "download failed: wget: unable to resolve host address 'download.proxmox.com'" {
		t.Fatalf("exit status %q", st)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func writeTemp(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
