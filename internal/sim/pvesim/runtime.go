//go:build linux

package pvesim

import "context"

// GuestRef identifies a guest for runtime hooks; Config (and LXC) are
// copies of its config at the time of the call.
type GuestRef struct {
	Kind   string // "lxc" or "qemu"
	VMID   int
	Node   string
	Config map[string]string
	// LXC is a copy of a container's raw lxc.* lines (lxc.idmap...).
	LXC [][2]string
	// CloudInit is a booting VM's cloud-init drive (nil: none, or not a boot).
	CloudInit *CloudInitDrive
}

// CloudInitDrive is what a VM's NoCloud drive holds at boot.
type CloudInitDrive struct {
	UserData, NetworkData string
	InstanceID            string
}

// GuestRuntime is called by worker tasks at the points where real PVE touches
// a guest's root filesystem or processes. A later layer plugs in real guest
// roots; the default does nothing. An error fails the task with its text.
type GuestRuntime interface {
	// Create is called after a guest is created; template is the LXC
	// ostemplate volume, or for a VM the image its boot disk was imported
	// from ("" for none).
	Create(ctx context.Context, g GuestRef, template string) error
	// Clone copies src (at snapshot snapname when not "") to dst.
	Clone(ctx context.Context, src GuestRef, snapname string, dst GuestRef, full bool) error
	Snapshot(ctx context.Context, g GuestRef, name string) error
	Rollback(ctx context.Context, g GuestRef, name string) error
	DeleteSnapshot(ctx context.Context, g GuestRef, name string) error
	Destroy(ctx context.Context, g GuestRef) error
	Start(ctx context.Context, g GuestRef) error
	Stop(ctx context.Context, g GuestRef) error
}

// NopRuntime is the default GuestRuntime: every hook succeeds doing nothing.
type NopRuntime struct{}

func (NopRuntime) Create(context.Context, GuestRef, string) error                { return nil }
func (NopRuntime) Clone(context.Context, GuestRef, string, GuestRef, bool) error { return nil }
func (NopRuntime) Snapshot(context.Context, GuestRef, string) error              { return nil }
func (NopRuntime) Rollback(context.Context, GuestRef, string) error              { return nil }
func (NopRuntime) DeleteSnapshot(context.Context, GuestRef, string) error        { return nil }
func (NopRuntime) Destroy(context.Context, GuestRef) error                       { return nil }
func (NopRuntime) Start(context.Context, GuestRef) error                         { return nil }
func (NopRuntime) Stop(context.Context, GuestRef) error                          { return nil }

func (g *Guest) ref() GuestRef {
	return GuestRef{Kind: g.Kind, VMID: g.VMID, Node: g.Node, Config: copyMap(g.Config), LXC: append([][2]string(nil), g.LXC...)}
}
