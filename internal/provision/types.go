package provision

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// Paths and defaults; see the package documentation.
const (
	RunDir          = "/tmp/phoenix_run"
	ContextPath     = "/etc/phoenix/guest.json"
	CommonUtilsName = "phoenix_hypervisor_common_utils.sh"
	Bash            = "/bin/bash"
	Mkdir           = "/bin/mkdir"
	Env             = "/usr/bin/env"

	DefaultStepTimeout   = 30 * time.Minute
	DefaultCheckTimeout  = 5 * time.Minute
	DefaultCheckInterval = 5 * time.Second

	// TailLines and TailBytes bound the output kept for errors and check results.
	TailLines = 20
	TailBytes = 4096

	// Redacted replaces every secret in logs and errors.
	Redacted = "********"
)

// Stream names the output stream a line came from.
type Stream string

const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// LineSink receives one output line (without its newline). A transport may
// call it from several goroutines; Run's sinks are safe for that.
type LineSink func(stream Stream, line string)

// ExecRequest is one command. Argv is executed directly (never through a
// shell); Env adds variables to the transport's default environment.
type ExecRequest struct {
	Argv    []string
	Env     map[string]string
	Stdin   []byte
	Timeout time.Duration // also the deadline of Exec's context
}

// ExecResult is a finished command. A non-zero exit is a result, not an
// error. Stdout/Stderr may be empty when the output was streamed to the sink.
type ExecResult struct {
	ExitCode int // -1 when killed by a signal
	Stdout   []byte
	Stderr   []byte
	TimedOut bool // the transport killed the command at its deadline
}

// Target runs commands inside the guest (pct push/exec, or the guest agent).
// Push must create or replace the file with the given mode; its parent
// directory exists (Run creates it first). Exec returns an error only when the
// command could not be run or its outcome is unknown.
type Target interface {
	Push(ctx context.Context, path string, data []byte, mode os.FileMode) error
	Exec(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error)
}

// Host runs commands on the PVE node that owns the guest: same contract.
type Host interface {
	Push(ctx context.Context, path string, data []byte, mode os.FileMode) error
	Exec(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error)
}

// StepKind says what a step is.
type StepKind string

const (
	KindFeature     StepKind = "feature"
	KindApplication StepKind = "application"
	KindCheck       StepKind = "check" // only in logs and PHOENIX_STEP_KIND
)

// Step is one script to run: a feature, or the application script (named by
// its file, e.g. "phoenix_hypervisor_lxc_vllm.sh").
type Step struct {
	Name    string
	Kind    StepKind
	Content []byte
	// Source is the script's path on the provider's machine; its base name
	// is the file name in the guest. Not part of the digest.
	Source string
	// HostMode runs the script on the node (through Host) with the guest ID
	// as $1, phoenix's host-script convention.
	HostMode bool
	Timeout  time.Duration // 0: DefaultStepTimeout
	// Trigger is any value whose change re-runs the step (e.g. a user's
	// re-run trigger, or a digest of context values the script depends on).
	Trigger string
}

// Spec is everything Run needs about one guest.
type Spec struct {
	GuestID   int
	GuestName string
	GuestKind string // lxc or vm
	// Context is the guest's full definition as a JSON object (see MergeContext).
	Context []byte
	// CommonUtils is phoenix_hypervisor_common_utils.sh from features_dir; nil when absent.
	CommonUtils []byte
	Steps       []Step
	// Env is extra environment for every script (e.g. passwords a script needs).
	Env map[string]string
	// Secrets are redacted from every log line and error text.
	Secrets []string
}

// Record is a step's recorded outcome, kept in Terraform state.
type Record struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Digest   string `json:"digest"`
	Status   string `json:"status"` // StatusOK or StatusFailed
	ExitCode int    `json:"exit_code"`
}

const (
	StatusOK     = "ok"
	StatusFailed = "failed"
)

// StepError is a failed step. Records returned alongside it let the next Run
// resume at this step.
type StepError struct {
	GuestID   int
	GuestName string
	Step      string
	Kind      StepKind
	HostMode  bool
	ExitCode  int // -1 when the script did not exit normally (killed, not started)
	// StderrTail is the last TailLines lines / TailBytes of stderr (of stdout
	// when stderr was empty), redacted.
	StderrTail string
	TimedOut   bool
	Timeout    time.Duration
	// Err is a transport failure or cancellation (nil for a non-zero exit).
	Err error
	// redact is applied to Err's text.
	redact func(string) string
}

func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "guest %d", e.GuestID)
	if e.GuestName != "" {
		fmt.Fprintf(&b, " (%s)", e.GuestName)
	}
	kind := string(e.Kind)
	if kind == "" {
		kind = "step"
	}
	if e.HostMode {
		kind = "host " + kind
	}
	fmt.Fprintf(&b, ": %s %q ", kind, e.Step)
	switch {
	case e.TimedOut:
		fmt.Fprintf(&b, "timed out after %s and was killed", e.Timeout)
	case e.Err != nil:
		msg := e.Err.Error()
		if e.redact != nil {
			msg = e.redact(msg)
		}
		fmt.Fprintf(&b, "could not run: %s", msg)
	default:
		fmt.Fprintf(&b, "failed with exit code %d", e.ExitCode)
	}
	if e.StderrTail != "" {
		fmt.Fprintf(&b, "; last output:\n%s", e.StderrTail)
	}
	return b.String()
}

// Unwrap exposes the transport error (context.Canceled, ...) to errors.Is.
func (e *StepError) Unwrap() error { return e.Err }
