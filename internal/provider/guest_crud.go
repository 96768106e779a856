package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
)

// env is the lifecycle environment of one operation, logging to Terraform's log.
func (r *GuestResource) env(ctx context.Context, node string) (lifecycle.Env, error) {
	return r.cfg.env(ctx, node, func(s string) { tflog.Info(ctx, s) })
}

// input is the build of the planned guest.
func (r *GuestResource) input(ctx context.Context, plan *guestResourceModel, prev []provision.Record, ref *lifecycle.Ref) (buildInput, error) {
	spec := objAs[guestModel](ctx, plan.Spec)
	if spec == nil {
		return buildInput{}, errors.New("the spec is not known; this is a provider bug")
	}
	return buildInput{spec: *spec, set: settingsOf(ctx, plan), prev: prev, ref: ref}, nil
}

func (r *GuestResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan guestResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	label := r.label(ctx, &plan)
	env, err := r.env(ctx, plan.Node.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable to create "+label, err.Error())
		return
	}
	in, err := r.input(ctx, &plan, nil, nil)
	if err != nil {
		resp.Diagnostics.AddError("Unable to create "+label, err.Error())
		return
	}
	out, err := r.cfg.apply(ctx, env, in)
	if !out.Exists {
		if err != nil {
			resp.Diagnostics.AddError("Unable to create "+label, err.Error())
		}
		return
	}
	switch {
	case out.Adopted && r.cfg.builds.builtOnDemand(out.Ref.ID):
		tflog.Info(ctx, out.Ref.String()+" was built in this apply for a guest that needs it: adopted")
	case out.Adopted:
		resp.Diagnostics.AddWarning("Adopted "+label,
			out.Ref.String()+" already existed, built by this provider by an earlier apply that did not record it in state (interrupted, or its state was lost): "+
				"it was converged to this spec instead of created.")
	}
	r.finish(ctx, env, &plan, out, err, plan.TaintOnFailure.ValueBool(), &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateImported, nil)...)
}

func (r *GuestResource) label(ctx context.Context, m *guestResourceModel) string {
	if spec := objAs[guestModel](ctx, m.Spec); spec != nil {
		return spec.label()
	}
	return "guest " + m.ID.ValueString()
}

// finish records an apply's outcome in the model and turns its failure into
// diagnostics. A guest that exists is always kept in state.
func (r *GuestResource) finish(ctx context.Context, env lifecycle.Env, m *guestResourceModel, out lifecycle.Outcome, err error, failHard bool, diags *diag.Diagnostics) {
	label := r.label(ctx, m)
	m.ID = types.StringValue(strconv.Itoa(out.Ref.ID))
	m.CurrentNode = types.StringValue(out.Ref.Node)
	m.Status = types.StringValue(map[bool]string{true: "running", false: "stopped"}[m.Started.ValueBool() && !out.Template])
	m.PendingRestart = stringListValue(out.PendingRestart)
	m.Provisioned = recordsMap(out.Records)
	m.Health = healthList(out.Checks)
	m.ProvisioningError = types.StringNull()
	for _, w := range out.Warnings {
		diags.AddWarning(label+" needs attention", w)
	}
	var stepErr *provision.StepError
	var agentErr *lifecycle.AgentError
	if err != nil {
		// A failed script or a silent guest agent leaves a guest that exists
		// but is not provisioned: the next apply resumes it.
		if (errors.As(err, &stepErr) || errors.As(err, &agentErr)) && !failHard {
			m.ProvisioningError = types.StringValue(err.Error())
			diags.AddWarning("Unable to provision "+label, err.Error()+"\n\nThe guest is kept; the next apply resumes from the failed script.")
			return
		}
		if st, e := lifecycle.RunState(ctx, env, out.Ref); e == nil {
			m.Status = types.StringValue(st)
		}
		diags.AddError("Unable to apply "+label, err.Error()+"\n\nThe guest is kept in state; fix the cause and apply again.")
		return
	}
	warnOnly := m.HealthChecksWarnOnly.ValueBool()
	for _, c := range out.Checks {
		if c.OK {
			continue
		}
		msg := fmt.Sprintf("health check %q on %s failed (exit %d):\n%s", c.Name, label, c.ExitCode, c.Output)
		switch {
		case warnOnly:
			diags.AddWarning("Health check failed", msg)
		case !failHard:
			m.ProvisioningError = types.StringValue(msg)
			diags.AddWarning("Health check failed", msg)
		default:
			diags.AddError("Unable to pass the health checks of "+label, msg+"\n\nSet health_checks_warn_only = true to report failures as warnings.")
		}
	}
}

