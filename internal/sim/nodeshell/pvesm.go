package nodeshell

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// StorageCluster is what pvesm and qm's disk import need beyond Cluster.
// A Cluster that lacks it answers those commands with "not simulated".
type StorageCluster interface {
	// CallAPI runs an API call on this cluster as root@pam (pvesm is an
	// API client on PVE too). Errors are printed as Cluster's are.
	CallAPI(ctx context.Context, method, path string, params map[string][]string) (any, error)
	// WaitTask waits for a worker started by CallAPI and returns its log
	// lines and exit status ("OK" or the error).
	WaitTask(ctx context.Context, upid string) (log []string, status string, err error)
	// VolumePath is PVE::Storage::path: a volume ID's path on the node.
	VolumePath(volid string) (string, error)
	// ImportDisk is qemu-server's ImportDisk::do_import: a new volume of
	// size bytes on storage for VM vmid holds a copy of the node file
	// source, attached as targetDisk (empty: the next unusedN). It returns
	// the config key and volume ID.
	ImportDisk(ctx context.Context, node string, vmid int, req ImportDiskRequest) (drive, volid string, err error)
}

// ImportDiskRequest is one qm disk import.
type ImportDiskRequest struct {
	Source     string // absolute node path
	Size       int64  // the image's virtual size
	Storage    string
	Format     string // raw, qcow2, vmdk or "" for the storage's default
	TargetDisk string
	// Warn receives the warnings the import prints (format fallback).
	Warn io.Writer
}

// pvesmCommands is pvesm's cmddef: the commands the usage lists, with
// handlers for the simulated ones.
func pvesmCommands() map[string]*command {
	const (
		config  = "PVE::API2::Storage::Config"
		content = "PVE::API2::Storage::Content"
		status  = "PVE::API2::Storage::Status"
		cli     = "PVE::CLI::pvesm"
	)
	vol := []string{"volume"}
	return map[string]*command{
		"add":           {class: config, spec: spec("pvesm add", []string{"type", "storage"}, nil, nil, nil, true)},
		"set":           {class: config, spec: pvesmSetSpec(), run: pvesmSet},
		"remove":        {class: config, spec: spec("pvesm remove", []string{"storage"}, nil, nil, nil, false)},
		"status":        {class: status, spec: spec("pvesm status", nil, nil, []string{"enabled"}, []string{"content", "format", "storage", "target"}, true), run: pvesmStatus},
		"list":          {class: content, spec: spec("pvesm list", []string{"storage"}, nil, nil, []string{"content", "vmid"}, true), run: pvesmList},
		"alloc":         {class: content, spec: spec("pvesm alloc", []string{"storage", "vmid", "filename", "size"}, nil, nil, []string{"format"}, true), run: pvesmAlloc},
		"free":          {class: content, spec: spec("pvesm free", vol, nil, nil, []string{"delay", "storage"}, true), run: pvesmFree},
		"path":          {class: cli, spec: spec("pvesm path", vol, nil, nil, nil, false), run: pvesmPath},
		"apiinfo":       {class: cli, spec: spec("pvesm apiinfo", nil, nil, nil, nil, false)},
		"extractconfig": {class: cli, spec: spec("pvesm extractconfig", vol, nil, nil, nil, false)},
		"export":        {class: cli, spec: spec("pvesm export", []string{"volume", "format", "filename"}, nil, nil, nil, true)},
		"import":        {class: cli, spec: spec("pvesm import", []string{"volume", "format", "filename"}, nil, nil, nil, true)},
		"prune-backups": {class: cli, spec: spec("pvesm prune-backups", []string{"storage"}, nil, nil, nil, true)},
		"help":          {class: "PVE::CLIHandler", spec: spec("pvesm help", []string{"extra-args"}, nil, []string{"verbose"}, nil, true)},
	}
}

// pvesmSetSpec: update takes every storage option; the API validates them.
func pvesmSetSpec() *cmdSpec {
	s := spec("pvesm set", []string{"storage"}, nil, nil, []string{"delete", "digest"}, true)
	s.anyOpt = true
	return s
}

// storageCluster returns the cluster's storage side or prints why not.
func (c *call) storageCluster(spec *cmdSpec) (StorageCluster, bool) {
	sc, ok := c.s.cfg.Cluster.(StorageCluster)
	if !ok {
		fmt.Fprintf(c.stderr, "nodeshell: '%s' is not simulated\n", spec.prefix)
	}
	return sc, ok
}

// api runs one call with the parsed options as parameters.
func (c *call) api(spec *cmdSpec, method, path string, params map[string]string) (any, bool) {
	sc, ok := c.storageCluster(spec)
	if !ok {
		return nil, false
	}
	p := map[string][]string{}
	for k, v := range params {
		p[k] = []string{v}
	}
	out, err := sc.CallAPI(c.ctx, method, path, p)
	if err != nil {
		printErr(c.stderr, spec, err)
		return nil, false
	}
	return out, true
}

func pvesmSet(c *call, p *parsedArgs) int {
	if _, ok := c.api(p.spec, "PUT", "/storage/"+p.pos["storage"], p.opts); !ok {
		return exitDie
	}
	return 0
}

