package nodeshell

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

const pctPM = "/usr/share/perl5/PVE/CLI/pct.pm"

// pctCommands is pct's cmddef: every command PVE 9 has (so the usage
// listing and prefix expansion match), with handlers for the simulated ones.
func pctCommands() map[string]*command {
	const (
		lxc    = "PVE::API2::LXC"
		config = "PVE::API2::LXC::Config"
		snap   = "PVE::API2::LXC::Snapshot"
		status = "PVE::API2::LXC::Status"
		cli    = "PVE::CLI::pct"
		help   = "PVE::CLIHandler"
	)
	v := []string{"vmid"}
	m := map[string]*command{
		"clone":          {class: lxc, spec: spec("pct clone", []string{"vmid", "newid"}, nil, nil, nil, true)},
		"create":         {class: lxc, spec: pctCreateSpec(), run: pctCreate},
		"destroy":        {class: lxc, spec: spec("pct destroy", v, nil, nil, nil, true)},
		"list":           {class: lxc, spec: spec("pct list", nil, nil, nil, nil, false), run: pctList},
		"migrate":        {class: lxc, spec: spec("pct migrate", []string{"vmid", "target"}, nil, nil, nil, true)},
		"move-volume":    {class: lxc, spec: spec("pct move-volume", []string{"vmid", "volume", "storage", "target-vmid", "target-volume"}, []string{"storage", "target-vmid", "target-volume"}, nil, nil, true)},
		"pending":        {class: lxc, spec: spec("pct pending", v, nil, nil, nil, false)},
		"resize":         {class: lxc, spec: spec("pct resize", []string{"vmid", "disk", "size"}, nil, nil, nil, true)},
		"restore":        {class: lxc, spec: spec("pct restore", []string{"vmid", "ostemplate"}, nil, nil, nil, true)},
		"template":       {class: lxc, spec: spec("pct template", v, nil, nil, nil, false)},
		"config":         {class: config, spec: spec("pct config", v, nil, []string{"current"}, []string{"snapshot"}, true), run: pctConfig},
		"set":            {class: config, spec: pctSetSpec(), run: pctSet},
		"delsnapshot":    {class: snap, spec: spec("pct delsnapshot", []string{"vmid", "snapname"}, nil, nil, nil, true)},
		"listsnapshot":   {class: snap, spec: spec("pct listsnapshot", v, nil, nil, nil, false), run: pctListSnapshot},
		"rollback":       {class: snap, spec: spec("pct rollback", []string{"vmid", "snapname"}, nil, nil, nil, true)},
		"snapshot":       {class: snap, spec: spec("pct snapshot", []string{"vmid", "snapname"}, nil, nil, []string{"description"}, true), run: pctSnapshot},
		"reboot":         {class: status, spec: spec("pct reboot", v, nil, nil, nil, true)},
		"resume":         {class: status, spec: spec("pct resume", v, nil, nil, nil, false)},
		"shutdown":       {class: status, spec: spec("pct shutdown", v, nil, nil, nil, true)},
		"start":          {class: status, spec: spec("pct start", v, nil, []string{"debug", "skiplock"}, nil, true), run: pctStart},
		"stop":           {class: status, spec: spec("pct stop", v, nil, []string{"overrule-shutdown", "skiplock"}, nil, true), run: pctStop},
		"suspend":        {class: status, spec: spec("pct suspend", v, nil, nil, nil, false)},
		"console":        {class: cli, spec: spec("pct console", v, nil, nil, nil, true)},
		"cpusets":        {class: cli, spec: spec("pct cpusets", nil, nil, nil, nil, false)},
		"df":             {class: cli, spec: spec("pct df", v, nil, nil, nil, false)},
		"enter":          {class: cli, spec: spec("pct enter", v, nil, nil, nil, true)},
		"exec":           {class: cli, spec: spec("pct exec", []string{"vmid", "extra-args"}, nil, []string{"keep-env"}, nil, true), run: pctExec},
		"fsck":           {class: cli, spec: spec("pct fsck", v, nil, nil, nil, true)},
		"fstrim":         {class: cli, spec: spec("pct fstrim", v, nil, nil, nil, true)},
		"mount":          {class: cli, spec: spec("pct mount", v, nil, nil, nil, false)},
		"pull":           {class: cli, spec: spec("pct pull", []string{"vmid", "path", "destination"}, nil, nil, []string{"group", "perms", "user"}, true), run: pctPull},
		"push":           {class: cli, spec: spec("pct push", []string{"vmid", "file", "destination"}, nil, nil, []string{"group", "perms", "user"}, true), run: pctPush},
		"remote-migrate": {class: cli, spec: spec("pct remote-migrate", []string{"vmid", "target-vmid", "target-endpoint"}, []string{"target-vmid"}, nil, nil, true)},
		"rescan":         {class: cli, spec: spec("pct rescan", nil, nil, nil, nil, true)},
		"status":         {class: cli, spec: spec("pct status", v, nil, []string{"verbose"}, nil, true), run: pctStatus},
		"unlock":         {class: cli, spec: spec("pct unlock", v, nil, nil, nil, false)},
		"unmount":        {class: cli, spec: spec("pct unmount", v, nil, nil, nil, false)},
		"help":           {class: help, spec: spec("pct help", []string{"extra-args"}, nil, []string{"verbose"}, nil, true)},
	}
	return m
}

