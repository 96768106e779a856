// Command gen writes zz_generated_endpoints.go, the parameter table of the
// endpoints the simulator serves (pveschema.ServedPaths), and
// zz_generated_permissions.go, their permissions, from the official PVE API
// schema. The schema file itself stays outside the repository.
//
//	go run ./internal/sim/pveschema/gen -schema ../shared/pve-api/pve-api-9.1.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

func main() {
	schema := flag.String("schema", "../shared/pve-api/pve-api-9.1.json", "path of pve-api-9.1.json")
	out := flag.String("o", "internal/sim/pveschema/zz_generated_endpoints.go", "output file of the parameter table")
	permsOut := flag.String("perms", "internal/sim/pveschema/zz_generated_permissions.go", "output file of the permissions table")
	flag.Parse()
	src, err := pveschema.GenerateSource(*schema, pveschema.ServedPaths)
	if err == nil {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err == nil {
		src, err = pveschema.GeneratePermissionsSource(*schema, pveschema.PermissionPaths())
	}
	if err == nil {
		err = os.WriteFile(*permsOut, src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
