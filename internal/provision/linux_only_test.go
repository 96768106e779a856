//go:build !linux

package provision

import "testing"

// The guest provisioning tests run against the simulator and need Linux;
// elsewhere this test says why they are absent.
func TestNeedsLinux(t *testing.T) {
	t.Skip("pvesim needs Linux namespaces (mount, PID, UTS, IPC, network), chroot and openat2: the guest provisioning tests run on Linux only")
}
