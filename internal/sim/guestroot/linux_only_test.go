//go:build !linux

package guestroot

import "testing"

// Guest roots' tests need Linux; elsewhere this test says why they are absent.
func TestNeedsLinux(t *testing.T) {
	t.Skip("pvesim needs Linux namespaces (mount, PID, UTS, IPC, network), chroot and openat2: guest roots and their tests run on Linux only")
}
