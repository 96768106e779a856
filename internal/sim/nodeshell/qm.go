package nodeshell

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"
)

// qmCommands is the part of qm's cmddef the node shell knows: the commands
// it simulates plus the common ones (listed in usage, refused as not
// simulated), and the `guest` group.
func qmCommands() (map[string]*command, map[string]map[string]*command) {
	const (
		qemu  = "PVE::API2::Qemu"
		agent = "PVE::API2::Qemu::Agent"
		cli   = "PVE::CLI::qm"
	)
	v := []string{"vmid"}
	m := map[string]*command{
		"clone":    {class: qemu, spec: spec("qm clone", []string{"vmid", "newid"}, nil, nil, nil, true)},
		"config":   {class: qemu, spec: spec("qm config", v, nil, []string{"current"}, []string{"snapshot"}, true), run: qmConfig},
		"set":      {class: qemu, spec: spec("qm set", v, nil, nil, nil, true)},
		"snapshot": {class: qemu, spec: spec("qm snapshot", []string{"vmid", "snapname"}, nil, nil, nil, true)},
		"start":    {class: qemu, spec: spec("qm start", v, nil, nil, nil, true)},
		"stop":     {class: qemu, spec: spec("qm stop", v, nil, nil, nil, true)},
		"shutdown": {class: qemu, spec: spec("qm shutdown", v, nil, nil, nil, true)},
		"status":   {class: cli, spec: spec("qm status", v, nil, []string{"verbose"}, nil, true), run: qmStatus},
		"guest":    {class: cli}, // group; see below
		"disk":     {class: cli}, // group; see below
		"importdisk": {class: cli, spec: qmImportSpec("qm importdisk"), run: func(c *call, p *parsedArgs) int {
			return qmImportDisk(c, p, "qm importdisk")
		}},
	}
	guest := map[string]*command{
		"cmd":         {class: agent, spec: spec("qm guest cmd", []string{"vmid", "command"}, nil, nil, nil, false)},
		"exec-status": {class: agent, spec: spec("qm guest exec-status", []string{"vmid", "pid"}, nil, nil, nil, false)},
		"passwd":      {class: agent, spec: spec("qm guest passwd", []string{"vmid", "username"}, nil, nil, nil, true)},
		"exec":        {class: cli, spec: qmExecSpec(), run: qmGuestExec},
	}
	disk := map[string]*command{
		"import": {class: cli, spec: qmImportSpec("qm disk import"), run: func(c *call, p *parsedArgs) int {
			return qmImportDisk(c, p, "qm disk import")
		}},
	}
	return m, map[string]map[string]*command{"guest": guest, "disk": disk}
}

func qmExecSpec() *cmdSpec {
	return spec("qm guest exec", []string{"vmid", "extra-args"}, nil,
		[]string{"pass-stdin", "synchronous"}, []string{"timeout"}, true)
}

func qmStatus(c *call, p *parsedArgs) int {
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, spec("qm status", []string{"vmid"}, nil, nil, nil, true))
	}
	g, ok := c.guest(id, "qemu")
	if !ok {
		return exitDie
	}
	st := g.Status
	if st == "" {
		st = "unknown"
	}
	fmt.Fprintf(c.stdout, "status: %s\n", st)
	return 0
}

func qmConfig(c *call, p *parsedArgs) int {
	return c.printConf(p, "qemu")
}

// qmGuestExec: `qm guest exec` prints the agent's exec-status as JSON and
// exits 0 whatever the command's exit code (as qm does).
// Long by design: qm guest exec's options and output in PVE's order.
func qmGuestExec(c *call, p *parsedArgs) int {
	spec := qmExecSpec()
	id, perr := p.vmid()
	if perr != nil {
		return perr.print(c.stderr, spec)
	}
	sync := p.opts["synchronous"] != "0"
	timeout := 30
	if t, set := p.opts["timeout"]; set {
		n, err := strconv.Atoi(t)
		if !integerRe.MatchString(t) || err != nil {
			return paramErr(map[string]string{"timeout": fmt.Sprintf("type check ('integer') failed - got '%s'", t)}).print(c.stderr, spec)
		}
		if n < 0 {
			return paramErr(map[string]string{"timeout": "value must have a minimum value of 0"}).print(c.stderr, spec)
		}
		if !sync {
			return paramErr(map[string]string{"synchronous": "needs to be set for 'timeout'"}).print(c.stderr, spec)
		}
		timeout = n
	}
	var input []byte
	if p.opts["pass-stdin"] == "1" {
		b, err := io.ReadAll(io.LimitReader(c.stdin, 1024*1024+1))
		if err != nil {
			return printErr(c.stderr, spec, err)
		}
		if len(b) > 1024*1024 {
			fmt.Fprint(c.stderr, "'input-data' (STDIN) is limited to 1 MiB, aborting\n")
			return exitDie
		}
		input = b
	}
	if _, ok := c.guest(id, "qemu"); !ok {
		return exitDie
	}
	if len(p.extra) == 0 && input == nil {
		fmt.Fprint(c.stderr, "command or input-data (or both) required\n")
		return exitDie
	}
	// The wait is bounded by ctx; the command itself keeps running.
	ctx, cancel := c.ctx, context.CancelFunc(func() {})
	switch {
	case !sync:
		ctx, cancel = context.WithCancel(c.ctx)
		cancel()
	case timeout > 0:
		ctx, cancel = context.WithTimeout(c.ctx, time.Duration(timeout)*time.Second)
	}
	res, err := c.s.cfg.Cluster.AgentExec(ctx, id, p.extra, input)
	cancel()
	if err != nil {
		return printErr(c.stderr, spec, err)
	}
	if !res.Exited {
		if sync {
			fmt.Fprint(c.stderr, "timeout reached, returning pid\n")
		}
		perlJSON(c.stdout, map[string]any{"pid": res.Pid})
		return 0
	}
	out := map[string]any{"exited": 1}
	if res.Signal != 0 {
		out["signal"] = res.Signal
	} else {
		out["exitcode"] = res.ExitCode
	}
	if res.OutData != "" {
		out["out-data"] = res.OutData
	}
	if res.ErrData != "" {
		out["err-data"] = res.ErrData
	}
	if res.OutTruncated {
		out["out-truncated"] = 1
	}
	if res.ErrTruncated {
		out["err-truncated"] = 1
	}
	perlJSON(c.stdout, out)
	return 0
}
