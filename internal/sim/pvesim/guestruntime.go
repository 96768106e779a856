//go:build linux

package pvesim

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/guestroot"
)

// guestRoots is the GuestRuntime that gives every guest a real root
// directory (internal/sim/guestroot): create, clone, snapshot, rollback and
// destroy copy or remove it, and pct exec, the guest agent and the node shell
// run commands in it. It also knows which guest commands are running, so a
// stop, rollback or destroy kills them as stopping a real guest does.
type guestRoots struct {
	m *guestroot.Manager

	wg      sync.WaitGroup // commands in flight
	mu      sync.Mutex
	running map[int]map[*runningCmd]bool // vmid -> commands in flight
	booted  map[int]bool                 // first boot work (cloud-init) done since start
	closed  bool
}

type runningCmd struct{ cancel context.CancelFunc }

// errGuestStopped ends commands of a guest that stopped under them.
var errGuestStopped = errors.New("guest stopped")

func newGuestRoots(dir string) (*guestRoots, error) {
	m, err := guestroot.New(dir)
	if err != nil {
		return nil, err
	}
	return &guestRoots{m: m, running: map[int]map[*runningCmd]bool{}, booted: map[int]bool{}}, nil
}

// rootTemplate is the template name a guest root is built for: the LXC
// ostemplate when known, else the ostype (VMs and guests whose root is made
// lazily get Debian 13 or their ostype's distribution).
func rootTemplate(g GuestRef, template string) string {
	if template != "" {
		return template
	}
	if g.Kind == "lxc" {
		return g.Config["ostype"]
	}
	return ""
}

// ensure gives a guest that predates real guest roots (seeded, restored
// state, created by a Nop runtime) a fresh root when it has none.
func (r *guestRoots) ensure(g GuestRef) error {
	if r.m.Exists(g.VMID) {
		return nil
	}
	err := r.m.Create(g.VMID, rootTemplate(g, ""))
	if errors.Is(err, fs.ErrExist) {
		return nil // created concurrently
	}
	if err != nil {
		return err
	}
	if g.Kind == "qemu" {
		return r.m.InstallPackages(g.VMID, guestroot.AgentPackage)
	}
	return r.m.MapOwners(g.VMID, ctIDMap(g))
}

func (r *guestRoots) Create(ctx context.Context, g GuestRef, template string) error {
	// A root left behind without a guest (state lost, crash) is stale: PVE
	// refused the vmid already if the guest still existed.
	if r.m.Exists(g.VMID) {
		if err := r.m.Destroy(g.VMID); err != nil {
			return err
		}
	}
	if err := r.m.Create(g.VMID, rootTemplate(g, template)); err != nil {
		return err
	}
	// A VM imported from a cloud image runs that image, which ships without
	// the guest agent; any other VM stands for an installed OS that has it.
	if g.Kind == "qemu" && !guestroot.IsDiskImage(template) {
		return r.m.InstallPackages(g.VMID, guestroot.AgentPackage)
	}
	return r.m.MapOwners(g.VMID, ctIDMap(g)) // unpacked through the CT's id map
}

func (r *guestRoots) Clone(ctx context.Context, src GuestRef, snapname string, dst GuestRef, full bool) error {
	if snapname == "" {
		if err := r.ensure(src); err != nil {
			return err
		}
	}
	if r.m.Exists(dst.VMID) {
		if err := r.m.Destroy(dst.VMID); err != nil {
			return err
		}
	}
	// Linked and full clones both get a copy: a linked clone shares blocks
	// on PVE but never sees later writes of its base, which a copy models.
	if err := r.m.Clone(src.VMID, dst.VMID, snapname); err != nil {
		return err
	}
	return r.m.MapOwners(dst.VMID, ctIDMap(dst))
}

func (r *guestRoots) Snapshot(ctx context.Context, g GuestRef, name string) error {
	if err := r.ensure(g); err != nil {
		return err
	}
	return r.m.Snapshot(g.VMID, name)
}

func (r *guestRoots) Rollback(ctx context.Context, g GuestRef, name string) error {
	r.killAll(g.VMID)
	return r.m.Rollback(g.VMID, name)
}

func (r *guestRoots) DeleteSnapshot(ctx context.Context, g GuestRef, name string) error {
	err := r.m.DeleteSnapshot(g.VMID, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // taken before the guest had a root
	}
	return err
}

func (r *guestRoots) Destroy(ctx context.Context, g GuestRef) error {
	r.killAll(g.VMID)
	r.mu.Lock()
	delete(r.booted, g.VMID)
	r.mu.Unlock()
	return r.m.Destroy(g.VMID)
}

// Start does what a guest's boot does to its root: a container gets its
// hostname written by PVE's setup (as lxc-pve's prestart hook does), a VM
// runs cloud-init's first boot when it has a cloud-init drive.
func (r *guestRoots) Start(ctx context.Context, g GuestRef) error {
	r.mu.Lock()
	delete(r.booted, g.VMID)
	r.mu.Unlock()
	return r.boot(g)
}

