//go:build linux

package pvesim

import (
	"regexp"
	"strconv"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/guestroot"
)

var idmapLineRE = regexp.MustCompile(`^([ug])\s+(\d+)\s+(\d+)\s+(\d+)\s*$`)

// ctIDMap is pve-container's parse_id_maps: a container's lxc.idmap lines,
// else for an unprivileged one 0 100000 65536 for users and groups; none
// for a privileged container (or a VM). Lines it cannot parse are skipped
// (PVE refuses to start the container).
func ctIDMap(g GuestRef) []guestroot.IDMap {
	if g.Kind != "lxc" {
		return nil
	}
	var maps []guestroot.IDMap
	for _, kv := range g.LXC {
		if kv[0] != "lxc.idmap" && kv[0] != "lxc.id_map" {
			continue
		}
		m := idmapLineRE.FindStringSubmatch(kv[1])
		if m == nil {
			continue
		}
		ct, _ := strconv.Atoi(m[2])
		host, _ := strconv.Atoi(m[3])
		n, _ := strconv.Atoi(m[4])
		maps = append(maps, guestroot.IDMap{Kind: m[1][0], ContainerID: ct, HostID: host, Size: n})
	}
	if len(maps) == 0 && g.Config["unprivileged"] == "1" {
		maps = guestroot.DefaultIDMap
	}
	return maps
}
