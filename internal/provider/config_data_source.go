package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

var (
	_ datasource.DataSource                     = &ConfigDataSource{}
	_ datasource.DataSourceWithConfigValidators = &ConfigDataSource{}
)

// NewConfigDataSource returns the phoenix_config data source.
func NewConfigDataSource() datasource.DataSource {
	return &ConfigDataSource{}
}

// ConfigDataSource ingests the phoenix JSON files and exposes every guest, typed.
type ConfigDataSource struct{}

type configDataSourceModel struct {
	ID             types.String          `tfsdk:"id"`
	ConfigDir      types.String          `tfsdk:"config_dir"`
	HypervisorFile types.String          `tfsdk:"hypervisor_config_file"`
	LXCFile        types.String          `tfsdk:"lxc_config_file"`
	VMFile         types.String          `tfsdk:"vm_config_file"`
	FeaturesDir    types.String          `tfsdk:"features_dir"`
	Guests         map[string]guestModel `tfsdk:"guests"`
	LXCIDs         []types.Int64         `tfsdk:"lxc_ids"`
	VMIDs          []types.Int64         `tfsdk:"vm_ids"`
	Tiers          [][]types.Int64       `tfsdk:"tiers"`
	StorageIDs     map[string]string     `tfsdk:"storage_ids"`
	Storages       []storageModel        `tfsdk:"storages"`
	Network        *hostNetworkModel     `tfsdk:"network"`
	Warnings       []types.String        `tfsdk:"warnings"`
}

type storageModel struct {
	ID      types.String   `tfsdk:"id"`
	Type    types.String   `tfsdk:"type"`
	Content []types.String `tfsdk:"content"`
	Path    types.String   `tfsdk:"path"`
}

type hostNetworkModel struct {
	Bridge        types.String   `tfsdk:"bridge"`
	Address       types.String   `tfsdk:"address"`
	Gateway       types.String   `tfsdk:"gateway"`
	Nameservers   []types.String `tfsdk:"nameservers"`
	DefaultSubnet types.String   `tfsdk:"default_subnet"`
}

func (d *ConfigDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_config"
}