func pvesmStatus(c *call, p *parsedArgs) int {
	spec := p.spec
	out, ok := c.api(spec, "GET", "/nodes/"+c.node+"/storage", p.opts)
	if !ok {
		return exitDie
	}
	list := asMaps(out)
	maxlen := 0
	for _, e := range list {
		maxlen = max(maxlen, len(str(e["storage"])))
	}
	maxlen++
	fmt.Fprintf(c.stdout, "%-*s %10s %10s %15s %15s %15s %8s\n", maxlen, "Name", "Type", "Status", "Total (KiB)", "Used (KiB)", "Available (KiB)", "%")
	sort.Slice(list, func(i, j int) bool { return str(list[i]["storage"]) < str(list[j]["storage"]) })
	for _, e := range list {
		active := "inactive"
		if num(e["active"]) != 0 {
			active = "active"
		}
		total, used, avail := num(e["total"]), num(e["used"]), num(e["avail"])
		per := "   0.00%"
		if total > 0 {
			per = fmt.Sprintf("% 7.2f%%", float64(used)*100/float64(total))
		}
		if num(e["enabled"]) == 0 {
			per, active = fmt.Sprintf("% 8s", "N/A"), "disabled"
		}
		fmt.Fprintf(c.stdout, "%-*s %10s %10s %15d %15d %15d %s\n", maxlen, str(e["storage"]), str(e["type"]), active,
			total/1024, used/1024, avail/1024, per)
	}
	return 0
}

func pvesmList(c *call, p *parsedArgs) int {
	spec := p.spec
	out, ok := c.api(spec, "GET", "/nodes/"+c.node+"/storage/"+p.pos["storage"]+"/content", p.opts)
	if !ok {
		return exitDie
	}
	list := asMaps(out)
	maxname, maxsize := 0, int64(0)
	for _, e := range list {
		maxname = max(maxname, len(str(e["volid"])))
		maxsize = max(maxsize, num(e["size"]))
	}
	digits := len(strconv.FormatInt(maxsize, 10))
	base := fmt.Sprintf("%%-%ds %%-7s %%-9s %%%ds", maxname, digits)
	fmt.Fprintf(c.stdout, base+" %s\n", "Volid", "Format", "Type", "Size", "VMID")
	for _, e := range list {
		if num(e["vmid"]) != 0 {
			fmt.Fprintf(c.stdout, base+" %d\n", str(e["volid"]), str(e["format"]), str(e["content"]), sizeStr(e), num(e["vmid"]))
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return str(list[i]["format"]) < str(list[j]["format"]) })
	for _, e := range list {
		if num(e["vmid"]) == 0 {
			fmt.Fprintf(c.stdout, base+"\n", str(e["volid"]), str(e["format"]), str(e["content"]), sizeStr(e))
		}
	}
	return 0
}

func sizeStr(e map[string]any) string {
	if _, ok := e["size"]; !ok {
		return "-"
	}
	return strconv.FormatInt(num(e["size"]), 10)
}

func pvesmAlloc(c *call, p *parsedArgs) int {
	spec := p.spec
	params := map[string]string{"vmid": p.pos["vmid"], "filename": p.pos["filename"], "size": p.pos["size"]}
	if f, ok := p.opts["format"]; ok {
		params["format"] = f
	}
	out, ok := c.api(spec, "POST", "/nodes/"+c.node+"/storage/"+p.pos["storage"]+"/content", params)
	if !ok {
		return exitDie
	}
	fmt.Fprintf(c.stdout, "successfully created '%s'\n", str(out))
	return 0
}

// pvesmFree runs Content.pm delete's worker in the foreground, as the CLI
// does: its log is the output.
func pvesmFree(c *call, p *parsedArgs) int {
	spec := p.spec
	storage := p.opts["storage"]
	if storage == "" { // real_volume_id: the volume ID must name it
		sid, _, ok := strings.Cut(p.pos["volume"], ":")
		if !ok {
			return paramErr(map[string]string{"volume": "no storage specified - incomplete volume ID"}).print(c.stderr, spec)
		}
		storage = sid
	}
	params := map[string]string{}
	if d, ok := p.opts["delay"]; ok {
		params["delay"] = d
	}
	out, ok := c.api(spec, "DELETE", "/nodes/"+c.node+"/storage/"+storage+"/content/"+p.pos["volume"], params)
	if !ok {
		return exitDie
	}
	upid, _ := out.(string)
	if upid == "" {
		return 0
	}
	sc, _ := c.storageCluster(spec)
	log, status, err := sc.WaitTask(c.ctx, upid)
	if err != nil {
		return printErr(c.stderr, spec, err)
	}
	for _, l := range log {
		fmt.Fprintln(c.stdout, l)
	}
	if status != "OK" {
		fmt.Fprintln(c.stderr, status)
		return exitDie
	}
	return 0
}

func pvesmPath(c *call, p *parsedArgs) int {
	spec := p.spec
	sc, ok := c.storageCluster(spec)
	if !ok {
		return exitDie
	}
	path, err := sc.VolumePath(p.pos["volume"])
	if err != nil {
		return printErr(c.stderr, spec, err)
	}
	fmt.Fprintln(c.stdout, path)
	return 0
}

func asMaps(v any) []map[string]any {
	switch l := v.(type) {
	case []map[string]any:
		return l
	case []any:
		out := make([]map[string]any, 0, len(l))
		for _, e := range l {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func num(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}
