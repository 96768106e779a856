package pve

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// PctExec runs argv inside a container with `pct exec`, env set through
// env(1) inside the guest so nothing depends on the node's environment.
func (s *Shell) PctExec(ctx context.Context, node string, id int, argv []string, env map[string]string, stdin []byte, stdout, stderr io.Writer) (Result, error) {
	words := append([]string{"pct", "exec", fmt.Sprint(id), "--"}, envWords("/usr/bin/env", env)...)
	words = append(words, argv...)
	return s.Run(ctx, node, ShellQuote(words...), stdin, stdout, stderr)
}

// PctPush copies data to dst inside a container with `pct push`, through a
// temporary file on the node.
func (s *Shell) PctPush(ctx context.Context, node string, id int, dst string, data []byte, mode os.FileMode) error {
	script := fmt.Sprintf(`f=$(mktemp) || exit 1; cat > "$f"; pct push %d "$f" %s --perms %s; rc=$?; rm -f "$f"; exit $rc`,
		id, ShellQuote(dst), fmt.Sprintf("%04o", mode.Perm()))
	res, err := s.Run(ctx, node, script, data, nil, nil)
	if err != nil {
		return err
	}
	// pct push reports copy failures on stderr but exits 0, as on PVE.
	if res.ExitCode != 0 || len(strings.TrimSpace(string(res.Stderr))) > 0 {
		return fmt.Errorf("pct push %d %s: exit %d: %s", id, dst, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

// RunHost runs argv on the node itself (phoenix host scripts), with env.
func (s *Shell) RunHost(ctx context.Context, node string, argv []string, env map[string]string, stdin []byte, stdout, stderr io.Writer) (Result, error) {
	words := append(envWords("env", env), argv...)
	return s.Run(ctx, node, ShellQuote(words...), stdin, stdout, stderr)
}

// envWords is `envCmd K=V...` in key order, or nothing without env.
func envWords(envCmd string, env map[string]string) []string {
	if len(env) == 0 {
		return nil
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	words := []string{envCmd}
	for _, k := range keys {
		words = append(words, k+"="+env[k])
	}
	return words
}

// WriteNodeFile writes a file on the node.
func (s *Shell) WriteNodeFile(ctx context.Context, node, path string, data []byte, mode os.FileMode) error {
	cmd := fmt.Sprintf("mkdir -p %s && cat > %s && chmod %04o %s", ShellQuote(dirOf(path)), ShellQuote(path), mode.Perm(), ShellQuote(path))
	res, err := s.Run(ctx, node, cmd, data, nil, nil)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("writing %s on node %s: exit %d: %s", path, node, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

func dirOf(p string) string {
	i := strings.LastIndex(p, "/")
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// ConfPath is a container's config file in the cluster filesystem.
func ConfPath(node string, id int) string {
	return fmt.Sprintf("/etc/pve/nodes/%s/lxc/%d.conf", node, id)
}

// SetRawLXC makes the raw lxc.* lines of a container's main config section
// equal to lines, leaving every other line and the snapshot sections alone.
// It rewrites the file only when something changes, so re-applies are no-ops
// and removed lines disappear. Raw lines have no API: this is the only way.
func (s *Shell) SetRawLXC(ctx context.Context, node string, id int, lines [][2]string) (changed bool, err error) {
	path := ConfPath(node, id)
	res, err := s.Run(ctx, node, "cat "+ShellQuote(path), nil, nil, nil)
	if err != nil {
		return false, err
	}
	if res.ExitCode != 0 {
		return false, fmt.Errorf("reading %s on node %s: %s", path, node, strings.TrimSpace(string(res.Stderr)))
	}
	current := string(res.Stdout)
	next := ReplaceRawLXC(current, lines)
	if next == current {
		return false, nil
	}
	// Write a temporary file and rename it over the config, as PVE's own
	// file_set_contents does: readers never see a half-written file.
	tmp := fmt.Sprintf("%s.tmp.phoenix", path)
	cmd := fmt.Sprintf("cat > %s && mv -f %s %s", ShellQuote(tmp), ShellQuote(tmp), ShellQuote(path))
	res, err = s.Run(ctx, node, cmd, []byte(next), nil, nil)
	if err != nil {
		return false, err
	}
	// PVE warns on stderr about lines it refuses while the write succeeds.
	if res.ExitCode != 0 || strings.TrimSpace(string(res.Stderr)) != "" {
		return false, fmt.Errorf("writing %s on node %s (exit %d): %s", path, node, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return true, nil
}

// ReplaceRawLXC rewrites a PVE container config text so its main section's
// lxc.* lines are exactly lines (in order, after the other keys).
func ReplaceRawLXC(conf string, lines [][2]string) string {
	main, rest := conf, ""
	if i := strings.Index(conf, "\n["); i >= 0 {
		main, rest = conf[:i+1], conf[i+1:]
	} else if strings.HasPrefix(conf, "[") {
		main, rest = "", conf
	}
	var kept []string
	for _, l := range strings.Split(strings.TrimRight(main, "\n"), "\n") {
		if l == "" || strings.HasPrefix(strings.TrimSpace(l), "lxc.") {
			continue
		}
		kept = append(kept, l)
	}
	for _, l := range lines {
		kept = append(kept, l[0]+": "+l[1])
	}
	out := strings.Join(kept, "\n") + "\n"
	if rest != "" {
		out += "\n" + strings.TrimLeft(rest, "\n")
	}
	return out
}