// Long by design: one declarative entry per attribute, read top to bottom.
func (d *ConfigDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the phoenix JSON configuration files unchanged (`phoenix_hypervisor_config.json`, " +
			"`phoenix_lxc_configs.json` and, in the split layout, `phoenix_vm_configs.json`), validates them and exposes " +
			"every guest with defaults merged, in the shape of `phoenix_guest`'s arguments. Every validation problem is " +
			"reported at once, each naming the file and the JSON path; a file that is not valid JSON is reported alone. " +
			"Warnings (such as an unknown key that is a likely typo of a known one, e.g. `memroy_mb`) are shown together with errors; " +
			"other unknown keys are kept in `extra_json`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "Digest of the ingested configuration: the same files always give the same id, and any change to a guest definition, the storages or the network changes it (e.g. as a `trigger`).",
				Computed:            true,
			},
			"config_dir": schema.StringAttribute{
				MarkdownDescription: "Directory holding the phoenix files, found by their names. Explicit file paths below override it.",
				Optional:            true,
			},
			"hypervisor_config_file": schema.StringAttribute{
				MarkdownDescription: "Path of `phoenix_hypervisor_config.json`.",
				Optional:            true,
			},
			"lxc_config_file": schema.StringAttribute{
				MarkdownDescription: "Path of `phoenix_lxc_configs.json`.",
				Optional:            true,
			},
			"vm_config_file": schema.StringAttribute{
				MarkdownDescription: "Path of `phoenix_vm_configs.json` (split layout).",
				Optional:            true,
			},
			"features_dir": schema.StringAttribute{
				MarkdownDescription: "Phoenix's `bin/` folder. When set, feature, application and health-check scripts are resolved " +
					"to absolute paths (`lxc_setup/phoenix_hypervisor_feature_install_X.sh`, `vm_features/feature_install_X.sh`, " +
					"`application_script` relative to it, health checks under `tests/`) and a missing script is an error.",
				Optional: true,
			},
			"guests": schema.MapNestedAttribute{
				MarkdownDescription: "Every guest keyed by its ID (as a string), shaped like `phoenix_guest`'s arguments.",
				Computed:            true,
				NestedObject:        schema.NestedAttributeObject{Attributes: guestAttributes()},
			},
			"lxc_ids": schema.ListAttribute{
				MarkdownDescription: "Container IDs, ascending.",
				Computed:            true,
				ElementType:         types.Int64Type,
			},
			"vm_ids": schema.ListAttribute{
				MarkdownDescription: "VM IDs, ascending.",
				Computed:            true,
				ElementType:         types.Int64Type,
			},
			"tiers": schema.ListAttribute{
				MarkdownDescription: "Guest IDs by dependency tier: each guest's clone source and dependencies sit in an earlier tier. Informational: `phoenix_guest` orders itself (see its `estate`).",
				Computed:            true,
				ElementType:         types.ListType{ElemType: types.Int64Type},
			},
			"storage_ids": schema.MapAttribute{
				MarkdownDescription: "Phoenix's `proxmox_storage_ids` (alias to PVE storage ID).",
				Computed:            true,
				ElementType:         types.StringType,
			},
			"storages": schema.ListNestedAttribute{
				MarkdownDescription: "PVE storages defined by the hypervisor config's zfs datasets (`<pool>-<name>`).",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":      schema.StringAttribute{Computed: true, MarkdownDescription: "Storage ID."},
					"type":    schema.StringAttribute{Computed: true, MarkdownDescription: "Storage type (`zfspool`, `dir`)."},
					"content": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Content types."},
					"path":    schema.StringAttribute{Computed: true, MarkdownDescription: "Mount path of a `dir` storage."},
				}},
			},
			"network": schema.SingleNestedAttribute{
				MarkdownDescription: "The hypervisor's network settings.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"bridge":         schema.StringAttribute{Computed: true, MarkdownDescription: "Bridge name (`vmbr0`)."},
					"address":        schema.StringAttribute{Computed: true, MarkdownDescription: "Host address, CIDR."},
					"gateway":        schema.StringAttribute{Computed: true, MarkdownDescription: "Host gateway."},
					"nameservers":    schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "DNS servers."},
					"default_subnet": schema.StringAttribute{Computed: true, MarkdownDescription: "Default guest subnet."},
				},
			},
			"warnings": schema.ListAttribute{
				MarkdownDescription: "Problems that do not stop ingestion (also reported as warnings).",
				Computed:            true,
				ElementType:         types.StringType,
			},
		},
	}
}

func (d *ConfigDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.AtLeastOneOf(path.MatchRoot("config_dir"), path.MatchRoot("hypervisor_config_file")),
	}
}

// readEstate reads and validates the phoenix files and resolves the scripts
// under featuresDir (when set): what phoenix_config exposes, and what a
// guest built on demand is built from. Warnings come with the estate, also
// when there are errors.
func readEstate(src phoenix.Sources, featuresDir string) (*phoenix.Estate, map[int]phoenix.Scripts, error) {
	estate, err := phoenix.Load(src)
	if err != nil {
		return estate, nil, err
	}
	if featuresDir == "" {
		return estate, nil, nil
	}
	scripts, probs := phoenix.ResolveScripts(estate, featuresDir)
	if len(probs) > 0 {
		return estate, scripts, probs
	}
	return estate, scripts, nil
}

