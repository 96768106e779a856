//go:build linux

package provider

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"golang.org/x/crypto/ssh"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// Secrets: with every secret the provider takes set (API token, root's
// password, SSH password and private key, a VM's cloud-init password), a
// full TF_LOG=TRACE log of apply, plan and destroy, the guests' context
// files and environment, the PVE descriptions and the diagnostics of a
// failed login hold none of them.

// secretsEverywhere is a configuration with every secret set: the API
// token (which the provider uses), root's password, SSH password and key, a
// VM's cloud-init password; a container and a VM whose feature copies its
// context and environment.
func secretsEverywhere(sim *testSim, token, key, ciPassword string) string {
	_, port, _ := strings.Cut(sim.srv.SSHAddr(""), ":")
	capture := `{ name = "capture", content = "#!/bin/bash\ncp \"$PHOENIX_GUEST_JSON\" /ctx.json\nenv > /env.txt\n" }`
	return fmt.Sprintf(`
terraform {
  required_providers {
    phoenix = { source = "registry.terraform.io/phoenix-hypervisor/phoenix" }
  }
}

provider "phoenix" {
  endpoint       = %q
  api_token      = %q
  username       = "root@pam"
  password       = %q
  ca_certificate = %q
  node           = "pve"
  ssh {
    username    = "root"
    password    = %q
    private_key = %q
    port        = %s
    host_key    = %q
  }
}

resource "phoenix_guest" "ct" {
  spec = {
    vmid = 560, kind = "lxc", name = "ct", cores = 1, memory_mb = 256, disk_size_gb = 2, storage = "local-lvm"
    os_template = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    network = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
    extra_json = jsonencode({ config_puts_it_here = "visible-on-purpose" })
    features = [%s]
  }
}

resource "phoenix_guest" "vm" {
  spec = {
    vmid = 8560, kind = "vm", name = "vm", cores = 1, memory_mb = 512, storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "dhcp" }
    cloud_init = { username = "ops", password = %q }
    features = [%s]
  }
}
`, sim.srv.Endpoint(), token, sim.srv.Password(), sim.srv.CACertFile(), sim.srv.SSHPassword(), key, port, sim.srv.SSHHostKey(),
		capture, ciPassword, capture)
}

func TestAccSecurity_secretsStayOut(t *testing.T) {
	sim := startVMSim(t)
	token := sim.adminToken(t, "ops@pve")
	_, tokenSecret, _ := strings.Cut(token, "=")
	key := string(sim.srv.SSHPrivateKey())
	keyLines := strings.Split(strings.TrimSpace(key), "\n")
	const ciPassword = "ci-pass-7f3a91c2"
	secrets := map[string]string{
		"API token secret": tokenSecret, "root password": sim.srv.Password(), "SSH password": sim.srv.SSHPassword(),
		"SSH private key": keyLines[len(keyLines)/2], "cloud-init password": ciPassword,
	}
	mainTF := secretsEverywhere(sim, token, key, ciPassword)
	work := t.TempDir()
	tf := newTFRunner(t, work, mainTF)
	logFile := filepath.Join(work, "trace.log")
	tf.env = append(tf.env, "TF_LOG=TRACE", "TF_LOG_PATH="+logFile)
	out := tf.must("apply", "-auto-approve", "-input=false", "-no-color")
	out += tf.must("plan", "-input=false", "-no-color")

	seen := map[string]string{
		"the CLI output":              out,
		"CT 560's context file":       sim.guestFile(t, 560, "ctx.json"),
		"CT 560's script environment": sim.guestFile(t, 560, "env.txt"),
		"VM 8560's context file":      sim.guestFile(t, 8560, "ctx.json"),
		"VM 8560's environment":       sim.guestFile(t, 8560, "env.txt"),
		"CT 560's description":        sim.config(t, 560)["description"],
		"VM 8560's description":       sim.config(t, 8560)["description"],
	}
	if !strings.Contains(seen["CT 560's context file"], "visible-on-purpose") {
		t.Fatalf("the context file must hold what the config puts there:\n%s", seen["CT 560's context file"])
	}
	seen["VM 8560's cloud-init user-data"] = string(snippet(t, sim, 8560))
	if h := sim.config(t, 8560)["cipassword"]; h != "**********" {
		t.Errorf("PVE's config must show the cloud-init password masked, shows %q", h)
	}
	if !strings.Contains(seen["VM 8560's cloud-init user-data"], "$6$") {
		t.Errorf("the user-data must carry the password as a SHA-512 crypt hash:\n%s", seen["VM 8560's cloud-init user-data"])
	}
	// A failed login's diagnostics: a wrong root password.
	bad := strings.Replace(mainTF, fmt.Sprintf("api_token      = %q\n", token), "", 1)
	bad = strings.Replace(bad, fmt.Sprintf("password       = %q", sim.srv.Password()), `password       = "wrong-pw-5b1e"`, 1)
	secrets["wrong password"] = "wrong-pw-5b1e"
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, failed := tf.run("apply", "-auto-approve", "-input=false", "-no-color", "-refresh=true")
	if code == 0 || !strings.Contains(failed, "PVE refused the password of root@pam") {
		t.Fatalf("a wrong password must fail the refresh clearly (exit %d):\n%s", code, failed)
	}
	seen["a failed login's diagnostics"] = failed
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(mainTF), 0o644); err != nil {
		t.Fatal(err)
	}
	seen["the destroy output"] = tf.must("destroy", "-auto-approve", "-input=false", "-no-color")

	assertNoSecrets(t, logFile, seen, secrets)
}

