package provider

import (
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// One table describes a guest's attributes; the data source renders it as
// computed attributes and phoenix_guest as its `spec` argument, so the two
// cannot drift apart and `spec = each.value` always type-checks.

type fieldKind int

const (
	fString fieldKind = iota
	fInt
	fBool
	fStringList
	fIntList
	fObject
	fObjectList
)

type field struct {
	name, desc string
	kind       fieldKind
	children   []field
	// replace marks arguments whose change recreates the guest.
	replace bool
}

func f(name string, kind fieldKind, desc string, children ...field) field {
	return field{name: name, kind: kind, desc: desc, children: children}
}

func (x field) forcesNew() field { x.replace = true; return x }

var guestFields = []field{
	f("vmid", fInt, "Guest ID (CTID or VMID).").forcesNew(),
	f("kind", fString, "`lxc` or `vm`.").forcesNew(),
	f("name", fString, "Hostname (containers) or VM name."),
	f("cores", fInt, "CPU cores."),
	f("memory_mb", fInt, "Memory in MiB."),
	f("swap_mb", fInt, "Swap in MiB (containers)."),
	f("disk_size_gb", fInt, "Root disk size in GiB (`storage_size_gb` for containers, `disk_size_gb` for VMs). Grows in place; a smaller value recreates the guest."),
	f("storage", fString, "Storage for the root disk (`storage_pool`).").forcesNew(),
	f("template", fString, "OS template as written in the phoenix config (containers: tarball path).").forcesNew(),
	f("os_template", fString, "OS template as a PVE volume ID (`storage:vztmpl/file`); resolved from `template` by `phoenix_config` when it lies on a dir storage.").forcesNew(),
	f("template_image", fString, "Cloud image a VM is created from.").forcesNew(),
	f("os_type", fString, "OS type (VMs)."),
	f("clone_from", fInt, "Clone source ID (`clone_from_ctid` / `clone_from_vmid`).").forcesNew(),
	f("clone_snapshot", fString, "Snapshot of the clone source to clone from (the source's `template_snapshot_name`).").forcesNew(),
	f("template_snapshot_name", fString, "Snapshot taken once after provisioning, so clones inherit the provisioned software."),
	f("is_template", fBool, "Convert the guest into a PVE template after provisioning.").forcesNew(),
	f("start_at_boot", fBool, "Start on node boot (`onboot`)."),
	f("boot_order", fInt, "Startup order."),
	f("boot_delay", fInt, "Startup delay in seconds (`up`)."),
	f("network", fObject, "First network interface (`net0`).",
		f("name", fString, "Interface name inside the guest."),
		f("bridge", fString, "Bridge."),
		f("ip", fString, "Address in CIDR notation, or `dhcp`."),
		f("gateway", fString, "Gateway."),
		f("mac", fString, "MAC address; PVE generates one when unset."),
		f("nameservers", fStringList, "DNS servers."),
	),
	f("unprivileged", fBool, "Unprivileged container.").forcesNew(),
	f("pct_options", fStringList, "Container feature flags (`nesting=1`, `keyctl=1`...); flags other than nesting need root@pam."),
	f("lxc_options", fStringList, "Raw `lxc.*` lines written to `/etc/pve/lxc/ID.conf` over SSH (no API exists for them)."),
	f("apparmor_profile", fString, "AppArmor profile (`lxc.apparmor.profile`)."),
	f("apparmor_manages_nesting", fBool, "Whether the AppArmor profile handles nesting (informational)."),
	f("gpus", fStringList, "GPU indices passed through (`gpu_assignment`)."),
	f("mount_points", fObjectList, "Volumes (`volumes`, `zfs_volumes`) and shared bind mounts (`shared_volumes`), matched by `path`.",
		f("type", fString, "`volume`, `zfs_volume` or `bind`."),
		f("name", fString, "Volume name."),
		f("storage", fString, "Storage of a volume."),
		f("size_gb", fInt, "Size of a volume in GiB (grows in place)."),
		f("host_path", fString, "Host path of a bind mount (root@pam only)."),
		f("path", fString, "Mount point inside the guest."),
	),
	f("firewall", fObject, "Guest firewall.",
		f("enabled", fBool, "Firewall enabled."),
		f("rules", fObjectList, "Rules in order.",
			f("type", fString, "`in` or `out`."),
			f("action", fString, "`ACCEPT`, `DROP` or `REJECT`."),
			f("source", fString, "Source address."),
			f("dest", fString, "Destination address."),
			f("proto", fString, "Protocol."),
			f("port", fString, "Destination port(s)."),
			f("comment", fString, "Comment."),
		),
	),
	f("ports", fStringList, "Port mappings `host:guest` (informational)."),
	f("features", fObjectList, "Feature scripts in run order. Each runs once; a changed script, `trigger` or an added feature re-runs only that feature.",
		f("name", fString, "Feature name."),
		f("path", fString, "Script path on the machine running Terraform."),
		f("content", fString, "Inline script, instead of `path`."),
		f("host", fBool, "Run on the PVE node with the CTID as argument (phoenix host scripts that call `pct exec` themselves)."),
		f("trigger", fString, "Any value; changing it re-runs the feature."),
	),
	f("common_utils", fString, "Path of `phoenix_hypervisor_common_utils.sh`, pushed beside every script."),
	f("application_script", fString, "Script run after the features (absolute when `features_dir` is set)."),
	f("health_checks", fObjectList, "Health checks run after apply (`tests.health_checks` scripts and the `health_check` command).",
		f("name", fString, "Check name."),
		f("type", fString, "`script` or `command`."),
		f("path", fString, "Script path."),
		f("command", fString, "Command."),
		f("retries", fInt, "Retries."),
		f("interval", fInt, "Seconds between retries."),
	),
	f("dependencies", fIntList, "IDs this guest waits for."),
	f("cloud_init", fObject, "VM cloud-init user (`cloud_init` or `user_config`).",
		f("username", fString, "User."),
		f("ssh_authorized_keys", fStringList, "SSH public keys."),
		f("packages", fStringList, "Packages."),
	),
	f("extra_json", fString, "The entry's keys the model does not represent (vllm_*, portainer_role...), as a JSON object; handed to feature scripts."),
	f("source", fString, "Where the guest is defined: `file: JSON path`."),
}

// guestAttributes is the data source's view: every field computed.
func guestAttributes() map[string]dschema.Attribute {
	return dataAttrs(guestFields)
}

func dataAttrs(fields []field) map[string]dschema.Attribute {
	out := make(map[string]dschema.Attribute, len(fields))
	for _, x := range fields {
		switch x.kind {
		case fString:
			out[x.name] = dschema.StringAttribute{Computed: true, MarkdownDescription: x.desc}
		case fInt:
			out[x.name] = dschema.Int64Attribute{Computed: true, MarkdownDescription: x.desc}
		case fBool:
			out[x.name] = dschema.BoolAttribute{Computed: true, MarkdownDescription: x.desc}
		case fStringList:
			out[x.name] = dschema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: x.desc}
		case fIntList:
			out[x.name] = dschema.ListAttribute{Computed: true, ElementType: types.Int64Type, MarkdownDescription: x.desc}
		case fObject:
			out[x.name] = dschema.SingleNestedAttribute{Computed: true, MarkdownDescription: x.desc, Attributes: dataAttrs(x.children)}
		case fObjectList:
			out[x.name] = dschema.ListNestedAttribute{Computed: true, MarkdownDescription: x.desc,
				NestedObject: dschema.NestedAttributeObject{Attributes: dataAttrs(x.children)}}
		}
	}
	return out
}

