package pveschema

import (
	"bytes"
	"os"
	"testing"
)

func TestGeneratedPermissionsUpToDate(t *testing.T) {
	src, err := GeneratePermissionsSource(needSchema(t), PermissionPaths())
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("zz_generated_permissions.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, have) {
		t.Fatal("zz_generated_permissions.go is stale: run go generate ./internal/sim/pveschema")
	}
}

// Every served endpoint has its permissions, as the schema states them.
func TestGeneratedPermissions(t *testing.T) {
	for _, e := range Generated().Endpoints() {
		if _, ok := PermissionOf(e.Method, e.Path); !ok {
			t.Errorf("%s %s has no permissions entry", e.Method, e.Path)
		}
	}
	cases := map[string]string{
		"GET /nodes/{node}/lxc/{vmid}/config":   "[perm, /vms/{vmid}, [VM.Audit]]",
		"POST /nodes/{node}/qemu/{vmid}/config": "[perm, /vms/{vmid}, [VM.Config.Disk, VM.Config.CDROM, VM.Config.CPU, VM.Config.Memory, VM.Config.Network, VM.Config.HWType, VM.Config.Options, VM.Config.Cloudinit], any]",
		"POST /nodes/{node}/lxc/{vmid}/clone":   "[and, [perm, /vms/{vmid}, [VM.Clone]], [or, [perm, /vms/{newid}, [VM.Allocate]], [perm, /pool/{pool}, [VM.Allocate], require_param pool]]]",
		"PUT /nodes/{node}/lxc/{vmid}/resize":   "[perm, /vms/{vmid}, [VM.Config.Disk], any]",
	}
	for k, want := range cases {
		method, path, _ := cut(k)
		p, ok := PermissionOf(method, path)
		if !ok || p == nil || p.Check == nil {
			t.Errorf("%s: %+v %v", k, p, ok)
			continue
		}
		if got := p.Check.String(); got != want {
			t.Errorf("%s:\n got %s\nwant %s", k, got, want)
		}
	}
	for _, k := range []string{"GET /version", "GET /cluster/resources", "POST /nodes/{node}/lxc"} {
		method, path, _ := cut(k)
		if p, _ := PermissionOf(method, path); p == nil || p.User != "all" || p.Check != nil {
			t.Errorf("%s: want user all, got %+v", k, p)
		}
	}
	if p, _ := PermissionOf("POST", "/access/ticket"); p == nil || p.User != "world" {
		t.Errorf("POST /access/ticket: want user world, got %+v", p)
	}
}

func cut(k string) (string, string, bool) {
	i := bytes.IndexByte([]byte(k), ' ')
	return k[:i], k[i+1:], i > 0
}
