//go:build !linux

package pvesim_test

import "testing"

// The simulator's tests need Linux; elsewhere this test says why they are absent.
func TestNeedsLinux(t *testing.T) {
	t.Skip("pvesim needs Linux namespaces (mount, PID, UTS, IPC, network), chroot and openat2: the simulator and its tests run on Linux only")
}
