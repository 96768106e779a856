package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// guestAttributes is the data source's view of one guest: the phoenix_guest
// arguments, all computed from the configuration files.
func guestAttributes() map[string]schema.Attribute {
	str := func(d string) schema.Attribute { return schema.StringAttribute{Computed: true, MarkdownDescription: d} }
	num := func(d string) schema.Attribute { return schema.Int64Attribute{Computed: true, MarkdownDescription: d} }
	boolean := func(d string) schema.Attribute { return schema.BoolAttribute{Computed: true, MarkdownDescription: d} }
	strList := func(d string) schema.Attribute {
		return schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: d}
	}
	return map[string]schema.Attribute{
		"vmid":                   num("Guest ID (CTID or VMID)."),
		"kind":                   str("`lxc` or `vm`."),
		"name":                   str("Hostname (containers) or VM name."),
		"cores":                  num("CPU cores (defaults merged)."),
		"memory_mb":              num("Memory in MiB (defaults merged)."),
		"swap_mb":                num("Swap in MiB (containers)."),
		"disk_size_gb":           num("Root disk size in GiB (`storage_size_gb` for containers, `disk_size_gb` for VMs)."),
		"storage":                str("Storage for the root disk (`storage_pool`)."),
		"template":               str("OS template as written in the config (containers: tarball path)."),
		"os_template":            str("`template` resolved to a PVE volume ID (`storage:vztmpl/file`), when it lies on a dir storage of the hypervisor config."),
		"template_image":         str("Cloud image a VM is created from."),
		"os_type":                str("OS type (VMs)."),
		"clone_from":             num("Clone source ID (`clone_from_ctid` / `clone_from_vmid`)."),
		"clone_snapshot":         str("Snapshot of the clone source to clone from (the source's `template_snapshot_name`)."),
		"template_snapshot_name": str("Snapshot taken after provisioning, for this guest's clones."),
		"is_template":            boolean("Whether the guest is converted into a PVE template."),
		"start_at_boot":          boolean("Start on node boot (`onboot`)."),
		"boot_order":             num("Startup order."),
		"boot_delay":             num("Startup delay in seconds (`up`)."),
		"network": schema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: "First network interface.",
			Attributes: map[string]schema.Attribute{
				"name":        str("Interface name inside the guest."),
				"bridge":      str("Bridge."),
				"ip":          str("Address in CIDR notation, or `dhcp`."),
				"gateway":     str("Gateway."),
				"mac":         str("MAC address."),
				"nameservers": strList("DNS servers."),
			},
		},
		"unprivileged":             boolean("Unprivileged container."),
		"pct_options":              strList("Container feature flags (`nesting=1`, `keyctl=1`...)."),
		"lxc_options":              strList("Raw `lxc.*` lines for `/etc/pve/lxc/ID.conf`."),
		"apparmor_profile":         str("AppArmor profile (`lxc.apparmor.profile`)."),
		"apparmor_manages_nesting": boolean("Whether the AppArmor profile handles nesting."),
		"gpus":                     strList("GPU indices passed through (`gpu_assignment`); empty for none."),
		"mount_points": schema.ListNestedAttribute{
			Computed:            true,
			MarkdownDescription: "Volumes (`volumes`, `zfs_volumes`) and shared bind mounts (`shared_volumes` of the hypervisor config).",
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"type":      str("`volume`, `zfs_volume` or `bind`."),
				"name":      str("Volume name."),
				"storage":   str("Storage of a volume."),
				"size_gb":   num("Size of a volume in GiB."),
				"host_path": str("Host path of a bind mount."),
				"path":      str("Mount point inside the guest."),
			}},
		},
		"firewall": schema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: "Guest firewall.",
			Attributes: map[string]schema.Attribute{
				"enabled": boolean("Firewall enabled."),
				"rules": schema.ListNestedAttribute{
					Computed:            true,
					MarkdownDescription: "Rules in order.",
					NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
						"type":    str("`in` or `out`."),
						"action":  str("`ACCEPT`, `DROP` or `REJECT`."),
						"source":  str("Source address."),
						"dest":    str("Destination address."),
						"proto":   str("Protocol."),
						"port":    str("Destination port(s)."),
						"comment": str("Comment."),
					}},
				},
			},
		},
		"ports": strList("Port mappings `host:guest` (informational)."),
		"features": schema.ListNestedAttribute{
			Computed:            true,
			MarkdownDescription: "Feature scripts in run order; `path` is set when `features_dir` is.",
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"name": str("Feature name."),
				"path": str("Script path."),
			}},
		},
		"application_script": str("Script run after the features (absolute when `features_dir` is set)."),
		"health_checks": schema.ListNestedAttribute{
			Computed:            true,
			MarkdownDescription: "Health checks (`tests.health_checks` scripts and the `health_check` command).",
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"name":     str("Check name."),
				"type":     str("`script` or `command`."),
				"path":     str("Script path."),
				"command":  str("Command."),
				"retries":  num("Retries."),
				"interval": num("Seconds between retries."),
			}},
		},
		"dependencies": schema.ListAttribute{Computed: true, ElementType: types.Int64Type, MarkdownDescription: "IDs this guest waits for."},
		"cloud_init": schema.SingleNestedAttribute{
			Computed:            true,
			MarkdownDescription: "VM cloud-init user (`cloud_init` or `user_config`).",
			Attributes: map[string]schema.Attribute{
				"username":            str("User."),
				"ssh_authorized_keys": strList("SSH public keys."),
				"packages":            strList("Packages."),
			},
		},
		"extra_json": str("The entry's keys the model does not represent (vllm_*, portainer_role, tests...), verbatim as a JSON object, for feature scripts."),
		"source":     str("Where the guest is defined: `file: JSON path`."),
	}
}
