//go:build linux

package pvesim_test

import (
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkg/sftp"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// The node's SSH server offers sftp (clients upload snippets with it): files
// land in the node's root filesystem, which the API's storages are.
func TestSFTPUploadsReachTheAPI(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	e.createCT(100)
	c, err := sftp.NewClient(e.sshClient())
	if err != nil {
		t.Fatalf("sftp subsystem: %v", err)
	}
	defer c.Close()
	if wd, err := c.Getwd(); err != nil || wd != "/root" {
		t.Fatalf("start directory %q %v", wd, err)
	}
	if r := e.raw("PUT", "/storage/local", url.Values{"content": {"iso,vztmpl,snippets"}}); r.status != 200 {
		t.Fatalf("enable snippets: %v", r.body)
	}
	put := func(p, body string) {
		t.Helper()
		f, err := c.Create(p)
		if err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
		if _, err := f.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	put("/var/lib/vz/snippets/user-data.yaml", "#cloud-config\npackages: [htop]\n")
	vols := e.raw("GET", "/nodes/pve/storage/local/content", url.Values{"content": {"snippets"}}).body["data"].([]any)
	if len(vols) != 1 || vols[0].(map[string]any)["volid"] != "local:snippets/user-data.yaml" || vols[0].(map[string]any)["size"] != float64(31) {
		t.Fatalf("snippets = %v", vols)
	}
	// an API upload is readable over sftp, and listed with its size
	e.wait(e.storage("local").UploadString("iso", "seed.iso", "seed bytes"))
	f, err := c.Open("/var/lib/vz/template/iso/seed.iso")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(f)
	f.Close()
	if string(data) != "seed bytes" {
		t.Fatalf("read %q", data)
	}
	infos, err := c.ReadDir("/var/lib/vz/template/iso")
	if err != nil || len(infos) != 2 || infos[1].Name() != "seed.iso" || infos[1].Size() != 10 {
		t.Fatalf("readdir %v %v", infos, err)
	}
	// rename and remove are seen by the API
	if err := c.Rename("/var/lib/vz/snippets/user-data.yaml", "/var/lib/vz/snippets/user.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove("/var/lib/vz/template/iso/seed.iso"); err != nil {
		t.Fatal(err)
	}
	r := e.raw("GET", "/nodes/pve/storage/local/content", nil)
	var ids []string
	for _, v := range r.body["data"].([]any) {
		ids = append(ids, v.(map[string]any)["volid"].(string))
	}
	if got := strings.Join(ids, " "); !strings.Contains(got, "local:snippets/user.yaml") || strings.Contains(got, "seed.iso") {
		t.Fatalf("content after rename/remove: %s", got)
	}
	// a conf file written over sftp takes effect like one written by a shell
	conf, err := c.Open("/etc/pve/lxc/100.conf")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(conf)
	conf.Close()
	put("/etc/pve/lxc/100.conf", string(text)+"lxc.apparmor.profile: unconfined\n")
	lxc := e.raw("GET", "/nodes/pve/lxc/100/config", nil).body["data"].(map[string]any)["lxc"]
	if l, _ := lxc.([]any); len(l) != 1 || l[0].([]any)[1] != "unconfined" {
		t.Fatalf("lxc lines after sftp upload: %v", lxc)
	}
	// paths stay in the node's root: ../ climbs no higher than its /
	f, err = c.Open("/../../../etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	host, _ := io.ReadAll(f)
	f.Close()
	root, _ := e.srv.NodeRoot("pve")
	want, _ := os.ReadFile(filepath.Join(root, "etc/hostname"))
	if string(host) != string(want) || string(host) != "pve\n" {
		t.Fatalf("hostname %q, node's %q", host, want)
	}
}