// assertNoSecrets checks the trace log and every text seen for secrets.
func assertNoSecrets(t *testing.T, logFile string, seen, secrets map[string]string) {
	t.Helper()
	trace, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(trace), "[TRACE]") || len(trace) < 100_000 {
		t.Fatalf("the trace log is not a full TRACE log (%d bytes)", len(trace))
	}
	seen["the TF_LOG=TRACE log"] = string(trace)
	for where, text := range seen {
		for what, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the %s", where, what)
			}
		}
	}
	t.Logf("TRACE log of apply, plan, a failed apply and destroy: %d bytes, none of %d secrets", len(trace), len(secrets))
}

// snippet reads VM id's generated cloud-init user-data on the node.
func snippet(t *testing.T, sim *testSim, id int) []byte {
	t.Helper()
	b, err := sim.srv.ReadNodeFile("pve", fmt.Sprintf("/var/lib/vz/snippets/phoenix-%d-user.yaml", id), 0)
	if err != nil || len(b) == 0 {
		t.Fatalf("VM %d's user-data snippet: %v", id, err)
	}
	return b
}

// TLS and SSH host keys are verified unless the configuration opts out, and
// an opt-out is warned about once per run.
func TestAccSecurity_verificationByDefault(t *testing.T) {
	sim := startRealSim(t)
	_, port, _ := strings.Cut(sim.srv.SSHAddr(""), ":")
	home := t.TempDir()
	provider := func(tls, ssh string) string {
		return fmt.Sprintf(`
terraform {
  required_providers {
    phoenix = { source = "registry.terraform.io/phoenix-hypervisor/phoenix" }
  }
}

provider "phoenix" {
  endpoint = %q
  username = %q
  password = %q
  node     = "pve"
  %s
  ssh {
    username = "root"
    password = %q
    port     = %s
    %s
  }
}
`, sim.srv.Endpoint(), sim.srv.Username(), sim.srv.Password(), tls, sim.srv.SSHPassword(), port, ssh)
	}
	guest := strings.Replace(sshFaultCT(feature("f1", f1)), fmt.Sprint(sshFaultID), "540", 1)
	work := t.TempDir()
	tf := newTFRunner(t, work, provider("", fmt.Sprintf("host_key = %q", sim.srv.SSHHostKey()))+guest)
	tf.env = append(tf.env, "HOME="+home)
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// No CA given: PVE's self-signed certificate is refused.
	if code, out := tf.run("apply", "-auto-approve", "-input=false", "-no-color"); code == 0 || !msgRe("certificate signed by unknown authority").MatchString(out) {
		t.Fatalf("an unverified certificate must be refused (exit %d):\n%s", code, out)
	}
	// No host key and no known_hosts: refused with the settings to set.
	write(provider(fmt.Sprintf("ca_certificate = %q", sim.srv.CACertFile()), "") + guest)
	if code, out := tf.run("apply", "-auto-approve", "-input=false", "-no-color"); code == 0 ||
		!msgRe("set ssh.known_hosts or ssh.host_key, or opt out with ssh.insecure_ignore_host_key").MatchString(out) {
		t.Fatalf("SSH without a trusted host key must be refused (exit %d):\n%s", code, out)
	}
	// A known_hosts file without the node's key: refused, with the fingerprint to check.
	knownHosts := filepath.Join(home, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte("[127.0.0.1]:1 "+otherHostKey(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	write(provider(fmt.Sprintf("ca_certificate = %q", sim.srv.CACertFile()), fmt.Sprintf("known_hosts = %q", knownHosts)) + guest)
	// (taint_on_failure = false: the guest is kept and the refusal is the
	// provisioning error the next apply resumes from.)
	if _, out := tf.run("apply", "-auto-approve", "-input=false", "-no-color"); !msgRe(sim.srv.SSHHostKeyFingerprint()).MatchString(out) ||
		!msgRe("is not in known_hosts, so it is refused").MatchString(out) || sim.guestFile(t, 540, "order.log") != "" {
		t.Fatalf("an unknown host key must be refused with its fingerprint, and nothing run:\n%s", out)
	}
	// Opting out of both works, and each opt-out is warned about once.
	write(provider("insecure = true", "insecure_ignore_host_key = true") + guest)
	out := tf.must("apply", "-auto-approve", "-input=false", "-no-color")
	for _, w := range []string{"Warning: TLS certificate verification is off", "Warning: SSH host key verification is off"} {
		if n := strings.Count(out, w); n != 1 {
			t.Errorf("%q shown %d times in one apply, want once:\n%s", w, n, out)
		}
	}
	tf.must("destroy", "-auto-approve", "-input=false", "-no-color")
	// Verified again: no warning.
	write(provider(fmt.Sprintf("ca_certificate = %q", sim.srv.CACertFile()), fmt.Sprintf("host_key = %q", sim.srv.SSHHostKey())) + guest)
	if out := tf.must("plan", "-input=false", "-no-color"); strings.Contains(out, "verification is off") {
		t.Errorf("a verified configuration must not warn:\n%s", out)
	}
}

// otherHostKey is a fresh ed25519 public key in known_hosts form.
func otherHostKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(ssh.MarshalAuthorizedKey(key))
}

// payload holds what a shell would act on: ';', $(...), backticks, quotes,
// redirections and a newline. Anything it made a shell run would leave a
// /pwned-* file behind.
const payload = "a;touch /pwned-semi $(touch /pwned-sub) `touch /pwned-tick` 'q' \"dq\" > /pwned-redir\nsecond line & | $HOME"

// No shell injection: context values and keys, a script path's name and the
// scripts' arguments and environment reach containers (pct exec over SSH,
// the node shell), the node (host scripts) and VMs (the guest agent) as
// data, byte for byte; nothing in them runs.
func TestAccSecurity_noShellInjection(t *testing.T) {
	sim := startVMSim(t)
	dir := t.TempDir()
	scriptPath := filepath.Join(dir, "feat;$(touch pwned) `id` 'x'.sh")
	script := "#!/bin/bash\nprintf '%s\\n' \"$@\" > /args.txt\nenv > /env.txt\ncp \"$PHOENIX_GUEST_JSON\" /ctx.json\n"
	if err := os.WriteFile(scriptPath, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	hostScript := "#!/bin/bash\nprintf '%s\\n' \"$@\" > /tmp/host-args.txt\ncp \"$PHOENIX_GUEST_JSON\" /tmp/host-ctx.json\n"
	extra := fmt.Sprintf(`jsonencode({ %q = %q, nested = { v = %q, list = [%q] } })`, "k;$(touch /pwned-key)", payload, payload, payload)
	cfg := sim.realProvider() + fmt.Sprintf(`
resource "phoenix_guest" "ct" {
  spec = {
    vmid = 570, kind = "lxc", name = "inject", cores = 1, memory_mb = 256, disk_size_gb = 2, storage = "local-lvm"
    os_template = %q
    network = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
    extra_json = %s
    features = [{ name = "feat", path = %q }, { name = "onhost", content = %q, host = true }]
  }
}

resource "phoenix_guest" "vm" {
  spec = {
    vmid = 8570, kind = "vm", name = "inject-vm", cores = 1, memory_mb = 512, storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "dhcp" }
    extra_json = %s
    features = [{ name = "feat", path = %q }]
  }
}
`, pvesim.DefaultCTTemplate, extra, scriptPath, hostScript, extra, scriptPath)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(570, 8570),
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: func(*terraform.State) error {
				nodeRoot, err := sim.srv.NodeRoot("pve")
				if err != nil {
					return err
				}
				for _, root := range []string{sim.srv.GuestRoot(570), sim.srv.GuestRoot(8570), nodeRoot} {
					if pwned := findPwned(root); len(pwned) > 0 {
						return fmt.Errorf("a shell ran part of the input: %v", pwned)
					}
				}
				contexts := map[string]string{
					"CT 570 (pct exec)":      sim.guestFile(t, 570, "ctx.json"),
					"VM 8570 (guest agent)":  sim.guestFile(t, 8570, "ctx.json"),
					"the node (host script)": readFile(filepath.Join(nodeRoot, "tmp", "host-ctx.json")),
				}
				for where, text := range contexts {
					var ctx map[string]any
					if err := json.Unmarshal([]byte(text), &ctx); err != nil {
						return fmt.Errorf("%s: the context is not JSON: %v\n%s", where, err, text)
					}
					nested, _ := ctx["nested"].(map[string]any)
					list, _ := nested["list"].([]any)
					if ctx["k;$(touch /pwned-key)"] != payload || nested["v"] != payload || len(list) != 1 || list[0] != payload {
						return fmt.Errorf("%s: the context does not hold the payload as data:\n%s", where, text)
					}
				}
				for id, want := range map[int]string{570: "570\n", 8570: "8570\n"} {
					if got := sim.guestFile(t, id, "args.txt"); got != want {
						return fmt.Errorf("guest %d: the script's arguments are %q, want %q", id, got, want)
					}
					if env := sim.guestFile(t, id, "env.txt"); !strings.Contains(env, "PHOENIX_GUEST_ID="+strings.TrimSpace(want)) {
						return fmt.Errorf("guest %d: the script's environment lacks its ID:\n%s", id, env)
					}
				}
				if got := readFile(filepath.Join(nodeRoot, "tmp", "host-args.txt")); got != "570\n" {
					return fmt.Errorf("the host script's arguments are %q, want the CTID", got)
				}
				return nil
			},
		}},
	})
}

// findPwned lists files named pwned* anywhere below root.
func findPwned(root string) []string {
	var out []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "pwned") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
