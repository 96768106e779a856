//go:build !linux

package pvesimtest

import "testing"

// The test harness's users need Linux; elsewhere this test says why they are absent.
func TestNeedsLinux(t *testing.T) {
	t.Skip("pvesim needs Linux namespaces (mount, PID, UTS, IPC, network), chroot and openat2: the simulator harness run on Linux only")
}
