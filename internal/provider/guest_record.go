package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
)

// A guest's PVE description carries lifecycle.Metadata; its Record is this
// provider's part: the spec and the resource's settings, which is what
// `terraform import` restores. Anyone with audit rights reads descriptions,
// so inline script contents, health-check commands and extra_json are
// replaced by their digests, and the cloud-init password is left out.

// guestRecord is the resource's record in a guest's metadata.
type guestRecord struct {
	// Spec is the spec as JSON (nulls omitted), without secrets.
	Spec json.RawMessage `json:"spec,omitempty"`
	// Digests are the SHA-256 of what Spec leaves out, by attribute path
	// ("features[1].content", "extra_json").
	Digests map[string]string `json:"digests,omitempty"`
	// Observed lists spec attributes left out for PVE's 8 KiB limit:
	// import reads them back from PVE.
	Observed []string `json:"observed,omitempty"`
	Settings settings `json:"settings"`
}

// settings are the resource's arguments beside spec.
type settings struct {
	Started       bool   `json:"started"`
	AllowRestart  bool   `json:"allow_restart,omitempty"`
	Taint         bool   `json:"taint_on_failure"`
	WarnOnly      bool   `json:"health_checks_warn_only,omitempty"`
	Node          string `json:"node,omitempty"`
	ScriptTimeout *int64 `json:"script_timeout_seconds,omitempty"`
	ConfigDir     string `json:"config_dir,omitempty"`
	FeaturesDir   string `json:"features_dir,omitempty"`
}

// observable are the spec's lists PVE can tell, dropped first when the
// metadata would not fit PVE's description limit.
var observable = []string{"firewall.rules", "mount_points", "lxc_options", "pct_options"}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// scrubbed returns the spec without secrets, and the digests of what it left out.
func scrubbed(ctx context.Context, spec guestModel) (guestModel, map[string]string) {
	digests := map[string]string{}
	if x := spec.ExtraJSON; !x.IsNull() && x.ValueString() != "{}" && x.ValueString() != "" {
		digests["extra_json"] = digestOf(x.ValueString())
	}
	spec.ExtraJSON = types.StringNull()
	if fs := listAs[featureModel](ctx, spec.Features); fs != nil {
		for i := range fs {
			if !fs[i].Content.IsNull() {
				digests[fmt.Sprintf("features[%d].content", i)] = digestOf(fs[i].Content.ValueString())
				fs[i].Content = types.StringNull()
			}
		}
		spec.Features = listOf(ctx, "features", fs)
	}
	if hcs := listAs[healthCheckModel](ctx, spec.HealthChecks); hcs != nil {
		for i := range hcs {
			if !hcs[i].Command.IsNull() {
				digests[fmt.Sprintf("health_checks[%d].command", i)] = digestOf(hcs[i].Command.ValueString())
				hcs[i].Command = types.StringNull()
			}
		}
		spec.HealthChecks = listOf(ctx, "health_checks", hcs)
	}
	if ci := objAs[cloudInitModel](ctx, spec.CloudInit); ci != nil {
		ci.Password = types.StringNull()
		spec.CloudInit = objectOf(ctx, "cloud_init", *ci)
	}
	return spec, digests
}

// withoutObservable empties the lists PVE can tell (an empty list means
// "read it from PVE" on import).
func withoutObservable(ctx context.Context, spec guestModel) guestModel {
	empty := func(l types.List) types.List {
		if l.IsNull() {
			return l
		}
		return types.ListValueMust(l.ElementType(ctx), []attr.Value{})
	}
	spec.MountPoints = empty(spec.MountPoints)
	spec.PctOptions = empty(spec.PctOptions)
	spec.LXCOptions = empty(spec.LXCOptions)
	if fw := objAs[firewallModel](ctx, spec.Firewall); fw != nil {
		fw.Rules = empty(fw.Rules)
		spec.Firewall = objectOf(ctx, "firewall", *fw)
	}
	return spec
}

// metadata renders what a guest's description records. The record shrinks
// until it fits PVE's limit: first the lists PVE can tell go, then the spec;
// the guest stays adoptable either way.
func metadata(ctx context.Context, spec guestModel, set settings, ready bool, recs []provision.Record) (string, error) {
	g := spec.toGuest(ctx)
	m := lifecycle.Metadata{ID: g.ID, Kind: g.Kind, Ready: ready, Origin: lifecycle.OriginOf(g), Provisioned: map[string]string{}}
	for _, r := range recs {
		if r.Status == provision.StatusOK {
			m.Provisioned[r.Name] = r.Digest
		}
	}
	clean, digests := scrubbed(ctx, spec)
	for level := 0; ; level++ {
		rec := guestRecord{Digests: digests, Settings: set}
		switch level {
		case 0:
			rec.Spec = specJSON(ctx, clean)
		case 1:
			rec.Spec, rec.Observed = specJSON(ctx, withoutObservable(ctx, clean)), observable
		}
		raw, err := json.Marshal(rec)
		if err != nil {
			return "", err
		}
		m.Record = raw
		desc, err := m.Description()
		if errors.Is(err, lifecycle.ErrDescriptionTooLarge) && level < 2 {
			continue
		}
		return desc, err
	}
}

