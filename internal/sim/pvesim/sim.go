//go:build linux

package pvesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// serveSim serves the simulator's own control surface under /_sim/ (not part
// of PVE). It takes the same credentials as the API.
//
//	GET    /_sim/stats            {"counters": {"GET /nodes/{node}/lxc": 3}, "total": 3}
//	DELETE /_sim/stats            reset counters and request log
//	GET    /_sim/requests         the request log
//	POST   /_sim/faults           FaultRule JSON -> {"id": N}
//	POST   /_sim/task-faults      TaskFault JSON -> {"id": N}
//	DELETE /_sim/faults           remove all faults, bring nodes back
//	POST   /_sim/locks            {"path": "...", "kind": "qemu", "vmid": 100, "storage": "", "seconds": 5}
//	POST   /_sim/nodes/{node}     {"down": true}
//	POST   /_sim/agent            {"vmid": 100, "down": true, "exec_hang": true}
//	POST   /_sim/ssh              {"drop_next": 1, "change_host_key": true}
//
// Long by design: one switch over the control API's routes, each a few lines.
func (s *Server) serveSim(w http.ResponseWriter, r *http.Request) {
	a, err := s.auth.authenticate(r)
	if err == nil && a.user != "root@pam" && a.user != tokenID {
		err = permErr("user != root@pam") // the control API is the administrator's
	}
	if err != nil {
		writeError(w, asAPIError(err))
		return
	}
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": v})
	}
	bad := func(msg string) { writeError(w, &apiError{Status: 400, Msg: msg}) }
	p := strings.TrimPrefix(r.URL.Path, "/_sim")
	f := s.faults
	switch {
	case p == "/stats" && r.Method == http.MethodGet:
		c := f.Counters()
		total := 0
		for _, n := range c {
			total += n
		}
		reply(map[string]any{"counters": c, "total": total})
	case p == "/stats" && r.Method == http.MethodDelete:
		f.ResetStats()
		reply(nil)
	case p == "/requests" && r.Method == http.MethodGet:
		reply(f.Requests())
	case p == "/faults" && r.Method == http.MethodPost:
		var fr FaultRule
		if err := json.NewDecoder(r.Body).Decode(&fr); err != nil {
			bad(err.Error())
			return
		}
		reply(map[string]int{"id": f.AddFault(fr)})
	case p == "/task-faults" && r.Method == http.MethodPost:
		var tf TaskFault
		if err := json.NewDecoder(r.Body).Decode(&tf); err != nil {
			bad(err.Error())
			return
		}
		reply(map[string]int{"id": f.AddTaskFailure(tf)})
	case p == "/faults" && r.Method == http.MethodDelete:
		f.Clear()
		reply(nil)
	case p == "/locks" && r.Method == http.MethodPost:
		var req struct {
			Path    string  `json:"path"`
			Kind    string  `json:"kind"`
			VMID    int     `json:"vmid"`
			Storage string  `json:"storage"`
			Seconds float64 `json:"seconds"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			bad(err.Error())
			return
		}
		path := req.Path
		switch {
		case path != "":
		case req.Storage != "":
			path = storageLockPath(req.Storage)
		case req.VMID != 0:
			path = guestLockPath(req.Kind, req.VMID)
		default:
			bad("path, storage or vmid required")
			return
		}
		if err := f.HoldLock(path, time.Duration(req.Seconds*float64(time.Second))); err != nil {
			writeError(w, asAPIError(err))
			return
		}
		reply(map[string]string{"path": path})
	case strings.HasPrefix(p, "/nodes/") && r.Method == http.MethodPost:
		var req struct {
			Down bool `json:"down"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			bad(err.Error())
			return
		}
		f.SetNodeDown(strings.TrimPrefix(p, "/nodes/"), req.Down)
		reply(nil)
	case s.serveSimAccess(w, r, p): // users, tokens, roles, ACLs (access.go)
	case s.serveSimGuests(w, r, p): // agent and SSH faults (ssh.go)
	default:
		writeError(w, &apiError{Status: 501, Msg: "no such uri"})
	}
}
