package pve

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// One /cluster/resources listing serves every guest lookup of a plan: it
// gives each guest's node, kind, run state, template flag and lock. The
// provider builds one Client per configuration, so every resource of a plan
// shares its listing: fetched once however many lookups wait for it
// (singleflight), reused for a short window, and dropped by every write any
// client of this process sends to the endpoint and by every task end they
// see, so an apply never acts on what it changed itself. Out-of-band
// changes show after at most the window.

// Resource is one guest as the cluster listing shows it.
type Resource struct {
	Ref
	Status   string // running, stopped
	Template bool
	Lock     string // the config lock ("" when none)
	Name     string
}

// listingEntry is the JSON of one vm entry of /cluster/resources.
type listingEntry struct {
	VMID     int     `json:"vmid"`
	Node     string  `json:"node"`
	Type     string  `json:"type"`
	Status   string  `json:"status"`
	Template flexInt `json:"template"`
	Lock     string  `json:"lock"`
	Name     string  `json:"name"`
}

type listing struct {
	byID    map[int]Resource
	fetched time.Time
	gen     uint64
}

type flight struct {
	gen  uint64
	done chan struct{}
	res  *listing
	err  error
}

type clusterCache struct {
	ttl time.Duration
	gen *atomic.Uint64 // shared by every user of the endpoint
	mu  sync.Mutex
	cur *listing
	fl  *flight
	// nodes is the node list, fetched once per process.
	nodesOnce sync.Mutex
	nodes     []string
}

// writeGens counts the writes sent to each endpoint by this process.
var writeGens sync.Map // base URL -> *atomic.Uint64

// newCache is a client's cache; its validity follows every write of the
// process to endpoint base.
func newCache(base string, ttl time.Duration) *clusterCache {
	gen, _ := writeGens.LoadOrStore(base, &atomic.Uint64{})
	return &clusterCache{ttl: ttl, gen: gen.(*atomic.Uint64)}
}

// invalidate drops the listing of every user of the endpoint.
func (cc *clusterCache) invalidate() { cc.gen.Add(1) }

// listing returns a listing no older than the window and no older than the
// last write; concurrent callers share one fetch.
func (cc *clusterCache) listing(ctx context.Context, c *Client) (*listing, error) {
	cc.mu.Lock()
	g := cc.gen.Load()
	if l := cc.cur; l != nil && l.gen == g && time.Since(l.fetched) < cc.ttl {
		cc.mu.Unlock()
		return l, nil
	}
	f := cc.fl
	if f == nil || f.gen != g {
		f = &flight{gen: g, done: make(chan struct{})}
		cc.fl = f
		go cc.fetch(context.WithoutCancel(ctx), c, f)
	}
	cc.mu.Unlock()
	select {
	case <-f.done:
		return f.res, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (cc *clusterCache) fetch(ctx context.Context, c *Client, f *flight) {
	started := time.Now()
	var entries []listingEntry
	c.stats.listings.Add(1)
	err := c.get(ctx, "/cluster/resources?type=vm", &entries)
	if err == nil {
		l := &listing{byID: make(map[int]Resource, len(entries)), fetched: started, gen: f.gen}
		for _, e := range entries {
			if e.Type != string(LXC) && e.Type != string(QEMU) {
				continue
			}
			l.byID[e.VMID] = Resource{Ref: Ref{Node: e.Node, Kind: Kind(e.Type), ID: e.VMID}, Status: e.Status,
				Template: e.Template != 0, Lock: e.Lock, Name: e.Name}
		}
		f.res = l
	}
	f.err = err
	cc.mu.Lock()
	if err == nil && cc.gen.Load() == f.gen {
		cc.cur = f.res
	}
	if cc.fl == f {
		cc.fl = nil
	}
	cc.mu.Unlock()
	close(f.done)
}

// Guest finds guest id in the cluster listing (shared, see above), so a
// guest migrated out of band is followed. ok is false when no node has it.
func (c *Client) Guest(ctx context.Context, id int) (Resource, bool, error) {
	l, err := c.cache.listing(ctx, c)
	if err != nil {
		return Resource{}, false, err
	}
	r, ok := l.byID[id]
	return r, ok, nil
}

// GuestFresh is Guest from a listing fetched now: after PVE said the guest
// is not where the listing put it.
func (c *Client) GuestFresh(ctx context.Context, id int) (Resource, bool, error) {
	c.cache.invalidate()
	return c.Guest(ctx, id)
}

// Locate finds which node holds a guest now, from a listing fetched for
// it: what a write is about to act on, or a check of what another program
// did, must not come from a listing shared over time. ok is false when no
// node has it.
func (c *Client) Locate(ctx context.Context, id int) (ref Ref, ok bool, err error) {
	r, ok, err := c.GuestFresh(ctx, id)
	return r.Ref, ok, err
}

// Nodes lists the cluster's node names, sorted; fetched once per process.
func (c *Client) Nodes(ctx context.Context) ([]string, error) {
	cc := c.cache
	cc.nodesOnce.Lock()
	defer cc.nodesOnce.Unlock()
	if cc.nodes != nil {
		return append([]string(nil), cc.nodes...), nil
	}
	var nodes []struct {
		Node string `json:"node"`
	}
	if err := c.get(ctx, "/nodes", &nodes); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, n.Node)
	}
	sort.Strings(out)
	cc.nodes = out
	return append([]string(nil), out...), nil
}
