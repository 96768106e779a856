//go:build linux

package pvesim

// buildRoutes is the API surface: method + PVE path template → handler.
func (s *Server) buildRoutes() []*route {
	s.routes = nil
	s.handle("GET", "/version", s.version)
	s.handle("GET", "/access/ticket", s.accessTicket)
	s.handle("POST", "/access/ticket", s.accessTicket)
	for _, rt := range s.routes {
		if rt.tmpl == "/access/ticket" {
			rt.noAuth = true
		}
	}
	s.handle("GET", "/nodes", s.nodes)
	s.handle("GET", "/nodes/{node}", s.nodeIndex)
	s.handle("GET", "/nodes/{node}/status", s.nodeStatus)
	s.handle("GET", "/cluster/status", s.clusterStatus)
	s.handle("GET", "/cluster/resources", s.clusterResources)
	s.handle("GET", "/cluster/nextid", s.nextID)
	s.handle("GET", "/storage", s.storageList)
	s.handle("GET", "/storage/{storage}", s.storageGet)
	s.handle("PUT", "/storage/{storage}", s.storageUpdate)
	s.handle("GET", "/nodes/{node}/storage", s.nodeStorage)
	s.handle("GET", "/nodes/{node}/storage/{storage}", s.nodeStorageIndex)
	s.handle("GET", "/nodes/{node}/storage/{storage}/status", s.nodeStorageStatus)
	s.handle("GET", "/nodes/{node}/storage/{storage}/content", s.storageContent)
	s.handle("GET", "/nodes/{node}/storage/{storage}/content/{volume}", s.storageVolume)
	s.handle("DELETE", "/nodes/{node}/storage/{storage}/content/{volume}", s.storageVolumeDelete)
	s.handle("POST", "/nodes/{node}/storage/{storage}/upload", s.storageUpload)
	s.handle("POST", "/nodes/{node}/storage/{storage}/download-url", s.storageDownloadURL)
	s.handle("GET", "/nodes/{node}/aplinfo", s.aplinfoList)
	s.handle("POST", "/nodes/{node}/aplinfo", s.aplinfoDownload)
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
		s.handle("GET", g+"/firewall", s.firewallIndex)
		s.handle("GET", g+"/firewall/options", s.firewallOptionsGet)
		s.handle("PUT", g+"/firewall/options", s.firewallOptionsPut)
		s.handle("GET", g+"/firewall/rules", s.firewallRules)
		s.handle("POST", g+"/firewall/rules", s.firewallRuleCreate)
		s.handle("GET", g+"/firewall/rules/{pos}", s.firewallRuleGet)
		s.handle("PUT", g+"/firewall/rules/{pos}", s.firewallRulePut)
		s.handle("DELETE", g+"/firewall/rules/{pos}", s.firewallRuleDelete)
	}
	return s.routes
}
