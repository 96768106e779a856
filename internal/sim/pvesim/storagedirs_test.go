//go:build linux

package pvesim_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// PUT /storage/{storage} as pve-storage's API2/Storage/Config.pm update.
func TestStorageUpdate(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	get := func(id string) map[string]any {
		t.Helper()
		r := e.raw("GET", "/storage/"+id, nil)
		if r.status != 200 {
			t.Fatalf("GET /storage/%s: %d %v", id, r.status, r.body)
		}
		return r.body["data"].(map[string]any)
	}
	before := get("local")
	if before["content"] != "iso,vztmpl,backup,import" || before["path"] != "/var/lib/vz" {
		t.Fatalf("fresh local = %v", before)
	}
	// Every entry carries the digest of the whole storage.cfg.
	if lvm := get("local-lvm"); lvm["digest"] != before["digest"] || lvm["vgname"] != "pve" {
		t.Fatalf("local-lvm = %v, local digest %v", lvm, before["digest"])
	}

	r := e.raw("PUT", "/storage/local", url.Values{"content": {"iso,vztmpl,backup,import,snippets"}, "digest": {before["digest"].(string)}})
	if r.status != 200 {
		t.Fatalf("PUT: %d %v", r.status, r.body)
	}
	if d := r.body["data"].(map[string]any); d["storage"] != "local" || d["type"] != "dir" || len(d) != 2 {
		t.Fatalf("PUT returned %v", d)
	}
	after := get("local")
	if after["content"] != "iso,vztmpl,backup,import,snippets" || after["digest"] == before["digest"] {
		t.Fatalf("after PUT: %v", after)
	}

	fail := "update storage failed: "
	e.expectErr(e.raw("PUT", "/storage/local", url.Values{"content": {"iso"}, "digest": {before["digest"].(string)}}), 500,
		fail+"detected modified configuration - file changed by other user? Try again.")
	e.expectErr(e.raw("PUT", "/storage/nope", url.Values{"content": {"iso"}}), 500, fail+"storage 'nope' does not exist")
	e.expectErr(e.raw("PUT", "/storage/local", url.Values{"sparse": {"1"}}), 500, fail+"unexpected property 'sparse'")
	e.expectErr(e.raw("PUT", "/storage/local", url.Values{"delete": {"path"}}), 500, fail+"unable to delete required option 'path'")
	e.expectErr(e.raw("PUT", "/storage/local", url.Values{"delete": {"snapshot-as-volume-chain"}}), 500, fail+"unable to delete fixed option 'snapshot-as-volume-chain'")
	e.expectErr(e.raw("PUT", "/storage/local", url.Values{"delete": {"sparse"}}), 500, fail+"no such option 'sparse'")
	e.expectErr(e.raw("PUT", "/storage/local", url.Values{"delete": {"content"}, "content": {"iso"}}), 500,
		fail+"cannot set and delete property 'content' at the same time!")
	e.expectErr(e.raw("PUT", "/storage/local", url.Values{"content": {"none,iso"}}), 500, fail+"unable to combine 'none' with other content types")
	// lvmthin knows images and rootdir only; others are dropped, and none is no choice there
	e.expectErr(e.raw("PUT", "/storage/local-lvm", url.Values{"content": {"iso"}}), 500, fail+"storage does not support content type 'none'")
	e.expectErr(e.raw("PUT", "/storage/local", url.Values{"snapshot-as-volume-chain": {"1"}}), 500, fail+"can't change value of fixed parameter 'snapshot-as-volume-chain'")
	r = e.raw("PUT", "/storage/local-lvm", url.Values{"content": {"rootdir,iso"}, "disable": {"1"}})
	if r.status != 200 {
		t.Fatalf("PUT local-lvm: %d %v", r.status, r.body)
	}
	if lvm := get("local-lvm"); lvm["content"] != "rootdir" || lvm["disable"] != float64(1) {
		t.Fatalf("local-lvm after PUT: %v", lvm)
	}
	st := e.raw("GET", "/nodes/pve/storage/local-lvm/status", nil).body["data"].(map[string]any)
	if st["enabled"] != float64(0) || st["active"] != float64(0) {
		t.Fatalf("disabled storage status %v", st)
	}
	// deleting content falls back to the plugin's default, as parse_config does
	if r = e.raw("PUT", "/storage/local", url.Values{"delete": {"content"}}); r.status != 200 {
		t.Fatalf("delete content: %d %v", r.status, r.body)
	}
	if got := get("local")["content"]; got != "images,rootdir" {
		t.Fatalf("content after delete = %v", got)
	}
}

