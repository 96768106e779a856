//go:build linux

package guestroot

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
)

// notifyWriter collects output and signals each write.
type notifyWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	wrote chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// With Stdout/Stderr set, output reaches the writers while the command still
// runs (it waits for stdin that is only sent after "first" arrived), and the
// result's buffers stay empty.
func TestExecStreamsOutput(t *testing.T) {
	m := newGuest(t, 100)
	out := &notifyWriter{wrote: make(chan struct{}, 1)}
	errW := &notifyWriter{wrote: make(chan struct{}, 1)}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var res ExecResult
	var err error
	go func() {
		defer close(done)
		res, err = m.Exec(context.Background(), 100, ExecRequest{
			Argv:  []string{"/bin/bash", "-c", "echo first; echo warn >&2; read x; echo \"second $x\"; exit 3"},
			Stdin: pr, Stdout: out, Stderr: errW,
		})
	}()
	for !strings.Contains(out.String(), "first\n") {
		select {
		case <-out.wrote:
		case <-done:
			t.Fatalf("command ended before stdin was sent: %q %v", out.String(), err)
		}
	}
	_, _ = io.WriteString(pw, "now\n")
	pw.Close()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "first\nsecond now\n" || errW.String() != "warn\n" || res.ExitCode != 3 ||
		len(res.Stdout) != 0 || len(res.Stderr) != 0 {
		t.Fatalf("stdout %q stderr %q result %+v", out.String(), errW.String(), res)
	}
}
