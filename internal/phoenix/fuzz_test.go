package phoenix

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary bytes as the LXC file: ingestion must never panic,
// and whatever the JSON reader accepts, encoding/json must accept too.
func FuzzParse(f *testing.F) {
	f.Add([]byte(lxcFile(`"950":` + ct(``))))
	f.Add([]byte(`{"lxc_configs":{"950":{"name":"a\u00e9\ud83d\ude00","dependencies":["950"],"clone_from_ctid":"950"}}}`))
	f.Add([]byte(`{"lxc_configs":{"1":[],"x":{"network_config":{"ip":"::1/128","gw":"1.2.3.4"}}}}`))
	if dir := filepath.Join("..", "..", "..", "shared", "phoenix", "seed-layout"); true {
		if data, err := os.ReadFile(filepath.Join(dir, LXCFileName)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(Input{Hypervisor: []byte(`{}`), LXC: data})
		if _, perr := parseJSON(data); perr == nil && !json.Valid(data) {
			t.Fatalf("reader accepted invalid JSON %q", data)
		} else if perr != nil && json.Valid(data) && utf8.Valid(data) {
			// encoding/json replaces invalid UTF-8; the reader reports it instead.
			t.Fatalf("reader rejected valid JSON %q: %v", data, perr)
		}
		_ = err
	})
}
