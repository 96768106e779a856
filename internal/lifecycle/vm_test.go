//go:build linux

package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExample phoenix@example"

// vmEnv starts a simulator with real guests and the node shell, logged in as
// root@pam, with snippets enabled on local (as a phoenix host needs for VM
// cloud-init user-data).
func vmEnv(t *testing.T) (Env, *pvesim.Server) {
	t.Helper()
	return vmEnvFor(t, pvesim.Options{AgentBootDelay: 300 * time.Millisecond})
}

// vmEnvB is vmEnv for benchmarks, with the simulator's default boot delay.
func vmEnvB(b *testing.B) (Env, *pvesim.Server) {
	b.Helper()
	return vmEnvFor(b, pvesim.Options{AgentBootDelay: pvesim.DefaultAgentBootDelay})
}

// vmEnvFor is vmEnv for a simulator started with opts: the shell reaches
// every node, new guests go to the first.
func vmEnvFor(t testing.TB, opts pvesim.Options) (Env, *pvesim.Server) {
	t.Helper()
	srv := pvesimtest.StartReal(t, opts)
	api, err := pve.New(pve.Config{Endpoint: srv.Endpoint(), Username: srv.Username(), Password: srv.Password(), CAPEM: string(srv.CACertPEM())})
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	for _, n := range srv.Nodes() {
		addrs[n] = srv.SSHAddr(n)
	}
	shell, err := pve.NewShell(pve.SSHConfig{Username: srv.SSHUser(), Password: srv.SSHPassword(), NodeAddresses: addrs, HostKey: srv.SSHHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(shell.Close)
	ctx := context.Background()
	if err := api.API().Put(ctx, "/storage/local", map[string]string{"content": "iso,vztmpl,backup,import,snippets"}, nil); err != nil {
		t.Fatal(err)
	}
	return Env{API: api, Shell: shell, Node: srv.Nodes()[0], Log: func(s string) { t.Logf("%s", s) }}, srv
}

func vmGuest(id int, name string) *phoenix.Guest {
	return &phoenix.Guest{Kind: phoenix.KindVM, ID: id, Name: name, Cores: i64(2), MemoryMB: i64(2048), DiskSizeGB: i64(12),
		Storage: "local-lvm", TemplateImage: "noble-server-cloudimg-amd64.img", OSType: "ubuntu",
		Network:   phoenix.Network{Name: "net0", Bridge: "vmbr0", IP: "dhcp"},
		CloudInit: &phoenix.CloudInit{Username: "phoenix_user", SSHAuthorizedKeys: []string{testKey}}}
}

// feature is a provisioning step whose script leaves a marker in the guest.
func feature(name string) provision.Step {
	return provision.Step{Name: name, Kind: provision.KindFeature,
		Content: []byte("#!/bin/bash\nset -e\nmkdir -p /etc/phoenix/markers\necho \"$PHOENIX_GUEST_ID\" > /etc/phoenix/markers/" + name + "\n")}
}

func vmOpts(g *phoenix.Guest, steps ...provision.Step) Options {
	return Options{Started: true, Provision: provision.Spec{GuestID: g.ID, GuestName: g.Name, GuestKind: "vm", Context: []byte("{}"), Steps: steps}}
}

func guestFile(t *testing.T, srv *pvesim.Server, id int, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(srv.GuestRoot(id), p))
	if err != nil {
		return ""
	}
	return string(b)
}

func mustConfig(t *testing.T, env Env, id int) map[string]string {
	t.Helper()
	cfg, err := env.API.Config(context.Background(), pve.Ref{Node: "pve", Kind: pve.QEMU, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Values
}

// A VM from a cloud image: imported disk on virtio-scsi, cloud-init drive,
// serial console, agent, boot order, ostype, grown disk; the user-data
// snippet installs the agent, which then runs the feature scripts; reading
// it back shows no drift.
func TestVMFromCloudImage(t *testing.T) {
	env, srv := vmEnv(t)
	ctx := context.Background()
	g := vmGuest(8000, "ubuntu-2404-cloud-template")
	g.CloudInit.Packages = []string{"curl"}
	out, err := CreateVM(ctx, env, g, vmOpts(g, feature("base_setup")))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Exists || out.Ref.Kind != pve.QEMU || len(out.Records) != 1 || out.Records[0].Status != provision.StatusOK {
		t.Fatalf("outcome %+v", out)
	}
	c := mustConfig(t, env, 8000)
	want := map[string]string{"scsihw": "virtio-scsi-pci", "serial0": "socket", "vga": "serial0", "agent": "enabled=1",
		"boot": "order=scsi0", "ostype": "l26", "ciuser": "phoenix_user", "ipconfig0": "ip=dhcp",
		"cicustom": "user=local:snippets/phoenix-8000-user.yaml", "cores": "2", "memory": "2048", "name": "ubuntu-2404-cloud-template"}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %q, want %q", k, c[k], v)
		}
	}
	if !strings.HasPrefix(c["scsi0"], "local-lvm:vm-8000-disk-0") || !strings.Contains(c["scsi0"], "size=12G") {
		t.Errorf("scsi0 = %q, want the imported disk grown to 12G", c["scsi0"])
	}
	if !strings.Contains(c["ide2"], "cloudinit") || !strings.HasPrefix(c["net0"], "virtio=") || !strings.Contains(c["net0"], "bridge=vmbr0") {
		t.Errorf("ide2 %q net0 %q", c["ide2"], c["net0"])
	}
	for p, w := range map[string]string{
		"etc/hostname":                           "ubuntu-2404-cloud-template\n",
		"home/phoenix_user/.ssh/authorized_keys": testKey,
		"var/lib/dpkg/info/curl.list":            "",
		"usr/sbin/qemu-ga":                       "QEMU Guest Agent",
		"etc/phoenix/markers/base_setup":         "8000",
	} {
		if got := guestFile(t, srv, 8000, p); !strings.Contains(got, w) || got == "" && w == "" && !fileExists(srv, 8000, p) {
			t.Errorf("%s = %q, want %q", p, got, w)
		}
	}
	read := vmGuest(8000, "x")
	read.CloudInit.Packages = []string{"curl"}
	obs, err := Read(ctx, env, 8000, read)
	if err != nil || !obs.Found || obs.Status != "running" {
		t.Fatalf("read %+v %v", obs, err)
	}
	if read.Name != g.Name || *read.DiskSizeGB != 12 || read.Network.IP != "dhcp" || read.Storage != "local-lvm" ||
		read.CloudInit.Username != "phoenix_user" || len(read.CloudInit.SSHAuthorizedKeys) != 1 || read.OSType != "ubuntu" {
		t.Fatalf("observed %+v %+v", read, read.CloudInit)
	}
}

func fileExists(srv *pvesim.Server, id int, p string) bool {
	_, err := os.Stat(filepath.Join(srv.GuestRoot(id), p))
	return err == nil
}

// The template finalises (cloud-init state and machine-id reset, shut down,
// converted); clones of it get their own cloud-init identity and inherit
// its provisioned software; the clone does not keep the template's snippet.
func TestVMTemplateAndClone(t *testing.T) {
	env, srv := vmEnv(t)
	ctx := context.Background()
	tmpl := vmGuest(8000, "tmpl")
	tmpl.IsTemplate = true
	out, err := CreateVM(ctx, env, tmpl, vmOpts(tmpl, feature("base_setup")))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Template {
		t.Fatal("outcome does not say the VM became a template")
	}
	c := mustConfig(t, env, 8000)
	if c["template"] != "1" || !strings.Contains(c["scsi0"], "base-8000-disk-0") {
		t.Fatalf("template config %v", c)
	}
	if fileExists(srv, 8000, "var/lib/cloud/instance") || guestFile(t, srv, 8000, "etc/machine-id") != "" {
		t.Fatal("the template keeps its cloud-init instance or machine-id")
	}

	src := 8000
	clone := vmGuest(8001, "docker-vm-01")
	clone.TemplateImage, clone.CloneFrom, clone.DiskSizeGB = "", &src, i64(20)
	clone.Network = phoenix.Network{Name: "net0", Bridge: "vmbr0", IP: "10.0.0.101/24", Gateway: "10.0.0.1", Nameservers: []string{"10.0.0.1"}}
	if _, err := CreateVM(ctx, env, clone, vmOpts(clone, feature("docker"))); err != nil {
		t.Fatal(err)
	}
	c = mustConfig(t, env, 8001)
	if c["cicustom"] != "" || c["ipconfig0"] != "ip=10.0.0.101/24,gw=10.0.0.1" || !strings.Contains(c["scsi0"], "size=20G") {
		t.Fatalf("clone config %v", c)
	}
	for p, w := range map[string]string{
		"etc/hostname":                   "docker-vm-01\n",
		"etc/netplan/50-cloud-init.yaml": "10.0.0.101/24",
		"etc/resolv.conf":                "nameserver 10.0.0.1",
		"etc/phoenix/markers/base_setup": "8000",
		"etc/phoenix/markers/docker":     "8001",
	} {
		if got := guestFile(t, srv, 8001, p); !strings.Contains(got, w) {
			t.Errorf("clone %s = %q, want %q", p, got, w)
		}
	}
}

// A non-template VM takes its template snapshot once, after provisioning;
// a clone of that snapshot inherits what was provisioned.
func TestVMCloneFromSnapshot(t *testing.T) {
	env, srv := vmEnv(t)
	ctx := context.Background()
	base := vmGuest(8100, "base")
	base.TemplateSnapshot = "initial"
	if _, err := CreateVM(ctx, env, base, vmOpts(base, feature("base_setup"))); err != nil {
		t.Fatal(err)
	}
	snaps, err := env.API.Snapshots(ctx, pve.Ref{Node: "pve", Kind: pve.QEMU, ID: 8100})
	if err != nil || len(snaps) != 1 || snaps[0] != "initial" {
		t.Fatalf("snapshots %v %v", snaps, err)
	}
	src := 8100
	clone := vmGuest(8101, "from-snap")
	clone.TemplateImage, clone.CloneFrom, clone.CloneSnapshot = "", &src, "initial"
	if _, err := CreateVM(ctx, env, clone, vmOpts(clone)); err != nil {
		t.Fatal(err)
	}
	if got := guestFile(t, srv, 8101, "etc/phoenix/markers/base_setup"); got != "8100\n" {
		t.Fatalf("clone of the snapshot lacks the provisioned marker: %q", got)
	}
	if got := guestFile(t, srv, 8101, "etc/hostname"); got != "from-snap\n" {
		t.Fatalf("clone hostname %q", got)
	}
}

// A script larger than one agent write (61,440 bytes) arrives whole.
func TestVMLargeScriptThroughTheAgent(t *testing.T) {
	env, srv := vmEnv(t)
	ctx := context.Background()
	g := vmGuest(8200, "big")
	script := "#!/bin/bash\nset -e\nwc -c < \"$0\" > /root/script-size\n" + strings.Repeat("# padding line for a large feature script\n", 4000)
	step := provision.Step{Name: "big", Kind: provision.KindFeature, Content: []byte(script)}
	if _, err := CreateVM(ctx, env, g, vmOpts(g, step)); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(guestFile(t, srv, 8200, "root/script-size")); got != fmt.Sprint(len(script)) {
		t.Fatalf("script in the guest has %s bytes, want %d", got, len(script))
	}
}

// A failing feature keeps the VM with its error; the next apply resumes
// at the failed feature, not before.
func TestVMFailingFeatureResumes(t *testing.T) {
	env, srv := vmEnv(t)
	ctx := context.Background()
	g := vmGuest(8300, "fails")
	bad := provision.Step{Name: "flaky", Kind: provision.KindFeature,
		Content: []byte("#!/bin/bash\ntest -e /root/fixed || { echo 'flaky: not yet' >&2; exit 3; }\necho ok > /root/flaky-done\n")}
	out, err := CreateVM(ctx, env, g, vmOpts(g, feature("first"), bad))
	var se *provision.StepError
	if !errors.As(err, &se) || se.Step != "flaky" || se.ExitCode != 3 || !strings.Contains(se.StderrTail, "flaky: not yet") || !out.Exists {
		t.Fatalf("want the flaky step's error with the VM kept, got %v (exists %v)", err, out.Exists)
	}
	if err := os.WriteFile(filepath.Join(srv.GuestRoot(8300), "root/fixed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(srv.GuestRoot(8300), "etc/phoenix/markers/first"))
	opts := vmOpts(g, feature("first"), bad)
	opts.Previous = out.Records
	out, err = UpdateVM(ctx, env, out.Ref, g, opts)
	if err != nil {
		t.Fatal(err)
	}
	if fileExists(srv, 8300, "etc/phoenix/markers/first") || guestFile(t, srv, 8300, "root/flaky-done") != "ok\n" {
		t.Fatal("the resume re-ran the feature that had succeeded, or did not run the failed one")
	}
}

// An agent that never answers fails the create with the reason, before the
// deadline, and keeps the VM.
func TestVMAgentNeverAnswers(t *testing.T) {
	env, srv := vmEnv(t)
	srv.Faults().SetAgentDown(8400, true)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	g := vmGuest(8400, "silent")
	out, err := CreateVM(ctx, env, g, vmOpts(g, feature("x")))
	if err == nil || !strings.Contains(err.Error(), "QEMU guest agent did not answer") || !strings.Contains(err.Error(), "qemu-guest-agent") {
		t.Fatalf("want the agent error, got %v", err)
	}
	if !out.Exists || ctx.Err() != nil {
		t.Fatalf("VM kept %v; context left %v", out.Exists, ctx.Err())
	}
}

// A cloud-init change on a running VM rebuilds the drive and waits for a
// restart (pending_restart), or reboots with allow_restart; the guest then
// runs cloud-init as a new instance.
func TestVMCloudInitChange(t *testing.T) {
	env, srv := vmEnv(t)
	ctx := context.Background()
	g := vmGuest(8500, "ci")
	out, err := CreateVM(ctx, env, g, vmOpts(g))
	if err != nil {
		t.Fatal(err)
	}
	g.Network.IP, g.Network.Gateway = "10.0.0.55/24", "10.0.0.1"
	out, err = UpdateVM(ctx, env, out.Ref, g, vmOpts(g))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(out.PendingRestart, ",") != "ipconfig0" {
		t.Fatalf("pending %v, want ipconfig0 (PVE's pending section of a running VM)", out.PendingRestart)
	}
	if strings.Contains(guestFile(t, srv, 8500, "etc/netplan/50-cloud-init.yaml"), "10.0.0.55") {
		t.Fatal("the running guest saw the change without a restart")
	}
	opts := vmOpts(g)
	opts.AllowRestart = true
	if out, err = UpdateVM(ctx, env, out.Ref, g, opts); err != nil || len(out.PendingRestart) != 0 {
		t.Fatalf("%v %v", out.PendingRestart, err)
	}
	if !strings.Contains(guestFile(t, srv, 8500, "etc/netplan/50-cloud-init.yaml"), "10.0.0.55/24") {
		t.Fatal("after the reboot the guest does not have the new address")
	}
}

// Drift (cores changed out of band) shows in Read; Destroy shuts the VM
// down, purges it and removes its snippet; protection is honoured.
func TestVMDriftAndDestroy(t *testing.T) {
	env, srv := vmEnv(t)
	ctx := context.Background()
	g := vmGuest(8600, "drift")
	out, err := CreateVM(ctx, env, g, vmOpts(g))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.API.UpdateConfig(ctx, out.Ref, map[string]string{"cores": "6"}, nil, ""); err != nil {
		t.Fatal(err)
	}
	read := vmGuest(8600, "drift")
	if _, err := Read(ctx, env, 8600, read); err != nil || *read.Cores != 6 {
		t.Fatalf("cores observed %v, %v", *read.Cores, err)
	}
	snippet := filepath.Join("/var/lib/vz/snippets", "phoenix-8600-user.yaml")
	if _, err := srv.ReadNodeFile("pve", snippet, 0); err != nil {
		t.Fatalf("snippet missing before destroy: %v", err)
	}
	destroyProtected(t, env, out.Ref, DestroyVM)
	if _, ok, _ := env.API.Locate(ctx, 8600); ok {
		t.Fatal("VM still exists")
	}
	if _, err := srv.ReadNodeFile("pve", snippet, 0); err == nil {
		t.Fatal("the destroyed VM's snippet is left behind")
	}
}

// Without a snippets storage, a VM that needs user-data fails with the fix.
func TestVMNeedsSnippetsStorage(t *testing.T) {
	env, _ := vmEnv(t)
	ctx := context.Background()
	if err := env.API.API().Put(ctx, "/storage/local", map[string]string{"content": "iso,vztmpl,backup,import"}, nil); err != nil {
		t.Fatal(err)
	}
	g := vmGuest(8700, "nosnip")
	_, err := CreateVM(ctx, env, g, vmOpts(g))
	if err == nil || !strings.Contains(err.Error(), "no storage with snippets content") || !strings.Contains(err.Error(), "pvesm set local") {
		t.Fatalf("want the snippets error with its fix, got %v", err)
	}
	if _, ok, _ := env.API.Locate(ctx, 8700); ok {
		t.Fatal("a VM was created although its cloud-init could not be")
	}
}

// The cloud-init password reaches the guest hashed: in the user-data
// snippet (readable by root only) and through cipassword, sent at creation
// and again only when it changed (PVE keeps a masked hash).
func TestVMCloudInitPassword(t *testing.T) {
	env, srv := vmEnv(t)
	ctx := context.Background()
	g := vmGuest(8800, "pw")
	g.CloudInit.Password = "s3cret-pw"
	out, err := CreateVM(ctx, env, g, vmOpts(g))
	if err != nil {
		t.Fatal(err)
	}
	root, err := srv.NodeRoot("pve")
	if err != nil {
		t.Fatal(err)
	}
	snippet := filepath.Join(root, "var/lib/vz/snippets/phoenix-8800-user.yaml")
	fi, err := os.Stat(snippet)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snippet %v %v, want mode 0600", fi, err)
	}
	data, _ := os.ReadFile(snippet)
	if strings.Contains(string(data), "s3cret-pw") || !strings.Contains(string(data), "password: \"$6$") {
		t.Fatalf("user-data must carry the password hashed only:\n%s", data)
	}
	shadow := guestFile(t, srv, 8800, "etc/shadow")
	if !strings.Contains(shadow, "phoenix_user:$6$") {
		t.Fatalf("the guest's user has no password hash:\n%s", shadow)
	}
	first := mustConfig(t, env, 8800)["cipassword"]
	if first == "" {
		t.Fatal("cipassword not set at creation")
	}
	if out, err = UpdateVM(ctx, env, out.Ref, g, vmOpts(g)); err != nil {
		t.Fatal(err)
	}
	if mustConfig(t, env, 8800)["cipassword"] != first || len(out.PendingRestart) != 0 {
		t.Fatalf("an unchanged password was sent again (pending %v)", out.PendingRestart)
	}
	g.CloudInit.Password = "other-pw"
	opts := vmOpts(g)
	opts.PasswordChanged = true
	if out, err = UpdateVM(ctx, env, out.Ref, g, opts); err != nil {
		t.Fatal(err)
	}
	if !contains(out.PendingRestart, "cipassword") {
		t.Fatalf("a changed password of a running VM must wait for its restart: pending %v", out.PendingRestart)
	}
}

// A clone for another node than its source's: PVE refuses to clone local
// disks straight to another node, so the clone is made beside its source
// and migrated; it ends up running on its own node with its own identity.
func TestCloneToAnotherNode(t *testing.T) {
	env, srv := vmEnvFor(t, pvesim.Options{Nodes: []string{"pve1", "pve2"}, AgentBootDelay: 100 * time.Millisecond})
	api, ctx := env.API, context.Background()
	tmpl := vmGuest(8000, "tmpl")
	tmpl.IsTemplate = true
	if _, err := CreateVM(ctx, env, tmpl, vmOpts(tmpl)); err != nil {
		t.Fatal(err)
	}
	src := 8000
	clone := vmGuest(8001, "elsewhere")
	clone.TemplateImage, clone.CloneFrom = "", &src
	env.Node = "pve2"
	out, err := CreateVM(ctx, env, clone, vmOpts(clone))
	if err != nil {
		t.Fatal(err)
	}
	ref, ok, err := api.Locate(ctx, 8001)
	if err != nil || !ok || ref.Node != "pve2" || out.Ref.Node != "pve2" {
		t.Fatalf("clone on %v (outcome %v), want pve2: %v", ref, out.Ref, err)
	}
	if st, err := api.Status(ctx, ref); err != nil || st.Status != "running" {
		t.Fatalf("clone status %v %v", st, err)
	}
	if got := guestFile(t, srv, 8001, "etc/hostname"); got != "elsewhere\n" {
		t.Fatalf("clone hostname %q", got)
	}
}

// Inspect reports the storage of the disk a VM boots from, as Read does, so a
// VM made by another tool with its disk on virtio0 imports with its storage.
func TestInspectVMBootDiskStorage(t *testing.T) {
	env, _ := vmEnv(t)
	ctx := context.Background()
	params := map[string]string{"name": "foreign", "virtio0": "local-lvm:4", "boot": "order=virtio0", "memory": "512"}
	if err := env.API.CreateVM(ctx, env.Node, 8300, params); err != nil {
		t.Fatal(err)
	}
	f, err := Inspect(ctx, env, 8300)
	if err != nil || !f.Exists || f.Storage != "local-lvm" {
		t.Fatalf("inspect: exists=%v storage=%q err=%v, want the boot disk's storage local-lvm", f.Exists, f.Storage, err)
	}
}

// QGA forgets a command once exec-status reported its exit: when that answer
// is lost, the repeated poll finds no such pid, and the command is run again
// (provisioning steps are idempotent) instead of failing the apply.
func TestVMExecStatusAnswerLost(t *testing.T) {
	env, srv := vmEnv(t)
	ctx := context.Background()
	g := vmGuest(8500, "lost")
	// The latency lets the command exit before the poll is handled, so the
	// lost answer is the one that reported the exit.
	srv.Faults().AddFault(pvesim.FaultRule{Method: "GET", Path: "/nodes/{node}/qemu/{vmid}/agent/exec-status",
		Drop: pvesim.DropAfter, Latency: 300 * time.Millisecond, Count: 1})
	if _, err := CreateVM(ctx, env, g, vmOpts(g, feature("once"))); err != nil {
		t.Fatalf("a lost exec-status answer failed the create: %v", err)
	}
	if !fileExists(srv, 8500, "etc/phoenix/markers/once") {
		t.Fatal("the feature did not run")
	}
}

// A file in parts is joined by a command that may run again: when the
// answer to its join is lost, the rerun leaves the file whole.
func TestVMFileJoinAnswerLost(t *testing.T) {
	env, srv := vmEnv(t)
	ctx := context.Background()
	g := vmGuest(8600, "join")
	out, err := CreateVM(ctx, env, g, vmOpts(g))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Repeat("0123456789abcdef", 2*agentChunk/16+7))
	srv.Faults().AddFault(pvesim.FaultRule{Method: "GET", Path: "/nodes/{node}/qemu/{vmid}/agent/exec-status",
		Drop: pvesim.DropAfter, Latency: 300 * time.Millisecond, Count: 1})
	if err := newAgentTarget(env, out.Ref).Push(ctx, "/root/joined", data, 0o600); err != nil {
		t.Fatalf("a lost answer to the join failed the write: %v", err)
	}
	if got := guestFile(t, srv, 8600, "root/joined"); got != string(data) {
		t.Fatalf("joined file has %d bytes, want %d", len(got), len(data))
	}
	if fileExists(srv, 8600, "root/joined.phoenix-part-0000") || fileExists(srv, 8600, "root/joined.phoenix-part-0002") {
		t.Fatal("parts left behind")
	}
}
