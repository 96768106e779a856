//go:build linux

package pvesim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	nodeMaxCPU = 4
	nodeMaxMem = 64 * gib
	nodeDisk   = 100 * gib
)

var simStart = time.Now()

func (s *Server) version(r *request) (any, error) {
	return map[string]any{"version": "9.1.1", "release": "9.1", "repoid": "42cf1a5d"}, nil
}

func (s *Server) accessTicket(r *request) (any, error) {
	if r.method == "GET" {
		return nil, nil
	}
	return s.login(r.str("username"), r.str("password"))
}

func (s *Server) nodeEntry(n string) map[string]any {
	e := map[string]any{"node": n, "id": "node/" + n, "type": "node", "status": "online", "level": "",
		"maxcpu": nodeMaxCPU, "maxmem": nodeMaxMem, "maxdisk": nodeDisk, "cpu": 0.01, "mem": 4 * gib,
		"disk": 10 * gib, "uptime": int64(time.Since(simStart).Seconds()) + 3600, "ssl_fingerprint": s.Fingerprint()}
	if s.faults.NodeDown(n) {
		e = map[string]any{"node": n, "id": "node/" + n, "type": "node", "status": "offline", "level": "", "ssl_fingerprint": s.Fingerprint()}
	}
	return e
}

func (s *Server) nodes(r *request) (any, error) {
	out := []map[string]any{}
	for _, n := range s.opts.Nodes {
		out = append(out, s.nodeEntry(n))
	}
	return out, nil
}

func (s *Server) nodeIndex(r *request) (any, error) {
	return dirIndex("name", "qemu", "lxc", "storage", "tasks", "status", "network", "version"), nil
}

func (s *Server) nodeStatus(r *request) (any, error) {
	up := int64(time.Since(simStart).Seconds()) + 3600
	return map[string]any{
		"uptime": up, "cpu": 0.01, "wait": 0, "idle": 0, "loadavg": []string{"0.10", "0.05", "0.01"},
		"kversion":   "Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z) x86_64",
		"pveversion": "pve-manager/9.1.1/42cf1a5d", "current-kernel": map[string]any{"sysname": "Linux", "release": "6.17.2-1-pve", "version": "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)", "machine": "x86_64"},
		"boot-info": map[string]any{"mode": "efi", "secureboot": 0},
		"cpuinfo":   map[string]any{"cpus": nodeMaxCPU, "cores": nodeMaxCPU, "sockets": 1, "model": "pvesim virtual CPU", "mhz": "2400.000", "hvm": "1", "flags": "", "user_hz": 100},
		"memory":    map[string]any{"total": nodeMaxMem, "used": 4 * gib, "free": nodeMaxMem - 4*gib, "available": nodeMaxMem - 4*gib},
		"swap":      map[string]any{"total": 8 * gib, "used": 0, "free": 8 * gib},
		"rootfs":    map[string]any{"total": nodeDisk, "used": 10 * gib, "free": nodeDisk - 10*gib, "avail": nodeDisk - 10*gib},
		"ksm":       map[string]any{"shared": 0},
	}, nil
}

