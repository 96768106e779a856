package provider

import (
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// One table describes a guest's attributes; the data source renders it as
// computed attributes and phoenix_guest as its `spec` argument, so the two
// cannot drift apart and `spec = each.value` always type-checks. Each field
// carries what the resource needs declaratively: PVE's validation rules,
// whether a change recreates the guest, and whether it waits for a restart.

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
	required   bool
	sensitive  bool
	// replace marks creation-only inputs: a change recreates the guest.
	replace bool
	// untold marks creation-only inputs PVE cannot tell (template, clone
	// source): import leaves them null, and they never force replacement of
	// an imported guest.
	untold bool
	// shrink recreates the guest when the value decreases (PVE only grows disks).
	shrink bool
	// restart lists the kinds on which a change to a running guest waits
	// for its next restart (PVE's pending section).
	restart []phoenix.Kind
	str     []validator.String
	num     []validator.Int64
	// elemStr and elemNum validate each element of a list.
	elemStr []validator.String
	elemNum []validator.Int64
}

func f(name string, kind fieldKind, desc string, children ...field) field {
	return field{name: name, kind: kind, desc: desc, children: children}
}

func (x field) forcesNew() field  { x.replace = true; return x }
func (x field) unknowable() field { x.replace, x.untold = true, true; return x }
func (x field) mandatory() field  { x.required = true; return x }
func (x field) secret() field     { x.sensitive = true; return x }
func (x field) shrinks() field    { x.shrink = true; return x }
func (x field) restartsOn(kinds ...phoenix.Kind) field {
	x.restart = kinds
	return x
}

// is adds validators of the attribute (lists: of each element).
func (x field) is(rules ...any) field {
	list := x.kind == fStringList || x.kind == fIntList
	for _, r := range rules {
		switch v := r.(type) {
		case validator.String:
			if list {
				x.elemStr = append(x.elemStr, v)
			} else {
				x.str = append(x.str, v)
			}
		case validator.Int64:
			if list {
				x.elemNum = append(x.elemNum, v)
			} else {
				x.num = append(x.num, v)
			}
		}
	}
	return x
}

var (
	lxc = phoenix.KindLXC
	vm  = phoenix.KindVM
)

