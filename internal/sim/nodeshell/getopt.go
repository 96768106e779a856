package nodeshell

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// exitDie is what perl exits with after die or CLIHandler's exit(-1).
const exitDie = 255

// cmdSpec describes one CLI command as PVE's CLIHandler sees it: the
// positional parameters (arg_param) and the option kinds Getopt::Long is
// configured with (booleans take an optional value, others a mandatory one).
type cmdSpec struct {
	prefix   string   // "pct exec", "qm guest exec"
	args     []string // positional names; "extra-args" takes the rest
	optional map[string]bool
	bools    []string
	strs     []string
	// optStrs take an optional value (interactive parameters: password);
	// lists are "-list" formats whose repeated values are joined with ','.
	optStrs, lists []string
	anyOpt         bool // pct set: every other option is a string option validated by the API
	hasOpts        bool // usage shows [OPTIONS]
}

// usage is RESTHandler's short usage line.
func (c *cmdSpec) usage() string {
	var b strings.Builder
	b.WriteString(c.prefix)
	b.WriteByte(' ')
	for i, a := range c.args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a == "extra-args" || c.optional[a] {
			fmt.Fprintf(&b, "[<%s>]", a)
		} else {
			fmt.Fprintf(&b, "<%s>", a)
		}
	}
	if c.hasOpts {
		b.WriteString(" [OPTIONS]")
	}
	b.WriteByte('\n')
	return b.String()
}

type parsedArgs struct {
	spec  *cmdSpec // the command's, for printing its errors with usage
	pos   map[string]string
	extra []string
	opts  map[string]string // booleans normalised to "1"/"0"
}

// cliErr is a 400 raised while handling parameters; printed with usage.
type cliErr struct {
	msg    string            // e.g. "unable to parse option"
	params map[string]string // for "Parameter verification failed."
	pre    string            // Getopt::Long's own warnings, printed first
}

// print writes the error as PVE's CLI does and returns the exit code.
func (e *cliErr) print(w io.Writer, spec *cmdSpec) int {
	_, _ = io.WriteString(w, e.pre)
	fmt.Fprintf(w, "400 %s\n", e.msg)
	keys := make([]string, 0, len(e.params))
	for k := range e.params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %s\n", k, e.params[k])
	}
	_, _ = io.WriteString(w, spec.usage())
	return exitDie
}

func paramErr(params map[string]string) *cliErr {
	return &cliErr{msg: "Parameter verification failed.", params: params}
}

// parse mirrors PVE::JSONSchema::get_options: Getopt::Long with '-' or '--'
// prefixes, permuted non-options, '--' ending options, --opt=value, unique
// abbreviations and case-insensitive names; then positional assignment.
// Long by design: one getopt pass mirroring PVE's CLIHandler, kept whole so its order of checks (and errors) stays PVE's.
func (c *cmdSpec) parse(argv []string) (*parsedArgs, *cliErr) {
	kinds := map[string]bool{} // name -> value is optional (booleans, interactive)
	for _, o := range c.strs {
		kinds[o] = false
	}
	for _, o := range append(append([]string(nil), c.bools...), c.optStrs...) {
		kinds[o] = true
	}
	isList := map[string]bool{}
	for _, o := range c.lists {
		isList[o] = true
	}
	p := &parsedArgs{spec: c, pos: map[string]string{}, opts: map[string]string{}}
	var rest []string
	var warn strings.Builder
	bad := false
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			rest = append(rest, argv[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		val, hasVal := "", false
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, val, hasVal = name[:eq], name[eq+1:], true
		}
		full, optVal, known := resolveOpt(kinds, name, !c.anyOpt)
		if !known && c.anyOpt && optNameRe.MatchString(name) {
			full, optVal, known = name, false, true
		}
		if !known {
			fmt.Fprintf(&warn, "Unknown option: %s\n", strings.ToLower(name))
			bad = true
			continue
		}
		if !hasVal {
			next := ""
			if i+1 < len(argv) {
				next = argv[i+1]
			}
			switch {
			case optVal && (i+1 >= len(argv) || (strings.HasPrefix(next, "-") && next != "-")):
				// optional value absent
			case i+1 >= len(argv):
				fmt.Fprintf(&warn, "Option %s requires an argument\n", full)
				bad = true
				continue
			default:
				val = next
				i++
			}
		}
		if prev, seen := p.opts[full]; seen && isList[full] {
			val = prev + "," + val
		}
		p.opts[full] = val
	}
	if bad {
		return nil, &cliErr{msg: "unable to parse option", pre: warn.String()}
	}
	for i, name := range c.args {
		if name == "extra-args" {
			p.extra = rest
			rest = nil
			break
		}
		if len(rest) == 0 {
			for _, n := range c.args[i:] {
				if n != "extra-args" && !c.optional[n] {
					return nil, &cliErr{msg: "not enough arguments"}
				}
			}
			break
		}
		p.pos[name] = rest[0]
		rest = rest[1:]
	}
	if len(rest) > 0 {
		return nil, &cliErr{msg: "too many arguments"}
	}
	for _, b := range c.bools {
		v, ok := p.opts[b]
		if !ok {
			continue
		}
		switch strings.ToLower(v) {
		case "", "1", "on", "yes", "true":
			p.opts[b] = "1"
		case "0", "off", "no", "false":
			p.opts[b] = "0"
		default:
			return nil, &cliErr{msg: "unable to parse boolean option"}
		}
	}
	return p, nil
}

// resolveOpt finds an option by exact name or unique prefix, ignoring case.
// Abbreviations are off when the option list is incomplete (pct set).
func resolveOpt(kinds map[string]bool, name string, abbrev bool) (string, bool, bool) {
	name = strings.ToLower(name)
	if b, ok := kinds[name]; ok {
		return name, b, true
	}
	if !abbrev {
		return "", false, false
	}
	var match string
	for k := range kinds {
		if strings.HasPrefix(k, name) {
			if match != "" {
				return "", false, false
			}
			match = k
		}
	}
	if match == "" || name == "" {
		return "", false, false
	}
	return match, kinds[match], true
}

var (
	integerRe = regexp.MustCompile(`^\s*[+-]?\d+\s*$`)
	optNameRe = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
)

// vmid validates the pve-vmid standard option.
func (p *parsedArgs) vmid() (int, *cliErr) {
	v := p.pos["vmid"]
	if !integerRe.MatchString(v) {
		return 0, paramErr(map[string]string{"vmid": fmt.Sprintf("type check ('integer') failed - got '%s'", v)})
	}
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(v), "+"))
	if err != nil || n > 999999999 {
		return 0, paramErr(map[string]string{"vmid": "value must have a maximum value of 999999999"})
	}
	if n < 100 {
		return 0, paramErr(map[string]string{"vmid": "value must have a minimum value of 100"})
	}
	return n, nil
}

// printErr prints a die message (or a ParamError) as the CLI does.
func printErr(w io.Writer, spec *cmdSpec, err error) int {
	if pe, ok := err.(ParamError); ok {
		return paramErr(pe.Params()).print(w, spec)
	}
	msg := err.Error()
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	_, _ = io.WriteString(w, msg)
	return exitDie
}

// perlDie renders a die message without trailing newline, which perl
// completes with the source location.
func perlDie(msg, file string, line int) string {
	return fmt.Sprintf("%s at %s line %d.\n", msg, file, line)
}
