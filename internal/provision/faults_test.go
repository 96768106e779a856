package provision

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// hangingSetup is a target whose setup commands (mkdir, or the chmod of a
// push, which agent targets run as commands) never finish until their
// context ends, as with a guest agent whose exec never reports an exit.
type hangingSetup struct {
	*fake
	hangPush bool
}

func (h *hangingSetup) Exec(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
	if req.Argv[0] == Mkdir && !h.hangPush {
		<-ctx.Done()
		return ExecResult{ExitCode: -1}, ctx.Err()
	}
	return h.fake.Exec(ctx, req, out)
}

func (h *hangingSetup) Push(ctx context.Context, p string, data []byte, mode os.FileMode) error {
	if h.hangPush {
		<-ctx.Done()
		return ctx.Err()
	}
	return h.fake.Push(ctx, p, data, mode)
}

// A script's timeout bounds its setup too: a hang while creating the run
// directory or pushing the script fails the step at the script timeout,
// not after DefaultCheckTimeout or the apply's deadline.
func TestHungSetupEndsAtTheScriptTimeout(t *testing.T) {
	for _, hangPush := range []bool{false, true} {
		g := &hangingSetup{fake: newFake(), hangPush: hangPush}
		s := feature("hang", "true")
		s.Timeout = 100 * time.Millisecond
		start := time.Now()
		_, err := Run(context.Background(), g, nil, baseSpec(s), nil, nil)
		var se *StepError
		if !errors.As(err, &se) || se.Step != "hang" || se.ExitCode != -1 {
			t.Fatalf("hangPush=%v: want a StepError for hang, got %v", hangPush, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("hangPush=%v: the setup hang lasted %s, beyond the script timeout", hangPush, took)
		}
		if !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("hangPush=%v: want a timeout named, got %v", hangPush, err)
		}
		if len(g.scriptsRun()) != 0 {
			t.Fatalf("hangPush=%v: the script ran after a failed setup", hangPush)
		}
	}
}
