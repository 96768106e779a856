package lifecycle

import (
	"context"
	"errors"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// cloneOnto clones src into a new guest on env.Node. PVE clones straight to
// another node only when the source's disks are on shared storage; with
// local storage (PVE refuses "... uses local storage") the clone is made on
// the source's node and then migrated, stopped, to env.Node, as an operator
// would. The returned ref is where the new guest ended up.
func cloneOnto(ctx context.Context, env Env, src pve.Ref, o pve.CloneOptions) (pve.Ref, error) {
	o.Target = env.Node
	dst := pve.Ref{Node: env.Node, Kind: src.Kind, ID: o.NewID}
	err := env.API.Clone(ctx, src, o)
	var ae *pve.APIError
	if err == nil || env.Node == src.Node || !errors.As(err, &ae) || !strings.Contains(ae.Msg, "uses local storage") {
		return dst, err
	}
	env.logf("%s has local disks: cloning %d on %s, then migrating it to %s", src, o.NewID, src.Node, env.Node)
	o.Target = ""
	local := pve.Ref{Node: src.Node, Kind: src.Kind, ID: o.NewID}
	if err := env.API.Clone(ctx, src, o); err != nil {
		return local, err
	}
	if err := env.API.Migrate(ctx, local, env.Node, false); err != nil {
		return local, err
	}
	return dst, nil
}
