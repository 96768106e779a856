//go:build !linux

package lifecycle

import "testing"

// The lifecycle tests run against the simulator and need Linux; elsewhere
// this test says why they are absent.
func TestNeedsLinux(t *testing.T) {
	t.Skip("pvesim needs Linux namespaces (mount, PID, UTS, IPC, network), chroot and openat2: the lifecycle tests run on Linux only")
}
