// Package provision runs phoenix feature scripts, application scripts and
// health checks for one guest, idempotently. It knows no transport: it talks
// to a Target (inside the guest: pct push/exec over SSH, or the QEMU guest
// agent's file-write/exec) and a Host (the PVE node, for phoenix-style host
// scripts), both implemented by the provider.
//
// # Calls
//
//   - Plan time: Pending(steps, prev) names the steps an apply will run, in
//     order; Prune(steps, prev) is the records that survive (removed steps
//     dropped). Both are pure.
//   - Apply time: Run(ctx, target, host, spec, prev, log) runs the pending
//     steps in order and returns the new records. On failure it stops and
//     returns a *StepError together with the records so far (succeeded steps,
//     the failed one with Status "failed", untouched later ones), so the next
//     apply resumes at the failed step.
//   - After apply: RunChecks(ctx, target, spec, checks, wait, log) runs health
//     checks with retries; wait is injectable (Wait is the real one).
//   - Transports that can only take a command line (pct exec over SSH) quote
//     argv with pve.ShellQuote; this package only ever builds argv arrays.
//
// # Idempotency
//
// A Record keeps each step's Digest: sha256 over the step kind, host mode,
// trigger and script content. A step runs when it has no record, its record
// is not "ok", or the digest differs. So re-apply runs nothing when nothing
// changed; a changed script, an added feature or a new trigger value re-runs
// that step only. Scripts have no undo: a removed feature's record is dropped
// and nothing runs. The shared phoenix_hypervisor_common_utils.sh and the
// guest context are not part of the digest (a utils edit would otherwise
// re-run every feature of every guest); fold what should re-run a step into
// Step.Trigger.
//
// # Layout inside the guest
//
//	/tmp/phoenix_run/                              RunDir, created with mkdir -p
//	/tmp/phoenix_run/phoenix_hypervisor_common_utils.sh   Spec.CommonUtils, 0644, when non-empty
//	/tmp/phoenix_run/<script file name>            the step's script, 0755 (base name of Step.Source,
//	                                               else <name>.sh; characters outside [A-Za-z0-9._-] become _)
//	/tmp/phoenix_run/check_<path>.sh               a health check script (path's / become _)
//	/etc/phoenix/guest.json                        the guest context, 0600
//
// Host-mode steps (phoenix-style scripts that call pct exec themselves) use
// /tmp/phoenix_run/<guest ID>/ on the node for the script, the common utils
// and guest.json, so guests provisioned in parallel do not clash.
//
// Every script runs as `/bin/bash <script> <guest ID>` (phoenix passes the
// CTID as $1 to application and host scripts alike; guests have a static bash
// and busybox only, so nothing relies on the execute bit or a shebang), with
// Spec.Env plus:
//
//	PHOENIX_GUEST_ID    the VMID/CTID
//	PHOENIX_GUEST_NAME  the guest's name
//	PHOENIX_GUEST_KIND  lxc or vm
//	PHOENIX_GUEST_JSON  path of the context file
//	PHOENIX_FEATURE     the step name (feature name, application script file name, check name)
//	PHOENIX_STEP_KIND   feature, application or check
//	PHOENIX_RUN_DIR     the run directory holding the script and the common utils
//
// The context is Spec.Context re-encoded with sorted keys, two spaces of
// indent and no \u escapes for & < > or non-ASCII, so every top-level key sits
// on its own line (`  "vllm_model": "..."`): scripts without jq can read
// scalars with sed. MergeContext builds it from the model's fields plus the
// entry's unknown keys (extra_json).
//
// # Output, errors and secrets
//
// Target.Exec delivers output lines to a LineSink as they arrive (LineWriter
// turns a stream into lines), or returns them in ExecResult when the transport
// only has them at exit (the guest agent); Run handles both. Every line goes to
// the log callback prefixed "<guest ID>/<step>", with each Spec.Secrets string
// replaced by "********" (a multi-line secret also line by line); the same
// redaction applies to StepError and CheckResult text. A StepError keeps the
// last 20 lines / 4 KiB of stderr (of stdout when stderr is empty).
//
// # Timeouts
//
// A step gets Step.Timeout (DefaultStepTimeout, 30 min, when zero) and a check
// attempt Check.Timeout (DefaultCheckTimeout, 5 min): Exec receives a context
// with that deadline and ExecRequest.Timeout; a transport must kill the
// command when either expires. A step that ran into its deadline is reported
// as timed out.
package provision