// pctSetSpec: update_vm takes every config key; the API validates them, so
// only the boolean keys (optional value in Getopt) need to be known here.
func pctSetSpec() *cmdSpec {
	s := spec("pct set", []string{"vmid"}, nil,
		[]string{"console", "debug", "onboot", "protection", "template", "unprivileged"},
		[]string{"delete", "digest", "revert"}, true)
	s.anyOpt = true
	return s
}

func pctExec(c *call, p *parsedArgs) int {
	spec := p.spec
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, spec)
	}
	g, ok := c.guest(id, "lxc")
	if !ok {
		return exitDie
	}
	if g.Status != "running" {
		fmt.Fprintf(c.stderr, "container '%d' not running!\n", id)
		return exitDie
	}
	if len(p.extra) == 0 {
		fmt.Fprint(c.stderr, perlDie("missing command", pctPM, 246))
		return exitDie
	}
	// lxc-attach --keep-env passes the caller's environment (minus what
	// clean_environment drops); --clear-env only lxc-attach's defaults.
	env := []string{"container=lxc"}
	if v, set := p.opts["keep-env"]; !set || v == "1" {
		for _, e := range c.env {
			if !strings.HasPrefix(e, "SSL_CERT_FILE=") && !strings.HasPrefix(e, "SSL_CERT_DIR=") {
				env = append(env, e)
			}
		}
	} else {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	res, err := c.s.cfg.Cluster.ExecInGuest(c.ctx, id, ExecRequest{
		Argv: p.extra, Stdin: c.stdin, Stdout: c.stdout, Stderr: c.stderr, Env: env, Dir: c.cwd,
	})
	if err != nil {
		return printErr(c.stderr, spec, err)
	}
	_, _ = c.stdout.Write(res.Stdout)
	_, _ = c.stderr.Write(res.Stderr)
	if res.Signal != 0 {
		return 128 + res.Signal
	}
	return res.ExitCode & 0xff
}

func pctStatus(c *call, p *parsedArgs) int {
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, p.spec)
	}
	g, ok := c.guest(id, "lxc")
	if !ok {
		return exitDie
	}
	st := g.Status
	if st == "" {
		st = "unknown"
	}
	if p.opts["verbose"] == "1" {
		// vmstatus has more fields (cpus, maxmem, ...); these are the ones the
		// simulator knows, in the same sorted key order.
		if g.Name != "" {
			fmt.Fprintf(c.stdout, "name: %s\n", g.Name)
		}
		fmt.Fprintf(c.stdout, "status: %s\ntype: lxc\nvmid: %d\n", st, id)
		return 0
	}
	fmt.Fprintf(c.stdout, "status: %s\n", st)
	return 0
}

