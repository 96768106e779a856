package provider

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// A guest carries its own definition: the applied spec, the scripts that ran
// and the resource's settings are written, compressed, into the last line of
// its PVE description. PVE cannot hold most of the spec (scripts, clone
// source, template path), so this is what lets `terraform import` produce a
// state whose next plan is empty, and what survives a lost state file.

const metaPrefix = "phoenix-meta:v1:"

type guestMeta struct {
	Spec         string            `json:"s"` // base64 msgpack of the spec object
	Provisioned  map[string]string `json:"p,omitempty"`
	Started      bool              `json:"started"`
	AllowRestart bool              `json:"allow_restart,omitempty"`
	Taint        bool              `json:"taint_on_failure"`
	WarnOnly     bool              `json:"health_checks_warn_only,omitempty"`
	Node         string            `json:"node,omitempty"`
}

// specType is the object type of the spec attribute.
func specType() types.ObjectType {
	a := rschema.SingleNestedAttribute{Attributes: specAttributes(guestFields, true)}
	return a.GetType().(types.ObjectType)
}

// describe renders the description that carries the metadata.
func describe(ctx context.Context, m *guestResourceModel, recs []provision.Record) (string, error) {
	obj, d := types.ObjectValueFrom(ctx, specType().AttrTypes, m.Spec)
	if d.HasError() {
		return "", errors.New("cannot encode spec")
	}
	tv, err := obj.ToTerraformValue(ctx)
	if err != nil {
		return "", err
	}
	dv, err := tfprotov6.NewDynamicValue(specType().TerraformType(ctx), tv)
	if err != nil {
		return "", err
	}
	meta := guestMeta{Spec: base64.StdEncoding.EncodeToString(dv.MsgPack), Provisioned: map[string]string{},
		Started: m.Started.ValueBool(), AllowRestart: m.AllowRestart.ValueBool(), Taint: m.TaintOnFailure.ValueBool(),
		WarnOnly: m.HealthChecksWarnOnly.ValueBool(), Node: m.Node.ValueString()}
	for _, r := range recs {
		if r.Status == provision.StatusOK {
			meta.Provisioned[r.Name] = r.Digest
		}
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	return "Managed by Terraform (phoenix_guest); the line below records its definition for import.\n" +
		metaPrefix + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// decodeMeta reads the metadata line of a description.
func decodeMeta(ctx context.Context, description string) (*guestModel, *guestMeta, error) {
	i := strings.LastIndex(description, metaPrefix)
	if i < 0 {
		return nil, nil, nil
	}
	line := strings.TrimSpace(strings.SplitN(description[i+len(metaPrefix):], "\n", 2)[0])
	zipped, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		return nil, nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		return nil, nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	var meta guestMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, nil, err
	}
	mp, err := base64.StdEncoding.DecodeString(meta.Spec)
	if err != nil {
		return nil, nil, err
	}
	tv, err := (&tfprotov6.DynamicValue{MsgPack: mp}).Unmarshal(specType().TerraformType(ctx))
	if err != nil {
		return nil, nil, err
	}
	v, err := specType().ValueFromTerraform(ctx, tv)
	if err != nil {
		return nil, nil, err
	}
	var spec guestModel
	if d := v.(basetypes.ObjectValue).As(ctx, &spec, basetypes.ObjectAsOptions{}); d.HasError() {
		return nil, nil, errors.New("metadata does not match the spec schema")
	}
	return &spec, &meta, nil
}

// loadImported fills an imported state from the guest's metadata when it has
// some; ok is false for guests created outside this provider.
func (r *GuestResource) loadImported(ctx context.Context, env lifecycle.Env, id int, state *guestResourceModel, diags *diag.Diagnostics) (ok bool) {
	ref, found, err := env.API.Locate(ctx, id)
	if err != nil || !found {
		return false
	}
	cfg, err := env.API.Config(ctx, ref)
	if err != nil {
		return false
	}
	spec, meta, err := decodeMeta(ctx, cfg.Values["description"])
	if err != nil {
		diags.AddWarning("Guest metadata unreadable", "The description of guest "+ref.String()+" holds phoenix metadata that cannot be read ("+err.Error()+"); importing from PVE's configuration only.")
		return false
	}
	if spec == nil {
		return false
	}
	state.Spec = spec
	elems := map[string]attr.Value{}
	for k, v := range meta.Provisioned {
		elems[k] = types.StringValue(v)
	}
	state.Provisioned = types.MapValueMust(types.StringType, elems)
	state.Started = types.BoolValue(meta.Started)
	state.AllowRestart = types.BoolValue(meta.AllowRestart)
	state.TaintOnFailure = types.BoolValue(meta.Taint)
	state.HealthChecksWarnOnly = types.BoolValue(meta.WarnOnly)
	if meta.Node != "" {
		state.Node = types.StringValue(meta.Node)
	}
	return true
}

// importDefaults gives an imported state the schema defaults and empty
// computed values, as a create would.
func importDefaults(state *guestResourceModel) {
	if state.Started.IsNull() {
		state.Started = types.BoolValue(true)
	}
	if state.AllowRestart.IsNull() {
		state.AllowRestart = types.BoolValue(false)
	}
	if state.TaintOnFailure.IsNull() {
		state.TaintOnFailure = types.BoolValue(true)
	}
	if state.HealthChecksWarnOnly.IsNull() {
		state.HealthChecksWarnOnly = types.BoolValue(false)
	}
	if state.Provisioned.IsNull() {
		state.Provisioned = types.MapValueMust(types.StringType, map[string]attr.Value{})
	}
	state.PendingRestart = stringListValue(nil)
	state.Health = healthList(nil)
	state.ProvisioningError = types.StringNull()
}

// specFromObserved builds a spec from what PVE holds, for a guest without
// metadata: the configuration-only fields stay null.
func specFromObserved(g *phoenix.Guest) *guestModel {
	m := newGuestModel(g, nil)
	m.Source = types.StringNull()
	m.ExtraJSON = types.StringNull()
	m.IsTemplate = types.BoolNull()
	return &m
}

// writeMeta records the applied definition in the guest's description when
// it changed; a failure only warns, as the guest itself is fine.
func (r *GuestResource) writeMeta(ctx context.Context, env lifecycle.Env, ref pve.Ref, m *guestResourceModel, recs []provision.Record, diags *diag.Diagnostics) {
	desc, err := describe(ctx, m, recs)
	if err == nil && len(desc) > 8000 {
		err = errors.New("the definition is larger than PVE's 8 KiB description limit")
	}
	if err == nil {
		err = lifecycle.SetDescription(ctx, env, ref, desc)
	}
	if err != nil {
		diags.AddWarning("Unable to record guest metadata", "Guest "+m.ID.ValueString()+" works, but its definition could not be stored in its description ("+err.Error()+"); importing it later will show configuration-only fields as changes.")
	}
}
