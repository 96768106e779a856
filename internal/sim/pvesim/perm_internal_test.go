//go:build linux

package pvesim

import (
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// Every route the simulator serves has the official schema's permissions,
// and every handler check and listing filter belongs to a served route.
func TestEveryRouteHasPermissions(t *testing.T) {
	s := &Server{}
	s.buildRoutes()
	s.buildAgentRoutes()
	served := map[string]bool{}
	for _, rt := range s.routes {
		key := rt.method + " " + rt.tmpl
		served[key] = true
		if _, ok := pveschema.PermissionOf(rt.method, rt.tmpl); !ok {
			t.Errorf("%s has no permissions in the generated table", key)
		}
	}
	for key := range permHooks {
		if !served[key] {
			t.Errorf("handler check for %s, which is not served", key)
		}
	}
	for key := range permFilters {
		if !served[key] {
			t.Errorf("listing filter for %s, which is not served", key)
		}
	}
}
