//go:build linux

package pvesim_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// A phoenix container template named by an absolute path outside every
// storage is a file on each node; pct create takes such a path from
// root@pam only (check_volume_access), and the API refuses it to others.
func TestAbsoluteTemplateSeedAndRootOnly(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "..", "examples", "estate", "phoenix", "etc")
	for _, f := range []string{"phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.ReplaceAll(string(b), "/tank/templates/template/cache/debian-12", "/opt/phoenix/templates/debian-12"))
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, pvesim.Options{PhoenixConfigDir: dir})
	root, err := e.srv.NodeRoot("pve")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := "/opt/phoenix/templates/debian-12-standard_12.7-1_amd64.tar.zst"
	if fi, err := os.Stat(filepath.Join(root, tmpl)); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("seeded template file: %v", err)
	}
	params := url.Values{"vmid": {"990"}, "ostemplate": {tmpl}, "storage": {"local-lvm"}}
	e.expectErr(e.raw("POST", "/nodes/pve/lxc", params), 500, "Only root can pass arbitrary filesystem paths.")
}
