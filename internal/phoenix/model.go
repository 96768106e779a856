// Package phoenix ingests the phoenix JSON configuration files
// (phoenix_hypervisor_config.json, phoenix_lxc_configs.json and, in the split
// layout, phoenix_vm_configs.json), validates them and normalises every LXC
// container and VM into one Guest model. It knows nothing of Terraform or of
// the network: JSON in, a validated Estate (or every problem at once) out.
package phoenix

import "encoding/json"

// Kind is the guest type: an LXC container or a QEMU VM.
type Kind string

const (
	KindLXC Kind = "lxc"
	KindVM  Kind = "vm"
)

// Estate is everything the configuration files describe.
type Estate struct {
	// Guests in ascending ID order.
	Guests []*Guest
	// Tiers lists guest IDs in apply order: every guest's clone source and
	// dependencies sit in an earlier tier.
	Tiers [][]int
	// StorageIDs is phoenix's proxmox_storage_ids map (alias -> storage ID).
	StorageIDs map[string]string
	// Storages are the PVE storages the hypervisor config defines (zfs datasets).
	Storages []Storage
	Network  HostNetwork
	// Warnings are problems that do not stop ingestion.
	Warnings []Problem
	// Files are the paths that were read, by role.
	Files Files
}

// Files names the configuration files an Estate was read from.
type Files struct {
	Hypervisor string
	LXC        string
	VM         string // empty unless the split layout is used
}

// Storage is a PVE storage defined by a zfs dataset of the hypervisor config:
// ID "<pool>-<name>", its type (zfspool, dir) and content types.
type Storage struct {
	ID      string
	Type    string
	Content []string
	// Path is the mount path of a dir storage ("/<pool>/<name>").
	Path string
}

// HostNetwork is the hypervisor's network section.
type HostNetwork struct {
	Bridge        string
	Address       string
	Gateway       string
	Nameservers   []string
	DefaultSubnet string
}

// Guest is one container or VM, with defaults merged.
type Guest struct {
	Kind Kind
	ID   int
	Name string

	// Resources.
	Cores      *int64
	MemoryMB   *int64
	SwapMB     *int64
	DiskSizeGB *int64
	Storage    string // storage_pool

	// Origin: exactly one of Template/TemplateImage/CloneFrom is normally set.
	Template      string // LXC template path as written in the config
	OSTemplate    string // Template resolved to a PVE volume ID ("storage:vztmpl/file"), when resolvable
	TemplateImage string // VM cloud image
	OSType        string
	CloneFrom     *int
	// CloneSnapshot is the clone source's template_snapshot_name.
	CloneSnapshot string
	// TemplateSnapshot is the snapshot this guest takes after provisioning, for its clones.
	TemplateSnapshot string
	IsTemplate       bool

	StartAtBoot *bool
	BootOrder   *int64
	BootDelay   *int64

	Network Network

	// LXC specifics.
	Unprivileged           *bool
	PctOptions             []string
	LXCOptions             []string
	AppArmorProfile        string
	AppArmorManagesNesting *bool
	GPUs                   []string // GPU indices; empty for "none"

	MountPoints []MountPoint
	Firewall    *Firewall
	Ports       []string

	// Provisioning.
	Features          []string
	ApplicationScript string
	HealthChecks      []HealthCheck
	Dependencies      []int
	CloudInit         *CloudInit

	// Extra holds the entry's keys the model does not fully represent
	// (vllm_*, portainer_role, tests...), verbatim, for feature scripts.
	Extra map[string]json.RawMessage

	// Source locates the entry: the file and its JSON path.
	Source Location
}

// Network is the guest's first interface.
type Network struct {
	Name        string // interface name inside the guest (eth0)
	Bridge      string
	IP          string // CIDR, "dhcp" or "manual"
	Gateway     string
	MAC         string
	Nameservers []string
	// SearchDomain is the DNS search domain (VMs: cloud-init searchdomain).
	SearchDomain string
}

// MountPoint is a storage volume or a bind mount inside the guest.
type MountPoint struct {
	// Type is "volume" (volumes), "zfs_volume" (zfs_volumes) or "bind" (shared_volumes).
	Type     string
	Name     string
	Storage  string // volumes: the storage ID
	SizeGB   int64  // volumes
	HostPath string // bind mounts
	Path     string // mount point inside the guest
}

// Firewall is the guest firewall.
type Firewall struct {
	Enabled bool
	Rules   []FirewallRule
}

// FirewallRule is one PVE firewall rule.
type FirewallRule struct {
	Type    string // in, out
	Action  string // ACCEPT, DROP, REJECT
	Source  string
	Dest    string
	Proto   string
	Port    string // destination port
	Comment string
}

// HealthCheck is a script under features_dir/tests, or a command (health_check).
type HealthCheck struct {
	Name     string
	Type     string // script, command
	Path     string
	Command  string
	Retries  *int64
	Interval *int64
}

// CloudInit is a VM's cloud-init user configuration (cloud_init or user_config).
type CloudInit struct {
	Username          string
	SSHAuthorizedKeys []string
	Packages          []string
	// Password is the user's password (cloud-init cipassword); a secret.
	Password string
}

// Location names where something sits: a file and a JSON path in it.
type Location struct {
	File string
	Path string
}