func pctConfig(c *call, p *parsedArgs) int {
	return c.printConf(p, "lxc")
}

func pctSet(c *call, p *parsedArgs) int {
	spec := pctSetSpec()
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, spec)
	}
	if _, ok := c.guest(id, "lxc"); !ok {
		return exitDie
	}
	opts := map[string]string{}
	var del []string
	for k, v := range p.opts {
		if k == "delete" {
			del = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' })
			continue
		}
		opts[k] = v
	}
	if err := c.s.cfg.Cluster.SetOptions(id, opts, del); err != nil {
		return printErr(c.stderr, spec, err)
	}
	return 0
}

func pctSnapshot(c *call, p *parsedArgs) int {
	spec := p.spec
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, spec)
	}
	if _, ok := c.guest(id, "lxc"); !ok {
		return exitDie
	}
	if err := c.s.cfg.Cluster.Snapshot(id, p.pos["snapname"], p.opts["description"]); err != nil {
		return printErr(c.stderr, spec, err)
	}
	return 0
}

func pctListSnapshot(c *call, p *parsedArgs) int {
	spec := p.spec
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, spec)
	}
	if _, ok := c.guest(id, "lxc"); !ok {
		return exitDie
	}
	list, err := c.s.cfg.Cluster.ListSnapshots(id)
	if err != nil {
		return printErr(c.stderr, spec, err)
	}
	printSnapshotTree(c.stdout, list)
	return 0
}

func pctStart(c *call, p *parsedArgs) int { return pctPower(c, p, "start") }
func pctStop(c *call, p *parsedArgs) int  { return pctPower(c, p, "stop") }

func pctPower(c *call, p *parsedArgs, op string) int {
	spec := p.spec
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, spec)
	}
	if _, ok := c.guest(id, "lxc"); !ok {
		return exitDie
	}
	f := c.s.cfg.Cluster.Start
	if op == "stop" {
		f = c.s.cfg.Cluster.Stop
	}
	if err := f(id); err != nil {
		return printErr(c.stderr, spec, err)
	}
	return 0
}

// runningHere is PVE::LXC::check_running: the container runs on this node.
func (c *call) runningHere(id int) bool {
	g, ok := c.s.cfg.Cluster.Guest(id)
	return ok && g.Kind == "lxc" && g.Node == c.node && g.Status == "running"
}

// pctPush: failures inside the worker are printed but pct exits 0, because
// the push command has no $upid_exit (as in PVE).
func pctPush(c *call, p *parsedArgs) int {
	spec := p.spec
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, spec)
	}
	if !c.runningHere(id) {
		fmt.Fprint(c.stderr, "can only push files to a running CT\n")
		return exitDie
	}
	src, dst := p.pos["file"], p.pos["destination"]
	root, err := c.nodeRoot()
	if err != nil {
		return printErr(c.stderr, spec, err)
	}
	defer root.Close()
	data, err := root.ReadFile(c.nodeRel(src))
	if err != nil {
		taskError(c.stderr, fmt.Sprintf("failed to open %s for reading", src))
		return 0
	}
	guestFile := func(name string) []byte { b, _ := c.s.cfg.Cluster.PullFile(id, name); return b }
	mode, uid, gid, msg := fileOwnerMode(p, guestFile)
	if msg != "" {
		taskError(c.stderr, msg)
		return 0
	}
	if !strings.HasPrefix(dst, "/") {
		dst = "/" + dst // the worker chdir('/')s inside the container
	}
	if err := c.s.cfg.Cluster.PushFile(id, dst, data, mode, uid, gid); err != nil {
		taskError(c.stderr, fmt.Sprintf("failed to create file: %s: %s", dst, strerror(err)))
	}
	return 0
}

