//go:build !linux

package main

import "testing"

// pvesim's tests need Linux; elsewhere this test says why they are absent.
func TestNeedsLinux(t *testing.T) {
	t.Skip("pvesim needs Linux namespaces (mount, PID, UTS, IPC, network), chroot and openat2: pvesim and its tests run on Linux only")
}
