//go:build linux

package pvesim

// buildRoutes is the API surface: method + PVE path template → handler.
func (s *Server) buildRoutes() []*route {
	s.routes = nil
	s.handle("GET", "/version", s.version)
	s.handle("GET", "/access/ticket", s.accessTicket).noAuth = true
	s.handle("POST", "/access/ticket", s.accessTicket).noAuth = true
	s.clusterRoutes()
	s.handle("GET", "/nodes", s.nodes)
	s.handle("GET", "/nodes/{node}", s.nodeIndex)
	s.handle("GET", "/nodes/{node}/status", s.nodeStatus)
	s.handle("GET", "/cluster/status", s.clusterStatus)
	s.handle("GET", "/cluster/resources", s.clusterResources)
	s.handle("GET", "/cluster/nextid", s.nextID)
	s.storageRoutes()
	s.handle("GET", "/nodes/{node}/tasks", s.taskList)
	s.handle("GET", "/nodes/{node}/tasks/{upid}", s.taskIndex)
	s.handle("DELETE", "/nodes/{node}/tasks/{upid}", s.taskStop)
	s.handle("GET", "/nodes/{node}/tasks/{upid}/status", s.taskStatus)
	s.handle("GET", "/nodes/{node}/tasks/{upid}/log", s.taskLog)

	for _, kind := range []string{"lxc", "qemu"} {
		base := "/nodes/{node}/" + kind
		g := base + "/{vmid}"
		s.handle("GET", base, s.listGuests)
		if kind == "lxc" {
			s.handle("POST", base, s.lxcCreate)
			s.handle("PUT", g+"/config", s.lxcConfigPut)
			s.handle("POST", g+"/clone", s.lxcClone)
		} else {
			s.handle("POST", base, s.qemuCreate)
			s.handle("PUT", g+"/config", s.qemuConfigUpdate)
			s.handle("POST", g+"/config", s.qemuConfigUpdate)
			s.handle("POST", g+"/clone", s.qemuClone)
			s.handle("GET", g+"/cloudinit", s.cloudinitGet)
			s.handle("PUT", g+"/cloudinit", s.cloudinitRegenerate)
			s.handle("GET", g+"/cloudinit/dump", s.cloudinitDump)
		}
		s.handle("GET", g, s.guestIndex)
		s.handle("DELETE", g, s.destroyGuest)
		s.handle("GET", g+"/config", s.guestConfigGet)
		s.handle("GET", g+"/pending", s.pendingGuest)
		s.handle("GET", g+"/status", s.statusIndex)
		s.handle("GET", g+"/status/current", s.statusCurrent)
		s.handle("POST", g+"/status/start", s.startGuest)
		for _, op := range []string{"stop", "shutdown", "reboot"} {
			s.handle("POST", g+"/status/"+op, s.stopGuest)
		}
		s.handle("PUT", g+"/resize", s.resizeGuest)
		s.handle("POST", g+"/migrate", s.migrateGuest)
		s.handle("POST", g+"/template", s.templateGuest)
		s.handle("GET", g+"/snapshot", s.snapshotList)
		s.handle("POST", g+"/snapshot", s.snapshotCreate)
		s.handle("GET", g+"/snapshot/{snapname}", s.snapshotIndex)
		s.handle("DELETE", g+"/snapshot/{snapname}", s.snapshotDelete)
		s.handle("POST", g+"/snapshot/{snapname}/rollback", s.snapshotRollback)
		s.handle("GET", g+"/snapshot/{snapname}/config", s.snapshotConfig)
		s.handle("PUT", g+"/snapshot/{snapname}/config", s.snapshotUpdate)
		s.firewallRoutes(g+"/firewall", true, true)
		s.handle("GET", g+"/firewall/refs", s.fwRefs)
	}
	return s.routes
}

// clusterRoutes are pools, mappings and the cluster and node firewalls.
func (s *Server) clusterRoutes() {
	s.handle("GET", "/pools", s.poolIndex)
	s.handle("POST", "/pools", s.poolCreate)
	s.handle("PUT", "/pools", s.poolUpdate)
	s.handle("DELETE", "/pools", s.poolDelete)
	s.handle("GET", "/pools/{poolid}", s.poolRead)
	s.handle("PUT", "/pools/{poolid}", s.poolUpdate)
	s.handle("DELETE", "/pools/{poolid}", s.poolDelete)
	s.handle("GET", "/cluster/mapping", s.mappingIndexRoot)
	for _, kind := range []string{"dir", "pci", "usb"} {
		base := "/cluster/mapping/" + kind
		s.handle("GET", base, s.mappingList)
		s.handle("POST", base, s.mappingCreate)
		s.handle("GET", base+"/{id}", s.mappingGet)
		s.handle("PUT", base+"/{id}", s.mappingUpdate)
		s.handle("DELETE", base+"/{id}", s.mappingDelete)
	}
	s.firewallRoutes("/cluster/firewall", true, true)
	s.handle("GET", "/cluster/firewall/refs", s.fwRefs)
	s.handle("GET", "/cluster/firewall/macros", s.fwMacroList)
	s.handle("GET", "/cluster/firewall/groups", s.fwGroupList)
	s.handle("POST", "/cluster/firewall/groups", s.fwGroupCreate)
	s.handle("DELETE", "/cluster/firewall/groups/{group}", s.fwGroupDelete)
	s.ruleRoutes("/cluster/firewall/groups/{group}", "/cluster/firewall/groups/{group}/{pos}")
	s.firewallRoutes("/nodes/{node}/firewall", false, false)
}

