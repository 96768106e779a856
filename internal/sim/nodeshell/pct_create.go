package nodeshell

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// pctList is `pct list`: the API's vmlist of this node, printed by pct.pm's
// formatter (nothing at all when there are no containers).
func pctList(c *call, _ *parsedArgs) int {
	var list []GuestInfo
	for _, g := range c.s.cfg.Cluster.Guests() {
		if g.Node == c.node && g.Kind == "lxc" {
			list = append(list, g)
		}
	}
	if len(list) == 0 {
		return 0
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	const format = "%-10s %-10s %-12s %-20s\n"
	fmt.Fprintf(c.stdout, format, "VMID", "Status", "Lock", "Name")
	for _, g := range list {
		// PVE::LXC::vmstatus: hostname or "CT<vmid>", whitespace removed.
		name := strings.Join(strings.Fields(g.Name), "")
		if name == "" {
			name = "CT" + strconv.Itoa(g.ID)
		}
		status := g.Status
		if status == "" {
			status = "stopped"
		}
		fmt.Fprintf(c.stdout, format, strconv.Itoa(g.ID), status, g.Lock, name)
	}
	return 0
}

// pctCreateSpec is `pct create <vmid> <ostemplate> [OPTIONS]`. PVE's CLI
// generates it from create_vm's schema: every API parameter is an option
// (net[n] as net0..net31 ...), booleans take an optional value, "-list"
// formats may repeat, password is interactive (value optional) and node is
// fixed to this node, so it is no option.
var pctCreateSpec = sync.OnceValue(func() *cmdSpec {
	s := spec("pct create", []string{"vmid", "ostemplate"}, nil, nil, nil, true)
	ep, ok := pveschema.Lookup("POST", "/nodes/{node}/lxc")
	if !ok {
		return s
	}
	for name, p := range ep.Params {
		if name == "node" {
			continue
		}
		names := []string{name}
		if p.Indexed {
			names = names[:0]
			base := strings.TrimSuffix(name, "[n]")
			for i := 0; i <= p.IndexMax; i++ {
				names = append(names, base+strconv.Itoa(i))
			}
		}
		for _, n := range names {
			switch {
			case n == "password":
				s.optStrs = append(s.optStrs, n)
			case p.Type == "boolean":
				s.bools = append(s.bools, n)
			default:
				s.strs = append(s.strs, n)
				if strings.HasSuffix(p.Format, "-list") || p.Type == "array" {
					s.lists = append(s.lists, n)
				}
			}
		}
	}
	return s
})

// pctCreate maps the options onto create_vm's parameters as pct does:
// --ssh-public-keys names a file (read on the node), a --password without
// value is read twice from stdin (PVE::PTY::get_confirmed_password without a
// terminal), and the worker runs in the foreground ($upid_exit).
func pctCreate(c *call, p *parsedArgs) int {
	spec := pctCreateSpec()
	if _, perr := p.vmid(); perr != nil {
		return perr.print(c.stderr, spec)
	}
	params := map[string]string{}
	for k, v := range p.opts {
		params[k] = v
	}
	params["vmid"], params["ostemplate"] = p.pos["vmid"], p.pos["ostemplate"]
	if pw, set := p.opts["password"]; set && pw == "" {
		v, err := confirmedPassword(c.stdin)
		if err != nil {
			fmt.Fprint(c.stderr, err.Error())
			return exitDie
		}
		params["password"] = v
	}
	if file, set := p.opts["ssh-public-keys"]; set {
		keys, err := c.readNodeFile(file)
		if err != nil {
			// PVE::File::file_get_contents
			fmt.Fprintf(c.stderr, "can't open '%s' - %s\n", file, strerror(err))
			return exitDie
		}
		params["ssh-public-keys"] = string(keys)
	}
	if err := c.s.cfg.Cluster.CreateContainer(c.node, params); err != nil {
		return printErr(c.stderr, spec, err)
	}
	return 0
}

// confirmedPassword is PVE::PTY::get_confirmed_password on a non-terminal:
// two lines, which must match.
func confirmedPassword(r io.Reader) (string, error) {
	br := bufio.NewReader(r)
	var pw [2]string
	for i := range pw {
		line, err := br.ReadString('\n')
		if err != nil && line == "" {
			return "", fmt.Errorf("EOF while reading password\n")
		}
		pw[i] = strings.TrimSuffix(line, "\n")
	}
	if pw[0] != pw[1] {
		return "", fmt.Errorf("passwords do not match\n")
	}
	return pw[0], nil
}

// readNodeFile reads a file as the caller on the node names it.
func (c *call) readNodeFile(name string) ([]byte, error) {
	root, err := c.nodeRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.ReadFile(c.nodeRel(name))
}