func (s *Server) clusterStatus(r *request) (any, error) {
	out := []map[string]any{}
	multi := len(s.opts.Nodes) > 1
	if multi {
		out = append(out, map[string]any{"type": "cluster", "id": "cluster", "name": "pvesim", "nodes": len(s.opts.Nodes), "quorate": 1, "version": len(s.opts.Nodes)})
	}
	for i, n := range s.opts.Nodes {
		online := 1
		if s.faults.NodeDown(n) {
			online = 0
		}
		e := map[string]any{"type": "node", "id": "node/" + n, "name": n, "ip": fmt.Sprintf("127.0.0.%d", i+1), "level": "", "local": 0, "nodeid": i + 1, "online": online}
		if i == 0 {
			e["local"] = 1
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Server) clusterResources(r *request) (any, error) {
	typ := r.str("type")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	if typ == "" || typ == "pool" {
		for _, id := range sortedKeys(s.st.Pools) {
			out = append(out, map[string]any{"id": "/pool/" + id, "pool": id, "type": "pool"})
		}
	}
	if typ == "" || typ == "vm" {
		ids := make([]int, 0, len(s.st.Guests))
		for id := range s.st.Guests {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		for _, id := range ids {
			e := s.vmResourceEntry(s.st.Guests[id])
			if pool := s.st.poolOf(id); pool != "" {
				e["pool"] = pool
			}
			out = append(out, e)
		}
	}
	if typ == "" || typ == "node" {
		for _, n := range s.opts.Nodes {
			e := s.nodeEntry(n)
			delete(e, "ssl_fingerprint")
			e["cgroup-mode"] = 2
			out = append(out, e)
		}
	}
	if typ == "" || typ == "storage" {
		for _, n := range s.opts.Nodes {
			for _, st := range s.st.Storages {
				out = append(out, s.storageResourceEntry(n, st))
			}
		}
	}
	if typ == "" || typ == "sdn" {
		for _, n := range s.opts.Nodes {
			out = append(out, map[string]any{"id": "sdn/" + n + "/localnetwork", "type": "sdn", "sdn": "localnetwork", "node": n, "status": "ok"})
		}
	}
	return out, nil
}

// vmResourceEntry is a guest as /cluster/resources and pool members show it
// (API2Tools extract_vm_stats; caller holds s.mu).
func (s *Server) vmResourceEntry(g *Guest) map[string]any {
	e := s.statusEntry(g)
	e["maxcpu"] = e["cpus"]
	for _, k := range []string{"cpus", "maxswap", "swap", "pid", "serial"} {
		delete(e, k)
	}
	e["id"] = fmt.Sprintf("%s/%d", g.Kind, g.VMID)
	e["type"] = g.Kind
	e["node"] = g.Node
	if _, ok := e["template"]; !ok {
		e["template"] = 0
	}
	return e
}

// storageResourceEntry is a storage on a node as /cluster/resources and
// pool members show it (extract_storage_stats; caller holds s.mu).
func (s *Server) storageResourceEntry(node string, st *Storage) map[string]any {
	return map[string]any{"id": "storage/" + node + "/" + st.ID, "type": "storage", "storage": st.ID, "node": node,
		"status": "available", "plugintype": st.Type, "content": st.contentString(), "shared": b2i(st.Shared),
		"disk": s.storageUsed(node, st), "maxdisk": st.Total}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Server) nextID(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.has("vmid") {
		id := r.integer("vmid")
		if s.st.Guests[id] != nil {
			return nil, paramErr(map[string]string{"vmid": fmt.Sprintf("VM %d already exists", id)})
		}
		return strconv.Itoa(id), nil
	}
	for id := 100; ; id++ {
		if s.st.Guests[id] == nil {
			return strconv.Itoa(id), nil
		}
	}
}

// Storage

// storageUsed is the bytes node's guest images and files on the storage
// take (caller holds s.mu).
func (s *Server) storageUsed(node string, st *Storage) int64 {
	var used int64
	for _, v := range s.st.Volumes {
		if v.Node == node && strings.HasPrefix(v.VolID, st.ID+":") {
			used += v.Size
		}
	}
	if st.Path != "" {
		if root, err := s.openNodeRoot(node); err == nil {
			used += fileUsage(root, st, node)
			root.Close()
		}
	}
	return used
}

func (s *Server) storageStatusEntry(node string, st *Storage) map[string]any {
	used := s.storageUsed(node, st)
	enabled := b2i(st.prop("disable") != "1")
	return map[string]any{"storage": st.ID, "type": st.Type, "content": st.contentString(), "active": enabled,
		"enabled": enabled, "shared": b2i(st.Shared), "total": st.Total, "used": used, "avail": st.Total - used,
		"used_fraction": float64(used) / float64(st.Total)}
}

func (s *Server) nodeStorage(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	content := splitList(r.str("content"))
	out := []map[string]any{}
	for _, st := range s.st.Storages {
		if r.has("storage") && r.str("storage") != st.ID {
			continue
		}
		ok := len(content) == 0
		for _, c := range content {
			ok = ok || storageContent(st, c)
		}
		if ok {
			out = append(out, s.storageStatusEntry(r.vars["node"], st))
		}
	}
	return out, nil
}

func (s *Server) storageByID(r *request) (*Storage, error) {
	st := s.st.storage(r.vars["storage"])
	if st == nil {
		return nil, die("storage '%s' does not exist", r.vars["storage"])
	}
	return st, nil
}

// nodeStorageIndex is Status.pm diridx: a fixed list, the storage is not looked up.
func (s *Server) nodeStorageIndex(r *request) (any, error) {
	return dirIndex("subdir", "content", "download-url", "file-restore", "import-metadata", "identity",
		"oci-registry-pull", "prunebackups", "rrd", "rrddata", "status", "upload"), nil
}

func (s *Server) nodeStorageStatus(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st.storage(r.vars["storage"])
	if st == nil {
		// read_status looks the storage up in storage_info, not storage_config.
		return nil, paramErr(map[string]string{"storage": "No such storage."})
	}
	return s.storageStatusEntry(r.vars["node"], st), nil
}

// Tasks

func (s *Server) taskByUPID(r *request) (*Task, error) {
	t := s.tasks.get(r.vars["upid"])
	if t == nil || t.Node != r.vars["node"] {
		return nil, die("no such task")
	}
	return t, nil
}

// taskList is pve-manager's API2/Tasks.pm node_tasks: finished tasks by
// default (source=archive), running ones (status RUNNING) with
// source=active, both with all; newest first.
func (s *Server) taskList(r *request) (any, error) {
	source := r.str("source")
	if source == "" {
		source = "archive"
	}
	var active, archive []map[string]any
	for _, t := range s.tasks.all() {
		if t.Node != r.vars["node"] || !s.taskListed(r, t) {
			continue
		}
		e := t.listEntry()
		if e["status"] == nil {
			e["status"] = "RUNNING"
			active = append(active, e)
		} else {
			archive = append(archive, e)
		}
	}
	var out []map[string]any
	if source == "active" || source == "all" {
		out = append(out, active...)
	}
	if source != "active" {
		out = append(out, archive...)
	}
	start, limit := r.integer("start"), 50
	if r.has("limit") {
		limit = r.integer("limit")
	}
	total := len(out)
	if start > len(out) {
		start = len(out)
	}
	out = out[start:]
	if limit < len(out) {
		out = out[:limit]
	}
	if out == nil {
		out = []map[string]any{}
	}
	return withTotal{data: out, total: total}, nil
}

// taskListed is node_tasks' filter_task (userfilter is a case-insensitive
// substring of the user, token tasks listed under their user).
func (s *Server) taskListed(r *request, t *Task) bool {
	user, _, _ := strings.Cut(t.User, "!")
	switch {
	case r.has("userfilter") && !strings.Contains(strings.ToLower(user), strings.ToLower(r.str("userfilter"))):
		return false
	case r.has("typefilter") && t.Type != r.str("typefilter"):
		return false
	case r.has("vmid") && t.ID != r.str("vmid"):
		return false
	case r.has("since") && t.StartTime < int64(r.integer("since")):
		return false
	case r.has("until") && t.StartTime > int64(r.integer("until")):
		return false
	}
	if r.boolean("errors") {
		st := t.ExitStatus()
		return st != "" && st != "OK"
	}
	return true
}

func (s *Server) taskIndex(r *request) (any, error) {
	if _, err := s.taskByUPID(r); err != nil {
		return nil, err
	}
	return dirIndex("name", "log", "status"), nil
}

func (s *Server) taskStatus(r *request) (any, error) {
	t, err := s.taskByUPID(r)
	if err != nil {
		return nil, err
	}
	return t.status(), nil
}

func (s *Server) taskLog(r *request) (any, error) {
	t, err := s.taskByUPID(r)
	if err != nil {
		return nil, err
	}
	lines := t.logLines()
	start, limit := r.integer("start"), 50
	if r.has("limit") {
		limit = r.integer("limit")
	}
	out := []map[string]any{}
	for i := start; i < len(lines) && len(out) < limit; i++ {
		out = append(out, map[string]any{"n": i + 1, "t": lines[i]})
	}
	return withTotal{data: out, total: len(lines)}, nil
}

func (s *Server) taskStop(r *request) (any, error) {
	t, err := s.taskByUPID(r)
	if err != nil {
		return nil, err
	}
	t.cancel()
	return nil, nil
}
