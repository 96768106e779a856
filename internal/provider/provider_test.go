//go:build linux

package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// testAccProtoV6ProviderFactories runs the provider in-process for acceptance tests.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"phoenix": providerserver.NewProtocol6WithError(New("test")()),
}

// repoRoot is the repository root, found from this file's location.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// sharedDir is ../shared beside the repository (or PHOENIX_SHARED_DIR); tests
// that need it skip and say so when it is absent.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PHOENIX_SHARED_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "phoenix")); err != nil {
		t.Skipf("skipped: the shared reference configs are not at %s (set PHOENIX_SHARED_DIR)", dir)
	}
	return dir
}

func testAccPreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if _, err := os.Stat("/usr/local/bin/terraform"); err != nil {
			t.Log("TF_ACC_TERRAFORM_PATH is not set; terraform-plugin-testing looks for terraform on PATH")
		}
	}
}

func TestResolveConfigEnvironment(t *testing.T) {
	env := map[string]string{
		envEndpoint: "https://pve.example:8006/", envAPIToken: "root@pam!ci=secret", envInsecure: "true",
		envSSHUsername: "admin", envSSHPort: "2222", envNode: "pve2",
	}
	cfg, err := resolveConfig(providerModel{}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err.msg)
	}
	if cfg.Endpoint != env[envEndpoint] || cfg.APIToken != env[envAPIToken] || !cfg.Insecure || cfg.SSH.Username != "admin" || cfg.SSH.Port != 2222 || cfg.Node != "pve2" {
		t.Fatalf("environment not applied: %+v", cfg)
	}
	// Attributes win over the environment.
	cfg, err = resolveConfig(providerModel{Endpoint: types.StringValue("https://other:8006/"), Insecure: types.BoolValue(false)}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err.msg)
	}
	if cfg.Endpoint != "https://other:8006/" || cfg.Insecure {
		t.Fatalf("attributes must win over the environment: %+v", cfg)
	}
}

func TestResolveConfigErrors(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		attr string
	}{
		"bad insecure": {map[string]string{envInsecure: "maybe"}, "insecure"},
		"bad endpoint": {map[string]string{envEndpoint: "pve.example:8006"}, "endpoint"},
		"bad token":    {map[string]string{envAPIToken: "secret-only"}, "api_token"},
		"bad ssh port": {map[string]string{envSSHPort: "70000"}, "ssh"},
		"missing CA":   {map[string]string{envCACertFile: "/nonexistent/ca.pem"}, "ca_certificate"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := resolveConfig(providerModel{}, func(k string) string { return c.env[k] })
			if err == nil || err.attr != c.attr {
				t.Fatalf("want an error on %q, got %+v", c.attr, err)
			}
		})
	}
}

// msgRe matches a message literally, whatever line wrapping Terraform applies.
func msgRe(msg string) *regexp.Regexp {
	return regexp.MustCompile(strings.Join(strings.Fields(regexp.QuoteMeta(msg)), `\s+`))
}

// An attribute known only after apply is an error naming it, never
// silently replaced by its environment variable.
func TestAccProvider_unknownAttribute(t *testing.T) {
	sim := startSim(t)
	t.Setenv(envEndpoint, sim.srv.Endpoint())
	dir := t.TempDir()
	writeFiles(t, dir, idEstate("10.0.0.1", "80", "ops"))
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
resource "terraform_data" "endpoint" { input = %q }
provider "phoenix" {
  endpoint = terraform_data.endpoint.output
  username = %q
  password = %q
}
data "phoenix_config" "x" { config_dir = %q }
`, sim.srv.Endpoint(), sim.srv.Username(), sim.srv.Password(), dir),
			ExpectError: regexp.MustCompile(`(?s)Unable to configure the phoenix provider: unknown PVE API endpoint.*endpoint is unknown until\s+another resource is applied`),
		}},
	})
}

// A failed login is not remembered: the next operation logs in again.
func TestConnectRetriesAfterFailedLogin(t *testing.T) {
	sim := startSim(t)
	sim.srv.Faults().AddFault(pvesim.FaultRule{Method: "POST", Path: "/access/ticket", Status: 500, Message: "pveproxy restarting", Count: 1})
	cfg, cerr := resolveConfig(providerModel{}, func(k string) string {
		return map[string]string{envEndpoint: sim.srv.Endpoint(), envUsername: sim.srv.Username(), envPassword: sim.srv.Password(),
			envCACert: string(sim.srv.CACertPEM())}[k]
	})
	if cerr != nil {
		t.Fatal(cerr.msg)
	}
	ctx := context.Background()
	if _, err := cfg.connect(ctx); err == nil || !strings.Contains(err.Error(), "pveproxy restarting") {
		t.Fatalf("the first login must fail with the simulated error, got %v", err)
	}
	env, err := cfg.connect(ctx)
	if err != nil {
		t.Fatalf("the next operation must log in again, got %v", err)
	}
	if _, _, err := lifecycle.Locate(ctx, env, 100); err != nil {
		t.Fatal(err)
	}
}

// Login honours the operation's context: a cancelled apply does not wait
// for a PVE that does not answer.
func TestConnectHonoursCancellation(t *testing.T) {
	sim := startSim(t)
	sim.srv.Faults().AddFault(pvesim.FaultRule{Method: "POST", Path: "/access/ticket", Latency: 5 * time.Second, Count: 1})
	cfg, _ := resolveConfig(providerModel{}, func(k string) string {
		return map[string]string{envEndpoint: sim.srv.Endpoint(), envUsername: sim.srv.Username(), envPassword: sim.srv.Password(),
			envCACert: string(sim.srv.CACertPEM())}[k]
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := cfg.connect(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the context's error, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("login ignored the context: returned after %v", d)
	}
}
