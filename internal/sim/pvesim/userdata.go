//go:build linux

package pvesim

import "github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/guestroot"

// ParseUserData reads a #cloud-config (a cicustom user-data snippet) as the
// simulated cloud-init does: what a VM booted with it gets. Tests use it to
// check user-data the provider generates against the simulator's reading.
func ParseUserData(text string) (guestroot.CloudInit, error) {
	var ci guestroot.CloudInit
	err := parseUserData(text, &ci)
	return ci, err
}