// A dir storage is a real directory of the node's root filesystem: what a
// session writes over SSH is content of the storage, and what the API
// uploads is a file on the node.
func TestStorageDirectoriesAreTheNodesFiles(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	c := e.sshClient()
	if r := e.raw("PUT", "/storage/local", url.Values{"content": {"iso,vztmpl,backup,import,snippets"}}); r.status != 200 {
		t.Fatalf("enable snippets: %d %v", r.status, r.body)
	}
	e.mustRun(c, `printf '#cloud-config\n' > /var/lib/vz/snippets/user.yaml && printf qcow > /var/lib/vz/import/disk.qcow2 && echo x > /var/lib/vz/import/notes.txt`, "")
	content := func(ct string) []map[string]any {
		t.Helper()
		r := e.raw("GET", "/nodes/pve/storage/local/content", url.Values{"content": {ct}})
		var out []map[string]any
		for _, v := range r.body["data"].([]any) {
			out = append(out, v.(map[string]any))
		}
		return out
	}
	sn := content("snippets")
	if len(sn) != 1 || sn[0]["volid"] != "local:snippets/user.yaml" || sn[0]["format"] != "snippet" || sn[0]["size"] != float64(14) ||
		sn[0]["content"] != "snippets" || sn[0]["ctime"] == nil {
		t.Fatalf("snippets = %v", sn)
	}
	// import lists only the image extensions PVE knows (notes.txt is not a volume)
	imp := content("import")
	var names []string
	for _, v := range imp {
		names = append(names, v["volid"].(string)+"="+v["format"].(string))
	}
	if strings.Join(names, " ") != "local:import/disk.qcow2=qcow2 "+pvesim.DefaultCloudImage+"=qcow2" {
		t.Fatalf("import = %v", names)
	}
	// the seeded template is a (sparse) file of its size on the node
	r := e.mustRun(c, "stat -c %s /var/lib/vz/template/cache/"+strings.TrimPrefix(pvesim.DefaultCTTemplate, "local:vztmpl/"), "")
	if r.code != 0 || r.stdout != "125829120\n" {
		t.Fatalf("seeded template on disk: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// an uploaded ISO is a file of the node
	e.wait(e.storage("local").UploadString("iso", "tiny.iso", "iso bytes"))
	if r := e.mustRun(c, "cat /var/lib/vz/template/iso/tiny.iso", ""); r.code != 0 || r.stdout != "iso bytes" {
		t.Fatalf("uploaded file over SSH: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// deleting the volume unlinks the file; an ISO removed over SSH is gone from the API
	r2 := e.raw("DELETE", "/nodes/pve/storage/local/content/local:snippets/user.yaml", nil)
	if st := e.waitUPID(r2.body["data"].(string)); st != "OK" {
		t.Fatalf("delete snippet: %s", st)
	}
	if r := e.mustRun(c, "test -e /var/lib/vz/snippets/user.yaml", ""); r.code != 1 {
		t.Fatalf("snippet still on disk: %d", r.code)
	}
	e.mustRun(c, "rm /var/lib/vz/template/iso/tiny.iso", "")
	e.expectErr(e.raw("GET", "/nodes/pve/storage/local/content/local:iso/tiny.iso", nil), 500,
		"volume_size_info on 'local:iso/tiny.iso' failed - no format")
}

// VolumePath and ReadNodeFile resolve and read volumes as PVE::Storage::path
// and file_get_contents do (for cloud-init cicustom snippets).
func TestVolumePathAndReadNodeFile(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	if r := e.raw("PUT", "/storage/local", url.Values{"content": {"iso,snippets"}}); r.status != 200 {
		t.Fatalf("enable snippets: %d %v", r.status, r.body)
	}
	p, vtype, err := e.srv.VolumePath("local:snippets/user.yaml")
	if err != nil || p != "/var/lib/vz/snippets/user.yaml" || vtype != "snippets" {
		t.Fatalf("VolumePath = %q %q %v", p, vtype, err)
	}
	if _, err := e.srv.ReadNodeFile("pve", p, 0); err == nil || err.Error() != "can't open '/var/lib/vz/snippets/user.yaml' - No such file or directory" {
		t.Fatalf("missing file: %v", err)
	}
	for volid, want := range map[string]string{
		"user.yaml":              "unable to parse volume ID 'user.yaml'",
		"nope:snippets/x":        "storage 'nope' does not exist",
		"local:snippets/a/b":     "unable to parse directory volume name 'snippets/a/b'",
		"local-lvm:snippets/x.y": "unable to parse lvm volume name 'snippets/x.y'",
	} {
		if _, _, err := e.srv.VolumePath(volid); err == nil || err.Error() != want {
			t.Errorf("VolumePath(%q) err = %v, want %q", volid, err, want)
		}
	}
	// uploaded content is readable through the node's root
	e.wait(e.storage("local").UploadString("iso", "seed.iso", strings.Repeat("x", 2048)))
	p, _, _ = e.srv.VolumePath("local:iso/seed.iso")
	if data, err := e.srv.ReadNodeFile("pve", p, 0); err != nil || len(data) != 2048 {
		t.Fatalf("ReadNodeFile = %d bytes, %v", len(data), err)
	}
	if _, err := e.srv.ReadNodeFile("pve", p, 1024); err == nil || err.Error() != "file '"+p+"' too long - aborting" {
		t.Fatalf("limit: %v", err)
	}
}