func (d *ConfigDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m configDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	estate, scripts, err := readEstate(phoenix.Sources{Dir: m.ConfigDir.ValueString(), Hypervisor: m.HypervisorFile.ValueString(),
		LXC: m.LXCFile.ValueString(), VM: m.VMFile.ValueString()}, m.FeaturesDir.ValueString())
	m.Warnings = []types.String{}
	if estate != nil {
		for _, w := range estate.Warnings {
			resp.Diagnostics.AddWarning("Phoenix configuration warning", w.String())
			m.Warnings = append(m.Warnings, types.StringValue(w.String()))
		}
	}
	if err != nil {
		addProblems(&resp.Diagnostics, "Unable to read the phoenix configuration", err)
		return
	}

	m.Guests = make(map[string]guestModel, len(estate.Guests))
	var lxcIDs, vmIDs []int
	for _, g := range estate.Guests {
		m.Guests[idKey(g.ID)] = estateSpec(ctx, g, scripts)
		if g.Kind == phoenix.KindVM {
			vmIDs = append(vmIDs, g.ID)
		} else {
			lxcIDs = append(lxcIDs, g.ID)
		}
	}
	m.LXCIDs, m.VMIDs = sortedIDs(lxcIDs), sortedIDs(vmIDs)
	m.Tiers = make([][]types.Int64, len(estate.Tiers))
	for i, t := range estate.Tiers {
		m.Tiers[i] = sortedIDs(t)
	}
	m.StorageIDs = estate.StorageIDs
	m.Storages = []storageModel{}
	for _, st := range estate.Storages {
		m.Storages = append(m.Storages, storageModel{ID: types.StringValue(st.ID), Type: types.StringValue(st.Type),
			Content: stringSlice(st.Content), Path: optString(st.Path)})
	}
	n := estate.Network
	m.Network = &hostNetworkModel{Bridge: optString(n.Bridge), Address: optString(n.Address), Gateway: optString(n.Gateway),
		Nameservers: stringSlice(n.Nameservers), DefaultSubnet: optString(n.DefaultSubnet)}
	id, err := digest(ctx, &m)
	if err != nil {
		resp.Diagnostics.AddError("Unable to digest the phoenix configuration", err.Error())
		return
	}
	m.ID = types.StringValue(id)

	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// addProblems turns ingestion problems into one diagnostic each, so the user
// sees every problem of a run at once.
func addProblems(diags interface {
	AddError(string, string)
}, summary string, err error) {
	var probs phoenix.Problems
	if !errors.As(err, &probs) {
		diags.AddError(summary, err.Error())
		return
	}
	for _, p := range probs {
		detail := p.String()
		if p.Line > 0 && p.Path != "" {
			detail += fmt.Sprintf("\n(%s line %d, column %d)", p.File, p.Line, p.Column)
		}
		diags.AddError(summary, detail+"\n\nFix the file and run again.")
	}
}

// digest hashes a canonical encoding of everything the data source read
// (msgpack of the typed values: object attributes and map keys sorted), so
// the same files always give the same id and any change inside a guest
// (network_config, firewall, cloud_init...) changes it.
func digest(ctx context.Context, m *configDataSourceModel) (string, error) {
	h := sha256.New()
	keys := make([]string, 0, len(m.Guests))
	for k := range m.Guests {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		obj, d := types.ObjectValueFrom(ctx, specType.AttrTypes, m.Guests[k])
		if d.HasError() {
			return "", errors.New("a guest does not match its schema")
		}
		tv, err := obj.ToTerraformValue(ctx)
		if err != nil {
			return "", err
		}
		dv, err := tfprotov6.NewDynamicValue(specType.TerraformType(ctx), tv)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%d:%s:%d:", len(k), k, len(dv.MsgPack))
		h.Write(dv.MsgPack)
	}
	rest, err := json.Marshal(struct {
		Storages   []storageModel
		StorageIDs map[string]string
		Network    *hostNetworkModel
	}{m.Storages, m.StorageIDs, m.Network})
	if err != nil {
		return "", err
	}
	h.Write(rest)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// stringSlice keeps nil as nil.
func stringSlice(xs []string) []types.String {
	if xs == nil {
		return nil
	}
	out := make([]types.String, len(xs))
	for i, x := range xs {
		out[i] = types.StringValue(x)
	}
	return out
}