func (r *GuestResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state guestResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, err := strconv.Atoi(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable to read guest", fmt.Sprintf("state id %q is not a guest ID", state.ID.ValueString()))
		return
	}
	label := "guest " + state.ID.ValueString()
	env, err := r.env(ctx, state.Node.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable to read "+label, err.Error())
		return
	}
	marker, d := readMarker(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	var imp *restored
	var spec *guestModel
	var g *phoenix.Guest
	if marker != nil && state.Spec.IsNull() {
		if imp = beginImport(ctx, env, id, &state, &resp.Diagnostics); imp == nil {
			return
		}
		spec, g = imp.spec, imp.guest
	} else {
		spec = objAs[guestModel](ctx, state.Spec)
		g = spec.toGuest(ctx)
	}
	obs, err := lifecycle.Read(ctx, env, id, g)
	if err != nil {
		resp.Diagnostics.AddError("Unable to read "+label, err.Error()+"\n\nThe state is kept unchanged; retry when PVE answers.")
		return
	}
	if !obs.Found {
		if err := lifecycle.Absent(ctx, env, lifecycle.RefOf(state.CurrentNode.ValueString(), g.Kind, id)); err != nil {
			resp.Diagnostics.AddError("Unable to read "+label, err.Error()+"\n\nThe state is kept unchanged.")
			return
		}
		resp.Diagnostics.AddWarning("Guest "+state.ID.ValueString()+" disappeared",
			"No node has this guest any more (deleted outside Terraform); it is removed from state and will be created again.")
		resp.State.RemoveResource(ctx)
		return
	}
	if lifecycle.KindOf(obs.Ref) != g.Kind {
		resp.Diagnostics.AddError("Unable to read "+label, fmt.Sprintf("ID %d is now %s, not the guest in state: remove it from state (terraform state rm) or restore the guest", id, obs.Ref))
		return
	}
	if imp != nil {
		if spec == nil {
			spec = foreignSpec(ctx, g, imp.found)
		}
		for _, w := range imp.warnings {
			resp.Diagnostics.AddWarning("Imported "+label, w)
		}
		raw, _ := json.Marshal(importMarker{V: 1, Unrestored: imp.unrestored, Foreign: imp.found.Meta == nil && imp.found.MetaErr == nil})
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateImported, raw)...)
	}
	spec.applyObserved(ctx, g)
	state.Spec = specObjectMust(spec)
	state.CurrentNode = types.StringValue(obs.Ref.Node)
	state.Status = types.StringValue(obs.Status)
	state.PendingRestart = stringListValue(obs.Pending)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// beginImport restores an imported guest's state from what the guest tells
// (see restore); nil after an error diagnostic.
func beginImport(ctx context.Context, env lifecycle.Env, id int, state *guestResourceModel, diags *diag.Diagnostics) *restored {
	label := "guest " + strconv.Itoa(id)
	found, err := lifecycle.Inspect(ctx, env, id)
	if err != nil {
		diags.AddError("Unable to import "+label, err.Error())
		return nil
	}
	if !found.Exists {
		diags.AddError("Unable to import "+label, fmt.Sprintf("no node has guest %d", id))
		return nil
	}
	imp := restore(ctx, found, id)
	imp.found = found
	importDefaults(state, imp)
	if imp.spec != nil {
		imp.guest = imp.spec.toGuest(ctx)
	} else {
		imp.guest = importableGuest(id, lifecycle.KindOf(found.Ref))
	}
	return &imp
}

func (r *GuestResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state guestResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, defaultUpdateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	label := r.label(ctx, &plan)
	env, err := r.env(ctx, state.CurrentNode.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable to update "+label, err.Error())
		return
	}
	id, _ := strconv.Atoi(state.ID.ValueString())
	ref, ok, err := lifecycle.Locate(ctx, env, id)
	switch {
	case err != nil:
		resp.Diagnostics.AddError("Unable to update "+label, err.Error())
		return
	case !ok:
		resp.Diagnostics.AddError("Unable to update "+label, fmt.Sprintf("no node has guest %d any more; refresh (terraform apply -refresh-only) to drop it from state", id))
		return
	}
	prev := recordsFromMap(state.Provisioned)
	if m, _ := readMarker(ctx, req.Private); m != nil && m.Foreign && len(prev) == 0 {
		// Imported from another tool: its scripts ran already (ModifyPlan
		// planned them as recorded, not to run).
		prev = recordsFromMap(plan.Provisioned)
	}
	in, err := r.input(ctx, &plan, prev, &ref)
	if err != nil {
		resp.Diagnostics.AddError("Unable to update "+label, err.Error())
		return
	}
	in.passwordChanged = cloudInitPassword(ctx, plan.Spec) != cloudInitPassword(ctx, state.Spec)
	out, err := r.cfg.apply(ctx, env, in)
	if !out.Exists {
		out.Ref, out.Exists, out.Records = ref, true, in.prev
	}
	r.finish(ctx, env, &plan, out, err, true, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateImported, nil)...)
}

func (r *GuestResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state guestResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultDeleteTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	label := r.label(ctx, &state)
	env, err := r.env(ctx, state.CurrentNode.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable to delete "+label, err.Error())
		return
	}
	id, _ := strconv.Atoi(state.ID.ValueString())
	ref, found, err := lifecycle.Locate(ctx, env, id)
	if err != nil {
		resp.Diagnostics.AddError("Unable to delete "+label, err.Error())
		return
	}
	if !found {
		spec := objAs[guestModel](ctx, state.Spec)
		if spec == nil {
			return
		}
		if err := lifecycle.Absent(ctx, env, lifecycle.RefOf(state.CurrentNode.ValueString(), phoenix.Kind(spec.Kind.ValueString()), id)); err != nil {
			resp.Diagnostics.AddError("Unable to delete "+label, err.Error())
		}
		return
	}
	if err := lifecycle.Destroy(ctx, env, ref); err != nil {
		resp.Diagnostics.AddError("Unable to delete "+label, err.Error())
	}
}

func (r *GuestResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := req.ID
	node := ""
	if n, rest, ok := strings.Cut(req.ID, "/"); ok {
		node, id = n, rest
	}
	if _, err := strconv.Atoi(id); err != nil {
		resp.Diagnostics.AddError("Unable to import guest", fmt.Sprintf("expected a guest ID such as 950 (or node/950), got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	if node != "" {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("current_node"), node)...)
	}
	raw, _ := json.Marshal(importMarker{V: 1})
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateImported, raw)...)
}

// cloudInitPassword is a spec's cloud-init password ("" when unset).
func cloudInitPassword(ctx context.Context, spec types.Object) string {
	if m := objAs[guestModel](ctx, spec); m != nil {
		if ci := objAs[cloudInitModel](ctx, m.CloudInit); ci != nil {
			return ci.Password.ValueString()
		}
	}
	return ""
}
