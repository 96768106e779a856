//go:build linux

package guestroot

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// requireGuestRuntime fails (never silently skips) when the guest runtime
// cannot work here, telling how to fix it; PHOENIX_SKIP_GUEST_EXEC=1 opts out.
func requireGuestRuntime(t testing.TB, needExec bool) {
	t.Helper()
	if os.Getenv("PHOENIX_SKIP_GUEST_EXEC") == "1" {
		t.Skip("PHOENIX_SKIP_GUEST_EXEC=1")
	}
	if err := CheckDeps(); err != nil {
		t.Fatalf("%v\nfix: run scripts/install-guest-deps.sh as root, or set PHOENIX_SKIP_GUEST_EXEC=1", err)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("guest runtime tests need root (copies keep ownership, exec needs namespaces); set PHOENIX_SKIP_GUEST_EXEC=1 to skip")
	}
	if needExec {
		if err := Supported(); err != nil {
			t.Fatalf("%v\nfix: run as root on a kernel with mount/pid/uts/net namespaces, or set PHOENIX_SKIP_GUEST_EXEC=1", err)
		}
	}
}

func newManager(t testing.TB) *Manager {
	t.Helper()
	m, err := New(filepath.Join(t.TempDir(), "guests"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newGuest returns a manager with guest id created from an Ubuntu template.
func newGuest(t testing.TB, id int) *Manager {
	t.Helper()
	requireGuestRuntime(t, true)
	m := newManager(t)
	if err := m.Create(id, "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"); err != nil {
		t.Fatal(err)
	}
	return m
}

func run(t testing.TB, m *Manager, id int, req ExecRequest) ExecResult {
	t.Helper()
	res, err := m.Exec(context.Background(), id, req)
	if err != nil {
		t.Fatalf("exec %q: %v", req.Argv, err)
	}
	return res
}

func sh(t testing.TB, m *Manager, id int, script string) ExecResult {
	t.Helper()
	return run(t, m, id, ExecRequest{Argv: []string{"/bin/bash", "-c", script}})
}

// hostProcsWith lists host PIDs whose command line contains token.
func hostProcsWith(t testing.TB, token string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Error(err) // may run off the test goroutine: no Fatal
		return nil
	}
	var pids []string
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(token)) {
			pids = append(pids, e.Name()+":"+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return pids
}

func readHost(t testing.TB, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
