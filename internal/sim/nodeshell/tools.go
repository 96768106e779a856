package nodeshell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveconf"
)

// call is one pct/qm invocation on a node, from an SSH exec or the socket.
type call struct {
	ctx    context.Context
	s      *Server
	node   string
	cwd    string   // working directory inside the node sandbox
	env    []string // caller's environment (kept by pct exec --keep-env)
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is a registered CLI command: its spec and its handler.
type command struct {
	class string // PVE class, only for ordering the usage listing
	spec  *cmdSpec
	run   func(c *call, p *parsedArgs) int // nil: exists in PVE, not simulated
}

func spec(prefix string, args []string, optional []string, bools, strs []string, hasOpts bool) *cmdSpec {
	o := map[string]bool{}
	for _, a := range optional {
		o[a] = true
	}
	return &cmdSpec{prefix: prefix, args: args, optional: o, bools: bools, strs: strs, hasOpts: hasOpts}
}

// runTool runs argv (argv[0] is "pct" or "qm", possibly a path) and returns
// the exit code the real tool would return.
func (c *call) runTool(argv []string) int {
	tool := path.Base(argv[0])
	var table map[string]*command
	var groups map[string]map[string]*command
	switch tool {
	case "pct":
		table = pctCommands()
	case "qm":
		table, groups = qmCommands()
	case "pvesm":
		table = pvesmCommands()
	default:
		fmt.Fprintf(c.stderr, "%s: command not found\n", argv[0])
		return 127
	}
	args := argv[1:]
	if len(args) == 0 {
		return usageAbort(c.stderr, tool, "no command specified", table, nil)
	}
	name, ok := expandCommand(args[0], table, groups)
	if !ok {
		return usageAbort(c.stderr, tool, fmt.Sprintf("unknown command '%s %s'", tool, args[0]), table, nil)
	}
	cmd := table[name]
	rest := args[1:]
	if sub, isGroup := groups[name]; isGroup {
		if len(rest) == 0 {
			return usageAbort(c.stderr, tool, fmt.Sprintf("incomplete command '%s %s'", tool, name), sub, []string{name})
		}
		subName, ok := expandCommand(rest[0], sub, nil)
		if !ok {
			return usageAbort(c.stderr, tool, fmt.Sprintf("unknown command '%s %s %s'", tool, name, rest[0]), table, nil)
		}
		cmd, rest = sub[subName], rest[1:]
	}
	p, perr := cmd.spec.parse(rest)
	if perr != nil {
		return perr.print(c.stderr, cmd.spec)
	}
	if cmd.run == nil {
		fmt.Fprintf(c.stderr, "nodeshell: '%s' is not simulated\n", cmd.spec.prefix)
		return exitDie
	}
	return cmd.run(c, p)
}

// expandCommand resolves a command name exactly or by unique prefix, as
// CLIHandler::resolve_cmd does.
func expandCommand(name string, table map[string]*command, groups map[string]map[string]*command) (string, bool) {
	if _, ok := table[name]; ok {
		return name, true
	}
	if _, ok := groups[name]; ok {
		return name, true
	}
	var found []string
	for k := range table {
		if strings.HasPrefix(k, name) {
			found = append(found, k)
		}
	}
	for k := range groups {
		if _, dup := table[k]; !dup && strings.HasPrefix(k, name) {
			found = append(found, k)
		}
	}
	if len(found) != 1 {
		return "", false
	}
	return found[0], true
}

// usageAbort is CLIHandler's $abort: the reason, the tool usage and the
// short usage of every command, grouped by class, on stderr; exit(-1).
func usageAbort(w io.Writer, tool, reason string, table map[string]*command, group []string) int {
	fmt.Fprintf(w, "ERROR: %s\n", reason)
	fmt.Fprintf(w, "USAGE: %s <COMMAND> [ARGS] [OPTIONS]\n", tool)
	sep := "\n"
	if group != nil {
		sep = ""
	}
	names := make([]string, 0, len(table))
	for k := range table {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := table[names[i]], table[names[j]]
		if a.class != b.class {
			return a.class < b.class
		}
		return names[i] < names[j]
	})
	var b strings.Builder
	prev := ""
	for _, n := range names {
		cmd := table[n]
		if cmd.spec == nil { // a group
			continue
		}
		if prev != "" && prev != cmd.class {
			b.WriteString(sep)
		}
		b.WriteString("       ")
		b.WriteString(cmd.spec.usage())
		prev = cmd.class
	}
	fmt.Fprintf(w, "\n%s", b.String())
	return exitDie
}

// guest returns the guest when it is of kind on this node; otherwise it
// prints PVE's load_config error and returns false.
func (c *call) guest(id int, kind string) (GuestInfo, bool) {
	g, ok := c.s.cfg.Cluster.Guest(id)
	if ok && g.Node == c.node && g.Kind == kind {
		return g, true
	}
	dir := "lxc"
	if kind == "qemu" {
		dir = "qemu-server"
	}
	fmt.Fprintf(c.stderr, "Configuration file 'nodes/%s/%s/%d.conf' does not exist\n", c.node, dir, id)
	return g, false
}

// printConf implements `pct config` / `qm config`.
func (c *call) printConf(p *parsedArgs, kind string) int {
	spec := p.spec
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, spec)
	}
	snap, hasSnap := p.opts["snapshot"]
	if hasSnap && snap != "" && p.opts["current"] == "1" {
		msg := "cannot use 'snapshot' parameter with 'current'"
		return paramErr(map[string]string{"snapshot": msg, "current": msg}).print(c.stderr, spec)
	}
	if _, ok := c.guest(id, kind); !ok {
		return exitDie
	}
	text, err := c.s.cfg.Cluster.ConfigText(id)
	if err != nil {
		return printErr(c.stderr, spec, err)
	}
	cf, _ := pveconf.Parse(kind, id, text) // warnings: the simulator renders clean files
	sec := cf.Current(p.opts["current"] == "1")
	if hasSnap && snap != "" {
		s, ok := cf.Snapshots[snap]
		if !ok {
			fmt.Fprintf(c.stderr, "snapshot '%s' does not exist\n", snap)
			return exitDie
		}
		sec = s
	}
	printConfig(c.stdout, sec, kind == "lxc")
	return 0
}

// nodeRoot opens the node sandbox; paths below it never escape it.
func (c *call) nodeRoot() (*os.Root, error) {
	dir, err := c.s.cfg.Cluster.NodeRoot(c.node)
	if err != nil {
		return nil, err
	}
	return os.OpenRoot(dir)
}

// nodeRel turns a path as the caller typed it into a path relative to the
// node root.
func (c *call) nodeRel(p string) string {
	if !path.IsAbs(p) {
		p = path.Join(c.cwd, p)
	}
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		return "."
	}
	return rel
}

// strerror renders an OS error as perl's "$!" does.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// taskError prints a failed fork_worker's error as the synchronous CLI
// worker does (one line on stderr).
func taskError(w io.Writer, msg string) {
	msg = strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", " ")
	fmt.Fprintf(w, "%s\n", msg)
}