func (r *guestRoots) Stop(ctx context.Context, g GuestRef) error {
	r.killAll(g.VMID)
	r.mu.Lock()
	delete(r.booted, g.VMID)
	r.mu.Unlock()
	return nil
}

// boot runs the first-boot work once per start. It is also called lazily for
// guests found running without having been started through the runtime
// (created with start=1, state restored from disk).
func (r *guestRoots) boot(g GuestRef) error {
	r.mu.Lock()
	done := r.booted[g.VMID]
	r.booted[g.VMID] = true
	r.mu.Unlock()
	if done {
		return nil
	}
	if err := r.ensure(g); err != nil {
		return err
	}
	if g.Kind == "lxc" {
		if h := g.Config["hostname"]; h != "" {
			short, _, _ := strings.Cut(h, ".")
			return r.m.WriteFile(g.VMID, "/etc/hostname", []byte(short+"\n"), 0o644)
		}
		return nil
	}
	return r.cloudInitBoot(g)
}

// cloudInitBoot applies the VM's cloud-init settings the way cloud-init does
// on a boot whose instance-id it has not seen: once per instance, so
// `cloud-init clean` (template finalisation) makes the next boot apply them
// again, and an unchanged config does not re-apply.
func (r *guestRoots) cloudInitBoot(g GuestRef) error {
	if !hasCloudInitDrive(g.Config) {
		return nil
	}
	ci := cloudInitFor(g)
	seen, _, err := r.m.ReadFile(g.VMID, "/var/lib/cloud/data/instance-id", 256)
	if err == nil && strings.TrimSpace(string(seen)) == ci.InstanceID {
		if _, _, err := r.m.ReadFile(g.VMID, "/var/lib/cloud/instance/boot-finished", 256); err == nil {
			return nil
		}
	}
	return r.m.ApplyCloudInit(g.VMID, ci)
}

func hasCloudInitDrive(cfg map[string]string) bool {
	for k, v := range cfg {
		if qemuDiskKeyRE.MatchString(k) && strings.Contains(v, "cloudinit") {
			return true
		}
	}
	return false
}

// cloudInitFor is what the VM's NoCloud drive tells cloud-init: its
// user-data (parsed as cloud-init does) and network config, the same data
// GET .../cloudinit/dump shows unless cicustom snippets replace it.
func cloudInitFor(g GuestRef) guestroot.CloudInit {
	c := g.Config
	gg := &Guest{Kind: g.Kind, VMID: g.VMID, Config: c}
	drive := g.CloudInit
	if drive == nil {
		d := ciData{User: ciUserData(gg), Network: ciNetworkData(gg)}
		drive = &CloudInitDrive{UserData: d.User, NetworkData: d.Network, InstanceID: d.instanceID()}
	}
	ci := guestroot.CloudInit{
		Hostname:      fmt.Sprintf("VM%d", g.VMID),
		Nameservers:   strings.Fields(c["nameserver"]),
		SearchDomains: strings.Fields(c["searchdomain"]),
		InstanceID:    drive.InstanceID,
	}
	// A cloud-config cloud-init cannot parse is logged and ignored by it.
	_ = parseUserData(drive.UserData, &ci)
	for i := 0; i < 32; i++ {
		ipc, ok := c[fmt.Sprintf("ipconfig%d", i)]
		netv, hasNet := c[fmt.Sprintf("net%d", i)]
		if !ok || !hasNet {
			continue
		}
		m := splitProps(ipc, "")
		ci.Network = append(ci.Network, guestroot.CloudInitNIC{
			Name: fmt.Sprintf("eth%d", i), MAC: strings.ToLower(qemuNetMAC(netv)),
			IPv4: m["ip"], Gateway4: m["gw"], IPv6: m["ip6"], Gateway6: m["gw6"],
		})
	}
	return ci
}

func (r *guestRoots) track(ctx context.Context, vmid int) (context.Context, func(), error) {
	ctx, cancel := context.WithCancelCause(ctx)
	rc := &runningCmd{cancel: func() { cancel(errGuestStopped) }}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		cancel(errGuestStopped)
		return nil, nil, errors.New("simulator is shutting down")
	}
	if r.running[vmid] == nil {
		r.running[vmid] = map[*runningCmd]bool{}
	}
	r.running[vmid][rc] = true
	r.wg.Add(1)
	return ctx, func() {
		r.mu.Lock()
		delete(r.running[vmid], rc)
		r.mu.Unlock()
		cancel(nil)
		r.wg.Done()
	}, nil
}

func (r *guestRoots) killAll(vmid int) {
	r.mu.Lock()
	cmds := r.running[vmid]
	delete(r.running, vmid)
	r.mu.Unlock()
	for rc := range cmds {
		rc.cancel()
	}
}

