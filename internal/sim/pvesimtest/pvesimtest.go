//go:build linux

// Package pvesimtest starts simulators for other packages' tests: with real
// guests (guest roots that run commands) and the SSH node shell, whose pct
// and qm are a static pvesim binary built once per test run.
package pvesimtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/guestroot"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// RequireGuests fails the test, with the fix, when real guests cannot run
// here; PHOENIX_SKIP_GUEST_EXEC=1 is the explicit opt-out (a skip).
func RequireGuests(t testing.TB) {
	t.Helper()
	if os.Getenv("PHOENIX_SKIP_GUEST_EXEC") == "1" {
		t.Skip("PHOENIX_SKIP_GUEST_EXEC=1: real guest execution disabled")
	}
	if err := guestroot.CheckDeps(); err != nil {
		t.Fatalf("%v\nfix: run scripts/install-deps.sh as root (or set PHOENIX_SKIP_GUEST_EXEC=1)", err)
	}
	if err := guestroot.Supported(); err != nil {
		t.Fatalf("%v\nfix: run the tests as root on a kernel with mount/pid/uts/net namespaces (or set PHOENIX_SKIP_GUEST_EXEC=1)", err)
	}
}

var (
	clientOnce sync.Once
	clientPath string
	clientErr  error
)

// ClientBinary builds cmd/pvesim statically once per test binary; inside the
// node sandbox it is pct and qm. The file lives in the OS temp dir.
func ClientBinary(t testing.TB) string {
	t.Helper()
	clientOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		pkg := filepath.Join(filepath.Dir(file), "..", "..", "..", "cmd", "pvesim")
		dir, err := os.MkdirTemp("", "pvesim-client-")
		if err != nil {
			clientErr = err
			return
		}
		clientPath = filepath.Join(dir, "pvesim")
		cmd := exec.Command("go", "build", "-o", clientPath, ".")
		cmd.Dir = pkg
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			clientErr = errors.New(string(out) + err.Error())
		}
	})
	if clientErr != nil {
		t.Fatalf("building the pct/qm client: %v", clientErr)
	}
	return clientPath
}

// Cleanup removes the client binary; call it from TestMain after m.Run.
func Cleanup() {
	if clientPath != "" {
		_ = os.RemoveAll(filepath.Dir(clientPath))
	}
}

// StartReal starts a simulator with real guests and the node shell; it is
// closed when the test ends.
func StartReal(t testing.TB, opts pvesim.Options) *pvesim.Server {
	t.Helper()
	RequireGuests(t)
	opts.RealGuests = true
	if opts.SSHListen == "" {
		opts.SSHListen = "127.0.0.1:0"
	}
	if opts.TaskDuration == 0 {
		opts.TaskDuration = 10 * time.Millisecond
	}
	opts.SSHClientBinary = ClientBinary(t)
	srv, err := pvesim.Start(opts)
	if err != nil {
		t.Fatalf("starting pvesim: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	CheckSchemaAtEnd(t, srv)
	return srv
}

var (
	schemaOnce sync.Once
	fullSchema *pveschema.Schema
	schemaErr  string
)

// SharedDir is ../shared beside the repository, or $PHOENIX_SHARED_DIR.
func SharedDir() string {
	if d := os.Getenv("PHOENIX_SHARED_DIR"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared")
}

// CheckSchema validates every request a test sent against the full official
// PVE 9.1 schema (../shared/pve-api/pve-api-9.1.json): neither the simulator's
// tests nor the provider may drive PVE outside its API. Without the file it
// logs that it skipped.
func CheckSchema(t testing.TB, reqs []pvesim.RequestRecord) {
	t.Helper()
	schemaOnce.Do(func() {
		p := filepath.Join(SharedDir(), "pve-api", "pve-api-9.1.json")
		s, err := pveschema.LoadSchemaFile(p)
		if err != nil {
			schemaErr = "schema check skipped: " + p + ": " + err.Error()
			return
		}
		fullSchema = s
	})
	if fullSchema == nil {
		t.Log(schemaErr)
		return
	}
	for _, r := range reqs {
		ep, ok := fullSchema.Lookup(r.Method, r.Template)
		if !ok {
			t.Errorf("schema: %s %s not in the PVE 9.1 schema", r.Method, r.Template)
			continue
		}
		if r.Status == 400 || r.Status == 401 {
			continue // deliberately invalid or unauthenticated requests of error-case tests
		}
		v := pveschema.Values{}
		for k, vs := range r.Params {
			v[k] = vs
		}
		for k, x := range r.PathVars {
			v[k] = []string{x}
		}
		if errs := ep.Validate(v); len(errs) > 0 {
			t.Errorf("schema: %s %s %v: %v", r.Method, r.Path, r.Params, errs)
		}
	}
}

// CheckSchemaAtEnd registers CheckSchema of everything srv received for when
// the test ends.
func CheckSchemaAtEnd(t testing.TB, srv *pvesim.Server) {
	t.Cleanup(func() { CheckSchema(t, srv.Faults().Requests()) })
}