func pctPull(c *call, p *parsedArgs) int {
	spec := p.spec
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, spec)
	}
	if !c.runningHere(id) {
		fmt.Fprint(c.stderr, perlDie("can only pull files from a running VM", pctPM, 664))
		return exitDie
	}
	src, dst := p.pos["path"], p.pos["destination"]
	root, err := c.nodeRoot()
	if err != nil {
		return printErr(c.stderr, spec, err)
	}
	defer root.Close()
	nodeFile := func(name string) []byte { b, _ := root.ReadFile(name); return b }
	mode, uid, gid, msg := fileOwnerMode(p, nodeFile)
	if msg != "" {
		taskError(c.stderr, msg)
		return 0
	}
	// create_file runs before the source is opened, so a missing source
	// leaves an empty destination behind, as on PVE.
	rel := c.nodeRel(dst)
	f, err := createFile(root, rel, mode, uid, gid)
	if err != nil {
		taskError(c.stderr, fmt.Sprintf("failed to create file: %s: %s", dst, strerror(err)))
		return 0
	}
	defer f.Close()
	data, err := c.s.cfg.Cluster.PullFile(id, "/"+strings.TrimPrefix(src, "/"))
	if err != nil {
		taskError(c.stderr, fmt.Sprintf("failed to open %s: %s", src, strerror(err)))
		return 0
	}
	if _, err := f.Write(data); err != nil {
		taskError(c.stderr, err.Error())
	}
	return 0
}

// createFile is pct.pm's create_file: explicit perms are not subject to the
// umask; a new file defaults to 0666 &^ 022; an existing one keeps its mode.
func createFile(root *os.Root, rel string, mode os.FileMode, uid, gid int) (*os.File, error) {
	f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0)
	if err == nil {
		if mode == 0 {
			mode = 0o644
		}
	} else if f, err = root.OpenFile(rel, os.O_WRONLY|os.O_TRUNC, 0); err != nil {
		return nil, err
	}
	if mode != 0 {
		if err := f.Chmod(mode); err != nil {
			f.Close()
			return nil, err
		}
	}
	if uid >= 0 || gid >= 0 {
		if err := f.Chown(uid, gid); err != nil {
			f.Close()
			return nil, fmt.Errorf("failed to change file owner: %s", strerror(err))
		}
	}
	return f, nil
}

// fileOwnerMode parses --perms/--user/--group as create_file does; names are
// looked up in the passwd/group files readFile returns (the container's for
// push, the node's for pull). msg is the worker's die message.
func fileOwnerMode(p *parsedArgs, readFile func(string) []byte) (mode os.FileMode, uid, gid int, msg string) {
	uid, gid = -1, -1
	if u, ok := p.opts["user"]; ok {
		if uid, ok = lookupID(u, readFile("/etc/passwd")); !ok {
			return 0, 0, 0, fmt.Sprintf("failed to get uid for: %s", u)
		}
	}
	if g, ok := p.opts["group"]; ok {
		if gid, ok = lookupID(g, readFile("/etc/group")); !ok {
			return 0, 0, 0, fmt.Sprintf("failed to get gid for: %s", g)
		}
	}
	if perms, ok := p.opts["perms"]; ok {
		if !strings.HasPrefix(perms, "0") {
			perms = "0" + perms // "assume octal as default"
		}
		v, err := strconv.ParseUint(perms, 0, 32)
		// strtoul knows no 0b/0o prefixes or '_' separators
		if err != nil || strings.Contains(perms, "_") || strings.ContainsAny(perms[:min(2, len(perms))], "bBoO") {
			return 0, 0, 0, fmt.Sprintf("invalid mode: '%s'", perms)
		}
		mode = os.FileMode(v&0o777) | unixModeBits(v)
	}
	return mode, uid, gid, ""
}

// unixModeBits maps setuid/setgid/sticky to Go's FileMode bits.
func unixModeBits(v uint64) os.FileMode {
	var m os.FileMode
	if v&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if v&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if v&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// lookupID resolves a decimal id or a name in a passwd/group file.
func lookupID(name string, file []byte) (int, bool) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 && strings.Trim(name, "0123456789") == "" {
		return n, true
	}
	sc := bufio.NewScanner(bytes.NewReader(file))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 3 && f[0] == name {
			if n, err := strconv.Atoi(f[2]); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}