var guestFields = []field{
	f("vmid", fInt, "Guest ID (CTID or VMID), 100 to 999999999.").mandatory().forcesNew().is(guestIDRule),
	f("kind", fString, "`lxc` or `vm`.").mandatory().forcesNew().is(oneOf("guest kind", "lxc", "vm")),
	f("name", fString, "Hostname (containers) or VM name: a DNS name.").is(dnsNameRule),
	f("cores", fInt, "CPU cores (1 to 8192).").is(between("core count", 1, 8192)).restartsOn(vm),
	f("memory_mb", fInt, "Memory in MiB (at least 16).").is(atLeast("memory size", 16)).restartsOn(vm),
	f("swap_mb", fInt, "Swap in MiB (containers).").is(atLeast("swap size", 0)),
	f("disk_size_gb", fInt, "Root disk size in GiB (`storage_size_gb` for containers, `disk_size_gb` for VMs). Grows in place; a smaller value recreates the guest.").
		is(atLeast("disk size", 1)).shrinks(),
	f("storage", fString, "Storage for the root disk (`storage_pool`).").forcesNew().is(storageRule),
	f("template", fString, "OS template as written in the phoenix config (containers: tarball path).").unknowable().is(templateRule),
	f("os_template", fString, "OS template as a PVE volume ID (`storage:vztmpl/file`); resolved from `template` by `phoenix_config` when it lies on a dir storage.").
		unknowable().is(volumeRule),
	f("template_image", fString, "Cloud image a VM is created from.").unknowable().is(templateRule),
	f("os_type", fString, "OS type (VMs: `ostype`, e.g. `l26`; phoenix's distribution names are accepted).").is(osTypeRule).restartsOn(vm),
	f("clone_from", fInt, "Clone source ID (`clone_from_ctid` / `clone_from_vmid`).").unknowable().is(guestIDRule),
	f("clone_snapshot", fString, "Snapshot of the clone source to clone from (the source's `template_snapshot_name`).").unknowable().is(snapshotRule),
	f("template_snapshot_name", fString, "Snapshot taken once after provisioning, so clones inherit the provisioned software.").is(snapshotRule),
	f("is_template", fBool, "VMs: finalise the VM after provisioning (cloud-init state and machine-id reset, clean shutdown) and convert it into a PVE template; "+
		"setting it on an existing VM converts it in place. PVE cannot turn a template back into a VM. Containers: phoenix's container templates are snapshots (`template_snapshot_name`)."),
	f("start_at_boot", fBool, "Start on node boot (`onboot`)."),
	f("boot_order", fInt, "Startup order (`startup` order, 0 or more).").is(atLeast("boot order", 0)),
	f("boot_delay", fInt, "Startup delay in seconds (`startup` up, 0 or more).").is(atLeast("boot delay", 0)),
	f("network", fObject, "First network interface (`net0`; VMs: `net0` and cloud-init `ipconfig0`).",
		f("name", fString, "Interface name inside the guest.").is(ifaceRule),
		f("bridge", fString, "Bridge.").is(bridgeRule),
		f("ip", fString, "IPv4 address in CIDR notation, `dhcp`, or (containers) `manual`.").is(ipConfRule),
		f("gateway", fString, "IPv4 gateway.").is(gatewayRule),
		f("mac", fString, "MAC address; PVE generates one when unset.").is(macRule),
		f("nameservers", fStringList, "DNS servers.").is(ipRule),
		f("search_domain", fString, "DNS search domain (`searchdomain`; phoenix `network_config.search_domain`).").is(dnsListRule),
	),
	f("unprivileged", fBool, "Unprivileged container.").forcesNew(),
	f("pct_options", fStringList, "Container feature flags (`nesting=1`, `keyctl=1`...); flags other than nesting need root@pam.").
		is(pctOptionRule).restartsOn(lxc),
	f("lxc_options", fStringList, "Raw `lxc.*` lines written to `/etc/pve/lxc/ID.conf` over SSH (no API exists for them).").is(lxcOptionRule).restartsOn(lxc),
	f("apparmor_profile", fString, "AppArmor profile (`lxc.apparmor.profile`).").is(expect("AppArmor profile", "a profile name without spaces",
		func(v string) bool { return v != "" && !strings.ContainsAny(v, " \t\n\r") })).restartsOn(lxc),
	f("apparmor_manages_nesting", fBool, "Whether the AppArmor profile handles nesting (informational)."),
	f("gpus", fStringList, "GPU indices passed through (`gpu_assignment`).").is(gpuRule).restartsOn(lxc),
	f("mount_points", fObjectList, "Volumes (`volumes`, `zfs_volumes`) and shared bind mounts (`shared_volumes`), matched by `path`.",
		f("type", fString, "`volume`, `zfs_volume` or `bind`.").is(oneOf("mount type", "volume", "zfs_volume", "bind")),
		f("name", fString, "Volume name.").is(singleLine),
		f("storage", fString, "Storage of a volume.").is(storageRule),
		f("size_gb", fInt, "Size of a volume in GiB (grows in place).").is(atLeast("volume size", 1)),
		f("host_path", fString, "Host path of a bind mount (root@pam only).").is(absPathRule),
		f("path", fString, "Mount point inside the guest.").is(absPathRule),
	),
	f("firewall", fObject, "Guest firewall.",
		f("enabled", fBool, "Firewall enabled."),
		f("rules", fObjectList, "Rules in order.",
			f("type", fString, "`in`, `out` or `group`.").is(fwTypeRule),
			f("action", fString, "`ACCEPT`, `DROP` or `REJECT`; the security group for `group` rules.").is(fwActionRule),
			f("source", fString, "Source address, CIDR, alias or `+ipset`.").is(fwAddrRule),
			f("dest", fString, "Destination address, CIDR, alias or `+ipset`.").is(fwAddrRule),
			f("proto", fString, "Protocol name or number.").is(protoRule),
			f("port", fString, "Destination ports: numbers and ranges `a:b`, comma-separated.").is(fwPortRule),
			f("comment", fString, "Comment.").is(singleLine),
		),
	),
	f("ports", fStringList, "Port mappings `host:guest` (informational).").is(portMapRule),
	f("features", fObjectList, "Feature scripts in run order. Each runs once; a changed script, `trigger` or an added feature re-runs only that feature.",
		f("name", fString, "Feature name.").is(featureRule),
		f("path", fString, "Script path on the machine running Terraform.").is(fileRule),
		f("content", fString, "Inline script, instead of `path`. Never stored in PVE (only its digest).").is(nonEmptyRule),
		f("host", fBool, "Run on the PVE node with the CTID as argument (phoenix host scripts that call `pct exec` themselves)."),
		f("trigger", fString, "Any value; changing it re-runs the feature."),
	),
	f("common_utils", fString, "Path of `phoenix_hypervisor_common_utils.sh`, pushed beside every script.").is(fileRule),
	f("application_script", fString, "Script run after the features (absolute when `features_dir` is set).").is(fileRule),
	f("health_checks", fObjectList, "Health checks run after apply (`tests.health_checks` scripts and the `health_check` command).",
		f("name", fString, "Check name.").is(singleLine),
		f("type", fString, "`script` or `command`.").is(oneOf("health check type", "script", "command")),
		f("path", fString, "Script path.").is(fileRule),
		f("command", fString, "Command. Never stored in PVE (only its digest).").is(nonEmptyRule),
		f("retries", fInt, "Retries.").is(atLeast("retry count", 0)),
		f("interval", fInt, "Seconds between retries.").is(atLeast("interval", 0)),
	),
	f("dependencies", fIntList, "IDs this guest waits for.").is(guestIDRule),
	f("cloud_init", fObject, "VM cloud-init user (`cloud_init` or `user_config`).",
		f("username", fString, "User.").is(userRule),
		f("ssh_authorized_keys", fStringList, "SSH public keys.").is(sshKeyRule),
		f("packages", fStringList, "Packages.").is(packageRule),
		f("password", fString, "The user's password (`cipassword`). Sensitive: never in PVE descriptions or logs.").secret().is(nonEmptyRule),
	),
	f("extra_json", fString, "The entry's keys the model does not represent (vllm_*, portainer_role...), as a JSON object; handed to feature scripts. Only its digest is stored in PVE.").
		is(jsonObjectRule),
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
			out[x.name] = dschema.StringAttribute{Computed: true, Sensitive: x.sensitive, MarkdownDescription: x.desc}
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

// specAttributes is phoenix_guest's `spec`: every field optional (ID and
// kind required), with PVE's rules and the replacement rules.
func specAttributes(fields []field) map[string]rschema.Attribute {
	out := make(map[string]rschema.Attribute, len(fields))
	for _, x := range fields {
		opt := !x.required
		switch x.kind {
		case fString:
			a := rschema.StringAttribute{Optional: opt, Required: x.required, Sensitive: x.sensitive, MarkdownDescription: x.desc, Validators: x.str}
			if x.replace {
				a.PlanModifiers = []planmodifier.String{stringplanmodifier.RequiresReplaceIf(replaceString, replaceDesc, replaceDesc)}
			}
			out[x.name] = a
		case fInt:
			a := rschema.Int64Attribute{Optional: opt, Required: x.required, MarkdownDescription: x.desc, Validators: x.num}
			if x.replace {
				a.PlanModifiers = []planmodifier.Int64{int64planmodifier.RequiresReplaceIf(replaceInt64, replaceDesc, replaceDesc)}
			}
			if x.shrink {
				a.PlanModifiers = []planmodifier.Int64{int64planmodifier.RequiresReplaceIf(shrinks, shrinkDesc, shrinkDesc)}
			}
			out[x.name] = a
		case fBool:
			a := rschema.BoolAttribute{Optional: true, MarkdownDescription: x.desc}
			if x.replace {
				a.PlanModifiers = []planmodifier.Bool{boolplanmodifier.RequiresReplaceIf(replaceBool, replaceDesc, replaceDesc)}
			}
			out[x.name] = a
		case fStringList:
			out[x.name] = rschema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: x.desc,
				Validators: listRules(listvalidator.ValueStringsAre(x.elemStr...), len(x.elemStr))}
		case fIntList:
			out[x.name] = rschema.ListAttribute{Optional: true, ElementType: types.Int64Type, MarkdownDescription: x.desc,
				Validators: listRules(listvalidator.ValueInt64sAre(x.elemNum...), len(x.elemNum))}
		case fObject:
			out[x.name] = rschema.SingleNestedAttribute{Optional: true, MarkdownDescription: x.desc, Attributes: specAttributes(x.children)}
		case fObjectList:
			out[x.name] = rschema.ListNestedAttribute{Optional: true, MarkdownDescription: x.desc,
				NestedObject: rschema.NestedAttributeObject{Attributes: specAttributes(x.children)}}
		}
	}
	return out
}

func listRules(v validator.List, n int) []validator.List {
	if n == 0 {
		return nil
	}
	return []validator.List{v}
}

// specType is the object type of the spec attribute, and of each guest of
// the data source.
var specType = func() types.ObjectType {
	a := rschema.SingleNestedAttribute{Attributes: specAttributes(guestFields)}
	return a.GetType().(types.ObjectType)
}()

// attrType is the type of a nested attribute of the spec: attrType("network")
// is the network object, attrType("firewall", "rules") a rule object (the
// element type of a list).
func attrType(names ...string) attr.Type {
	var t attr.Type = specType
	for _, n := range names {
		if l, ok := t.(types.ListType); ok {
			t = l.ElemType
		}
		t = t.(types.ObjectType).AttrTypes[n]
	}
	if l, ok := t.(types.ListType); ok {
		return l.ElemType
	}
	return t
}

func objectType(names ...string) types.ObjectType { return attrType(names...).(types.ObjectType) }