// storageRoutes are storage.cfg, storage contents, the node's network and
// the node-level downloads.
func (s *Server) storageRoutes() {
	s.handle("GET", "/storage", s.storageList)
	s.handle("GET", "/storage/{storage}", s.storageGet)
	s.handle("PUT", "/storage/{storage}", s.storageUpdate)
	s.handle("GET", "/nodes/{node}/storage", s.nodeStorage)
	s.handle("GET", "/nodes/{node}/storage/{storage}", s.nodeStorageIndex)
	s.handle("GET", "/nodes/{node}/storage/{storage}/status", s.nodeStorageStatus)
	s.handle("GET", "/nodes/{node}/storage/{storage}/content", s.storageContent)
	s.handle("POST", "/nodes/{node}/storage/{storage}/content", s.storageAlloc)
	s.handle("GET", "/nodes/{node}/storage/{storage}/content/{volume}", s.storageVolume)
	s.handle("DELETE", "/nodes/{node}/storage/{storage}/content/{volume}", s.storageVolumeDelete)
	s.handle("POST", "/nodes/{node}/storage/{storage}/upload", s.storageUpload)
	s.handle("POST", "/nodes/{node}/storage/{storage}/download-url", s.storageDownloadURL)
	s.handle("GET", "/nodes/{node}/aplinfo", s.aplinfoList)
	s.handle("POST", "/nodes/{node}/aplinfo", s.aplinfoDownload)
	s.handle("GET", "/nodes/{node}/network", s.networkIndex)
	s.handle("POST", "/nodes/{node}/network", s.networkCreate)
	s.handle("PUT", "/nodes/{node}/network", s.networkReload)
	s.handle("DELETE", "/nodes/{node}/network", s.networkRevert)
	s.handle("GET", "/nodes/{node}/network/{iface}", s.networkGet)
	s.handle("PUT", "/nodes/{node}/network/{iface}", s.networkUpdate)
	s.handle("DELETE", "/nodes/{node}/network/{iface}", s.networkDelete)
	s.handle("GET", "/nodes/{node}/query-url-metadata", s.queryURLMetadata)
}

// firewallRoutes serves a level's firewall: index, options and rules, and
// where the level has them IPSets and aliases.
func (s *Server) firewallRoutes(base string, ipsets, aliases bool) {
	s.handle("GET", base, s.fwIndex)
	s.handle("GET", base+"/options", s.fwOptionsGet)
	s.handle("PUT", base+"/options", s.fwOptionsPut)
	s.ruleRoutes(base+"/rules", base+"/rules/{pos}")
	if ipsets {
		s.handle("GET", base+"/ipset", s.fwIPSetIndex)
		s.handle("POST", base+"/ipset", s.fwIPSetCreate)
		s.handle("GET", base+"/ipset/{name}", s.fwIPSetGet)
		s.handle("POST", base+"/ipset/{name}", s.fwIPAdd)
		s.handle("DELETE", base+"/ipset/{name}", s.fwIPSetDelete)
		s.handle("GET", base+"/ipset/{name}/{cidr}", s.fwIPGet)
		s.handle("PUT", base+"/ipset/{name}/{cidr}", s.fwIPPut)
		s.handle("DELETE", base+"/ipset/{name}/{cidr}", s.fwIPDelete)
	}
	if aliases {
		s.handle("GET", base+"/aliases", s.fwAliasList)
		s.handle("POST", base+"/aliases", s.fwAliasCreate)
		s.handle("GET", base+"/aliases/{name}", s.fwAliasGet)
		s.handle("PUT", base+"/aliases/{name}", s.fwAliasPut)
		s.handle("DELETE", base+"/aliases/{name}", s.fwAliasDelete)
	}
}

func (s *Server) ruleRoutes(list, one string) {
	s.handle("GET", list, s.fwRuleList)
	s.handle("POST", list, s.fwRuleCreate)
	s.handle("GET", one, s.fwRuleGet)
	s.handle("PUT", one, s.fwRulePut)
	s.handle("DELETE", one, s.fwRuleDelete)
}