// close kills every guest command; Exec returns once its process tree is gone.
func (r *guestRoots) close() {
	r.mu.Lock()
	r.closed = true
	all := r.running
	r.running = map[int]map[*runningCmd]bool{}
	r.mu.Unlock()
	for _, cmds := range all {
		for rc := range cmds {
			rc.cancel()
		}
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// exec runs req in guest g's root (caller checked the guest may run
// commands), killed when the guest stops.
func (r *guestRoots) exec(ctx context.Context, g GuestRef, req guestroot.ExecRequest) (guestroot.ExecResult, error) {
	if err := r.boot(g); err != nil {
		return guestroot.ExecResult{}, err
	}
	ctx, done, err := r.track(ctx, g.VMID)
	if err != nil {
		return guestroot.ExecResult{}, err
	}
	defer done()
	if req.Hostname == "" {
		req.Hostname = guestHostname(r.m, g)
	}
	req.IDMap = ctIDMap(g)
	req.Unprivileged = len(req.IDMap) > 0
	res, err := r.m.Exec(ctx, g.VMID, req)
	if err != nil && errors.Is(context.Cause(ctx), errGuestStopped) {
		// killed with its guest, as lxc-attach's processes die with the CT
		return guestroot.ExecResult{ExitCode: -1, Signal: 9}, nil
	}
	return res, err
}

// guestHostname is the UTS name a booted guest has: its /etc/hostname.
func guestHostname(m *guestroot.Manager, g GuestRef) string {
	if b, _, err := m.ReadFile(g.VMID, "/etc/hostname", 256); err == nil {
		if h := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]); h != "" && len(h) <= 64 {
			return h
		}
	}
	if g.Kind == "lxc" && g.Config["hostname"] != "" {
		return g.Config["hostname"]
	}
	if g.Config["name"] != "" {
		return g.Config["name"]
	}
	return "localhost"
}

// dirInGuest reports whether dir exists as a directory inside the guest root
// (resolved inside the root, never following a guest symlink out of it).
func (r *guestRoots) dirInGuest(vmid int, dir string) bool {
	root, err := os.OpenRoot(r.m.Root(vmid))
	if err != nil {
		return false
	}
	defer root.Close()
	rel := strings.TrimPrefix(path.Clean("/"+dir), "/")
	if rel == "" {
		return true
	}
	fi, err := root.Stat(rel)
	return err == nil && fi.IsDir()
}

// rootDir chooses where guest roots live: the state dir (so they survive
// restarts with the state), else the simulator's temp dir.
func rootDir(opts Options, tmp string) string {
	if opts.GuestRootDir != "" {
		return opts.GuestRootDir
	}
	if opts.StateDir != "" {
		return filepath.Join(opts.StateDir, "guestroot")
	}
	return filepath.Join(tmp, "guestroot")
}

// qemuNetMAC is the MAC of a VM's netN value ("virtio=BC:24:11:...,bridge=vmbr0").
func qemuNetMAC(v string) string {
	m := splitProps(v, "")
	for _, model := range []string{"virtio", "e1000", "e1000e", "rtl8139", "vmxnet3"} {
		if mac := m[model]; mac != "" {
			return mac
		}
	}
	return m["macaddr"]
}

// writeFile writes a guest file as pct push and the agent do: perm 0 keeps an
// existing file's mode (0644 for a new one); uid/gid -1 keep the owner.
func (r *guestRoots) writeFile(vmid int, p string, data []byte, perm os.FileMode, uid, gid int) error {
	if perm == 0 {
		perm = 0o644
		if root, err := os.OpenRoot(r.m.Root(vmid)); err == nil {
			if fi, err := root.Stat(relPath(p)); err == nil && fi.Mode().IsRegular() {
				perm = fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
			}
			root.Close()
		}
	}
	if err := r.m.WriteFile(vmid, p, data, perm); err != nil {
		return err
	}
	if uid >= 0 || gid >= 0 {
		return guestroot.ChownIn(r.m.Root(vmid), p, uid, gid)
	}
	return nil
}

// lookPath is the exec's path search (G_SPAWN_SEARCH_PATH with qemu-ga's
// PATH) done before starting, so a missing program fails guest-exec itself
// as it does in QGA. It returns strerror text, or "" when found.
func (r *guestRoots) lookPath(vmid int, prog string) string {
	root, err := os.OpenRoot(r.m.Root(vmid))
	if err != nil {
		return errnoText(err)
	}
	defer root.Close()
	check := func(p string) string {
		fi, err := root.Stat(relPath(p))
		switch {
		case err != nil:
			return "No such file or directory"
		case fi.IsDir() || fi.Mode()&0o111 == 0:
			return "Permission denied"
		}
		return ""
	}
	if strings.Contains(prog, "/") {
		return check(prog)
	}
	res := "No such file or directory"
	for _, dir := range strings.Split(strings.TrimPrefix(qgaEnv[0], "PATH="), ":") {
		switch m := check(dir + "/" + prog); m {
		case "":
			return ""
		case "Permission denied":
			res = m
		}
	}
	return res
}

// relPath turns a guest or node path into one relative to the root for
// os.Root.
func relPath(p string) string {
	if rel := strings.TrimPrefix(path.Clean("/"+p), "/"); rel != "" {
		return rel
	}
	return "."
}
