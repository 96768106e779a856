package pveschema

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// schemaFile is the official schema, outside the repository (../shared
// relative to the repo root).
var schemaFile = filepath.Join("..", "..", "..", "..", "shared", "pve-api", "pve-api-9.1.json")

func needSchema(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(schemaFile); err != nil {
		t.Skipf("official schema %s not present (%v); the generated table is checked where ../shared exists", schemaFile, err)
	}
	return schemaFile
}

func TestGeneratedUpToDate(t *testing.T) {
	src, err := GenerateSource(needSchema(t), ServedPaths)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("zz_generated_endpoints.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, have) {
		t.Fatal("zz_generated_endpoints.go is stale: run go generate ./internal/sim/pveschema")
	}
}

func TestGeneratedCoversServedPaths(t *testing.T) {
	tmpl := map[string]bool{}
	for _, p := range Templates() {
		tmpl[p] = true
	}
	for _, p := range ServedPaths {
		if !tmpl[p] {
			t.Errorf("served path %s missing from the generated table", p)
		}
	}
	if len(tmpl) != len(ServedPaths) {
		t.Errorf("generated table has %d paths, ServedPaths %d", len(tmpl), len(ServedPaths))
	}
	for _, m := range []string{"GET", "POST", "PUT"} {
		if _, ok := Lookup(m, "/nodes/{node}/qemu/{vmid}/config"); !ok {
			t.Errorf("qemu config %s missing", m)
		}
	}
	if e, ok := Lookup("put", "/nodes/{node}/lxc/{vmid}/config"); !ok || e.Method != "PUT" {
		t.Errorf("lookup is not case-insensitive in the method: %v %v", e, ok)
	}
}

// The whole official schema converts, and the full schema agrees with the
// generated table on what it shares.
func TestLoadSchemaFile(t *testing.T) {
	s, err := LoadSchemaFile(needSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Templates()); n < 400 {
		t.Fatalf("only %d paths loaded", n)
	}
	full, ok := s.Lookup("PUT", "/nodes/{node}/lxc/{vmid}/config")
	if !ok {
		t.Fatal("lxc config missing from the full schema")
	}
	got := full.Validate(vals("net32", "name=eth0", "cores", "x"))
	gen, _ := Lookup("PUT", "/nodes/{node}/lxc/{vmid}/config")
	want := gen.Validate(vals("net32", "name=eth0", "cores", "x"))
	if len(got) != 2 || got["net32"] != want["net32"] || got["cores"] != want["cores"] {
		t.Fatalf("full schema validation %#v differs from generated %#v", got, want)
	}
}

// Where the schema states an index range ("(n is 0 to 30)") it agrees with
// the table taken from the sources.
func TestIndexRangesMatchSchemaText(t *testing.T) {
	s, err := LoadSchemaFile(needSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\(n is 0 to (\d+)\)`)
	checked := 0
	for _, e := range s.Endpoints() {
		for name, p := range e.Params {
			m := re.FindStringSubmatch(p.Description)
			if !p.Indexed || m == nil {
				continue
			}
			checked++
			if want, _ := strconv.Atoi(m[1]); p.IndexMax != want {
				t.Errorf("%s %s %s: IndexMax %d, schema text says %d", e.Method, e.Path, name, p.IndexMax, want)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no indexed parameter states its range")
	}
}
