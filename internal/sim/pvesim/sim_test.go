//go:build linux

package pvesim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// simCall drives the /_sim/ control surface over HTTP.
func simCall(t *testing.T, e *env, method, path, body string) map[string]any {
	t.Helper()
	base := strings.TrimSuffix(e.srv.Endpoint(), "/api2/json")
	req, _ := http.NewRequest(method, base+"/_sim"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "PVEAPIToken="+e.srv.APIToken())
	res, err := e.c2http().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("%s %s: %s %s", method, path, res.Status, data)
	}
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return out
}

func TestSimHTTPControl(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	simCall(t, e, "DELETE", "/stats", "")
	simCall(t, e, "POST", "/faults", `{"method":"GET","path":"/version","status":503,"message":"service unavailable","count":1}`)
	e.expectErr(e.raw("GET", "/version", nil), 503, "service unavailable")
	e.raw("GET", "/version", nil)
	stats := simCall(t, e, "GET", "/stats", "")["data"].(map[string]any)
	if stats["counters"].(map[string]any)["GET /version"] != float64(2) {
		t.Fatalf("stats %v", stats)
	}
	simCall(t, e, "POST", "/locks", `{"kind":"qemu","vmid":100,"seconds":1}`)
	e.srv.Faults().Clear()
	reqs := simCall(t, e, "GET", "/requests", "")["data"].([]any)
	if len(reqs) != 2 || reqs[0].(map[string]any)["status"] != float64(503) {
		t.Fatalf("request log %v", reqs)
	}
}
