//go:build linux

package guestroot

import (
	"context"
	"testing"
)

func BenchmarkExecTrue(b *testing.B) {
	m := newGuest(b, 100)
	ctx := context.Background()
	for b.Loop() {
		res, err := m.Exec(ctx, 100, ExecRequest{Argv: []string{"true"}})
		if err != nil || res.ExitCode != 0 {
			b.Fatal(res, err)
		}
	}
}

func BenchmarkCloneBaseRoot(b *testing.B) {
	m := newGuest(b, 100)
	id := 1000
	for b.Loop() {
		if err := m.Clone(100, id, ""); err != nil {
			b.Fatal(err)
		}
		id++
	}
}