// decodeRecord restores a spec from a record; nil when the record holds none.
func decodeRecord(ctx context.Context, raw json.RawMessage) (*guestModel, *guestRecord, error) {
	var rec guestRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, nil, fmt.Errorf("the record is not JSON: %w", err)
	}
	if len(rec.Spec) == 0 {
		return nil, &rec, nil
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Spec))
	dec.UseNumber()
	var j any
	if err := dec.Decode(&j); err != nil {
		return nil, nil, fmt.Errorf("the recorded spec is not JSON: %w", err)
	}
	v, err := fromJSON(specType, j)
	if err != nil {
		return nil, nil, fmt.Errorf("the recorded spec does not match this provider's schema: %w", err)
	}
	spec := objAs[guestModel](ctx, v.(types.Object))
	if spec == nil {
		return nil, nil, errors.New("the recorded spec is empty")
	}
	return spec, &rec, nil
}

// unrestored lists, sorted, what import cannot restore from a record.
func (rec *guestRecord) unrestored() []string {
	out := make([]string, 0, len(rec.Digests))
	for p := range rec.Digests {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func specJSON(ctx context.Context, spec guestModel) json.RawMessage {
	obj, d := types.ObjectValueFrom(ctx, specType.AttrTypes, spec)
	if d.HasError() {
		panic("provider bug: the spec model does not match its schema")
	}
	raw, _ := json.Marshal(toJSON(obj))
	return raw
}

// toJSON renders a framework value as plain JSON values, omitting nulls.
func toJSON(v attr.Value) any {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	switch x := v.(type) {
	case types.String:
		return x.ValueString()
	case types.Int64:
		return x.ValueInt64()
	case types.Bool:
		return x.ValueBool()
	case types.List:
		out := make([]any, 0, len(x.Elements()))
		for _, e := range x.Elements() {
			out = append(out, toJSON(e))
		}
		return out
	case types.Object:
		out := map[string]any{}
		for k, e := range x.Attributes() {
			if j := toJSON(e); j != nil {
				out[k] = j
			}
		}
		return out
	}
	return nil
}

// fromJSON is toJSON's inverse for a given type: missing values are null.
func fromJSON(t attr.Type, j any) (attr.Value, error) {
	switch tt := t.(type) {
	case types.ObjectType:
		m, ok := j.(map[string]any)
		if j == nil {
			return types.ObjectNull(tt.AttrTypes), nil
		}
		if !ok {
			return nil, fmt.Errorf("expected an object, got %T", j)
		}
		attrs := make(map[string]attr.Value, len(tt.AttrTypes))
		for k, at := range tt.AttrTypes {
			v, err := fromJSON(at, m[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			attrs[k] = v
		}
		v, d := types.ObjectValue(tt.AttrTypes, attrs)
		if d.HasError() {
			return nil, errors.New("object does not match its type")
		}
		return v, nil
	case types.ListType:
		if j == nil {
			return types.ListNull(tt.ElemType), nil
		}
		arr, ok := j.([]any)
		if !ok {
			return nil, fmt.Errorf("expected a list, got %T", j)
		}
		elems := make([]attr.Value, len(arr))
		for i, e := range arr {
			v, err := fromJSON(tt.ElemType, e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			elems[i] = v
		}
		v, d := types.ListValue(tt.ElemType, elems)
		if d.HasError() {
			return nil, errors.New("list does not match its type")
		}
		return v, nil
	}
	switch t {
	case types.StringType:
		if s, ok := j.(string); ok {
			return types.StringValue(s), nil
		}
		return types.StringNull(), nil
	case types.Int64Type:
		if n, ok := j.(json.Number); ok {
			i, err := strconv.ParseInt(string(n), 10, 64)
			return types.Int64Value(i), err
		}
		return types.Int64Null(), nil
	case types.BoolType:
		if b, ok := j.(bool); ok {
			return types.BoolValue(b), nil
		}
		return types.BoolNull(), nil
	}
	return nil, fmt.Errorf("unsupported type %s", t)
}
