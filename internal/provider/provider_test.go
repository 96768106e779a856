package provider

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
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
