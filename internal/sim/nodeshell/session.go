package nodeshell

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// Environment of a root login on a PVE node (sshd + bash), before the
// client's accepted LANG/LC_* variables.
var loginEnv = []string{
	"HOME=/root",
	"LOGNAME=root",
	"USER=root",
	"SHELL=/bin/bash",
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
}

func (s *Server) serveSSH(node string, c net.Conn) {
	sconn, chans, reqs, err := ssh.NewServerConn(c, s.sshConfig())
	if err != nil {
		s.logf("nodeshell: %s: handshake: %v", node, err)
		return
	}
	defer sconn.Close()
	go ssh.DiscardRequests(reqs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "unknown channel type")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveSession(ctx, node, c, ch, creqs)
		}()
	}
	// The client went away: stop commands still running for it.
	cancel()
	wg.Wait()
}

// serveSession handles one session channel: env, then one exec, shell or
// sftp subsystem.
func (s *Server) serveSession(ctx context.Context, node string, conn net.Conn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	// Closing the channel ends its command, as sshd's SIGHUP does.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	env := append([]string(nil), loginEnv...)
	started := false
	done := make(chan struct{})
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				cancel()
				if started {
					<-done
				}
				return
			}
			switch {
			case req.Type == "env" && !started:
				var kv struct{ Name, Value string }
				ok := ssh.Unmarshal(req.Payload, &kv) == nil &&
					(kv.Name == "LANG" || strings.HasPrefix(kv.Name, "LC_"))
				if ok {
					env = append(env, kv.Name+"="+kv.Value)
				}
				_ = req.Reply(ok, nil)
			case (req.Type == "exec" || req.Type == "shell") && !started:
				var line string
				if req.Type == "exec" {
					var p struct{ Command string }
					if ssh.Unmarshal(req.Payload, &p) != nil {
						_ = req.Reply(false, nil)
						continue
					}
					line = p.Command
				}
				started = true
				_ = req.Reply(true, nil)
				drop := s.takeDrop()
				go func() {
					defer close(done)
					var code int
					if req.Type == "shell" {
						code = s.runShell(ctx, node, env, ch, ch, ch.Stderr())
					} else {
						code = s.runLine(ctx, node, line, env, ch, ch, ch.Stderr())
					}
					if drop {
						conn.Close()
						return
					}
					var st [4]byte
					binary.BigEndian.PutUint32(st[:], uint32(code))
					_, _ = ch.SendRequest("exit-status", false, st[:])
					_ = ch.CloseWrite()
					ch.Close()
				}()
			case req.Type == "subsystem" && !started:
				started = s.startSubsystem(node, ch, req, done)
			default:
				// pty-req, x11, other subsystems, signals: not offered.
				if req.WantReply {
					_ = req.Reply(false, nil)
				}
			}
		case <-done:
			// Drain requests until the client closes the channel.
			for req := range reqs {
				if req.WantReply {
					_ = req.Reply(false, nil)
				}
			}
			return
		}
	}
}

// startSubsystem starts the sftp subsystem (the only one offered) and
// reports whether it did; done closes when it ends.
func (s *Server) startSubsystem(node string, ch ssh.Channel, req *ssh.Request, done chan struct{}) bool {
	var sub struct{ Name string }
	if ssh.Unmarshal(req.Payload, &sub) != nil || sub.Name != "sftp" {
		_ = req.Reply(false, nil)
		return false
	}
	_ = req.Reply(true, nil)
	go func() {
		defer close(done)
		s.serveSFTP(node, ch)
		_, _ = ch.SendRequest("exit-status", false, []byte{0, 0, 0, 0})
		ch.Close()
	}()
	return true
}

// isToolWord reports whether a command word invokes pct, qm or pvesm.
func isToolWord(w string) bool {
	switch w {
	case "pct", "qm", "pvesm", "/usr/sbin/pct", "/usr/sbin/qm", "/usr/sbin/pvesm":
		return true
	}
	return false
}

// Run executes a command line on node as an SSH exec request would, and
// returns its exit status. The /_sim/ layer and tests can use it directly.
func (s *Server) Run(ctx context.Context, node, line string, stdin io.Reader, stdout, stderr io.Writer) int {
	return s.runLine(ctx, node, line, loginEnv, stdin, stdout, stderr)
}

func (s *Server) runLine(ctx context.Context, node, line string, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if argv, ok := splitPlain(line); ok && isToolWord(argv[0]) {
		// Fast path. Conf edits of earlier sandbox commands were synced when
		// they ended; sync again in case a concurrent session edited one.
		if _, err := s.cfg.Cluster.NodeRoot(node); err == nil {
			s.syncReport(node, stderr)
		}
		c := &call{ctx: ctx, s: s, node: node, cwd: "/root", env: env, stdin: stdin, stdout: stdout, stderr: stderr}
		return c.runTool(argv)
	}
	return s.runSandbox(ctx, node, []string{"/bin/bash", "-c", line}, env, stdin, stdout, stderr)
}

func (s *Server) runShell(ctx context.Context, node string, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return s.runSandbox(ctx, node, []string{"/bin/bash"}, env, stdin, stdout, stderr)
}

// runSandbox runs argv in the node sandbox with the tool socket and the
// client binary bound in, syncing /etc/pve before and after.
func (s *Server) runSandbox(ctx context.Context, node string, argv, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s.syncReport(node, stderr)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ss, err := s.listenSession(ctx, node)
	if err != nil {
		fmt.Fprintf(stderr, "nodeshell: %v\n", err)
		return exitDie
	}
	binds := []Bind{{Source: ss.dir, Target: SocketDir}}
	if s.cfg.ClientBinary != "" {
		bin, _ := filepath.Abs(s.cfg.ClientBinary)
		binds = append(binds,
			Bind{Source: bin, Target: "/usr/sbin/pct", ReadOnly: true},
			Bind{Source: bin, Target: "/usr/sbin/qm", ReadOnly: true},
			Bind{Source: bin, Target: "/usr/sbin/pvesm", ReadOnly: true})
	}
	env = append(append([]string(nil), env...), SocketEnv+"="+path.Join(SocketDir, socketName))
	res, err := s.cfg.Cluster.RunInNode(ctx, node, ExecRequest{
		Argv: argv, Stdin: stdin, Stdout: stdout, Stderr: stderr,
		Env: env, Dir: "/root", Binds: binds,
	})
	cancel()
	ss.close()
	s.syncReport(node, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "nodeshell: %v\n", err)
		return exitDie
	}
	stdout.Write(res.Stdout)
	stderr.Write(res.Stderr)
	if res.Signal != 0 {
		return 128 + res.Signal
	}
	return res.ExitCode & 0xff
}
