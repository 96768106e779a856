//go:build !linux

package provider

import "testing"

// The simulator-backed tests of this package (guest lifecycle, provisioning,
// the estate) need Linux; elsewhere this test says why they are absent.
func TestNeedsLinux(t *testing.T) {
	t.Skip("pvesim needs Linux namespaces (mount, PID, UTS, IPC, network), chroot and openat2: the simulator-backed tests of this package run on Linux only")
}
