package guestconf

import (
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// ObserveVM updates g, in place, with what PVE holds for a VM, for the fields
// g manages (set, non-nil), as ObserveContainer does for containers.
func ObserveVM(g *phoenix.Guest, o Observed) {
	c := o.Config
	if g.Name != "" {
		g.Name = c["name"]
	}
	observeInt(&g.Cores, c, "cores")
	if g.MemoryMB != nil {
		g.MemoryMB = parseIntPtr(parseProps(c["memory"], "current")["current"])
	}
	observeBoot(g, c)
	if g.OSType != "" {
		if want, _ := VMOSType(g.OSType); want != c["ostype"] {
			g.OSType = c["ostype"]
		}
	}
	g.IsTemplate = c["template"] == "1"
	observeVMNet(g, c)
	if ci := g.CloudInit; ci != nil {
		if ci.Username != "" {
			ci.Username = c["ciuser"]
		}
		if ci.SSHAuthorizedKeys != nil {
			ci.SSHAuthorizedKeys = []string{}
			for _, k := range strings.Split(DecodeSSHKeys(c["sshkeys"]), "\n") {
				if k = strings.TrimSpace(k); k != "" {
					ci.SSHAuthorizedKeys = append(ci.SSHAuthorizedKeys, k)
				}
			}
		}
	}
	disk := BootDisk(c)
	if g.DiskSizeGB != nil && disk != "" {
		if size, ok := sizeGiB(parseProps(c[disk], "file")["size"]); ok {
			g.DiskSizeGB = &size
		}
	}
	if g.Storage != "" && disk != "" {
		if sid, _, ok := strings.Cut(parseProps(c[disk], "file")["file"], ":"); ok {
			g.Storage = sid
		}
	}
	observeFirewall(g, o)
}

func observeVMNet(g *phoenix.Guest, c map[string]string) {
	net := parseProps(c["net0"], "")
	if g.Network.Bridge != "" {
		g.Network.Bridge = net["bridge"]
	}
	if g.Network.MAC != "" {
		for k, v := range net {
			if netModels[k] && !strings.EqualFold(v, g.Network.MAC) {
				g.Network.MAC = v
			}
		}
	}
	ip := parseProps(c["ipconfig0"], "")
	if g.Network.IP != "" {
		g.Network.IP = ip["ip"]
	}
	if g.Network.Gateway != "" {
		g.Network.Gateway = ip["gw"]
	}
	observeDNS(g, c)
}