// specAttributes is phoenix_guest's `spec`: every field optional, with the
// replacement rules PVE imposes.
func specAttributes(fields []field, top bool) map[string]rschema.Attribute {
	out := make(map[string]rschema.Attribute, len(fields))
	for _, x := range fields {
		required := top && (x.name == "vmid" || x.name == "kind")
		switch x.kind {
		case fString:
			a := rschema.StringAttribute{Optional: !required, Required: required, MarkdownDescription: x.desc}
			if x.replace {
				a.PlanModifiers = []planmodifier.String{stringplanmodifier.RequiresReplace()}
			}
			out[x.name] = a
		case fInt:
			a := rschema.Int64Attribute{Optional: !required, Required: required, MarkdownDescription: x.desc}
			if x.replace {
				a.PlanModifiers = []planmodifier.Int64{int64planmodifier.RequiresReplace()}
			}
			if x.name == "disk_size_gb" {
				a.PlanModifiers = []planmodifier.Int64{int64planmodifier.RequiresReplaceIf(shrinks,
					"PVE only grows disks: a smaller size recreates the guest.", "PVE only grows disks: a smaller size recreates the guest.")}
			}
			out[x.name] = a
		case fBool:
			a := rschema.BoolAttribute{Optional: true, MarkdownDescription: x.desc}
			if x.replace {
				a.PlanModifiers = []planmodifier.Bool{boolplanmodifier.RequiresReplace()}
			}
			out[x.name] = a
		case fStringList:
			out[x.name] = rschema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: x.desc}
		case fIntList:
			out[x.name] = rschema.ListAttribute{Optional: true, ElementType: types.Int64Type, MarkdownDescription: x.desc}
		case fObject:
			out[x.name] = rschema.SingleNestedAttribute{Optional: true, MarkdownDescription: x.desc, Attributes: specAttributes(x.children, false)}
		case fObjectList:
			out[x.name] = rschema.ListNestedAttribute{Optional: true, MarkdownDescription: x.desc,
				NestedObject: rschema.NestedAttributeObject{Attributes: specAttributes(x.children, false)}}
		}
	}
	return out
}
