package nodeshell

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// Socket protocol between the in-sandbox `pct`/`qm` client and the server.
// Every frame is: 1 byte type, 4 bytes big-endian payload length, payload.
//
//	client -> server  'A' request (JSON: tool, args, cwd, env), first frame
//	                  'I' stdin bytes, 'i' stdin EOF
//	server -> client  'R' send stdin now (the tool started reading it)
//	                  'O' stdout bytes, 'E' stderr bytes
//	                  'X' exit code (4 bytes, big-endian int32), last frame
//
// Stdin is forwarded only after 'R', so `pct config` inside a
// `while read` loop does not swallow the loop's input, like the real tool.
const (
	frameRequest  = 'A'
	frameStdin    = 'I'
	frameStdinEOF = 'i'
	frameWantIn   = 'R'
	frameStdout   = 'O'
	frameStderr   = 'E'
	frameExit     = 'X'
)

const (
	// SocketDir is where the session socket directory is bind-mounted in
	// the node sandbox.
	SocketDir = "/run/pve-nodeshell"
	// SocketEnv names the environment variable that points the client at
	// its socket (default SocketDir/nodeshell.sock).
	SocketEnv  = "PVE_NODESHELL_SOCKET"
	socketName = "nodeshell.sock"
)

type clientRequest struct {
	Tool string   `json:"tool"`
	Args []string `json:"args"`
	Cwd  string   `json:"cwd"`
	Env  []string `json:"env"`
}

func writeFrame(w io.Writer, typ byte, payload []byte) error {
	buf := make([]byte, 5+len(payload))
	buf[0] = typ
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(payload)))
	copy(buf[5:], payload)
	_, err := w.Write(buf)
	return err
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > 16<<20 {
		return 0, nil, fmt.Errorf("nodeshell: frame of %d bytes", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return hdr[0], payload, nil
}

// frameWriter turns writes into frames of one type; mu serialises frames of
// stdout and stderr on the shared connection.
type frameWriter struct {
	mu  *sync.Mutex
	w   io.Writer
	typ byte
}

func (f *frameWriter) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += 32 << 10 {
		chunk := p[off:min(off+32<<10, len(p))]
		f.mu.Lock()
		err := writeFrame(f.w, f.typ, chunk)
		f.mu.Unlock()
		if err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// lazyStdin asks the client for stdin on first Read, then delivers frames.
type lazyStdin struct {
	once  sync.Once
	ask   func()
	pipeR *io.PipeReader
}

func (l *lazyStdin) Read(p []byte) (int, error) {
	l.once.Do(l.ask)
	return l.pipeR.Read(p)
}

// sessionSocket serves tool calls from one sandbox command.
type sessionSocket struct {
	dir  string // host directory bound at SocketDir
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	conn map[net.Conn]bool
}

// listenSession creates the socket directory and serves calls until close.
func (s *Server) listenSession(ctx context.Context, node string) (*sessionSocket, error) {
	// Short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "nsh")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", filepath.Join(dir, socketName))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ss := &sessionSocket{dir: dir, ln: ln, conn: map[net.Conn]bool{}}
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ss.mu.Lock()
			ss.conn[c] = true
			ss.mu.Unlock()
			ss.wg.Add(1)
			go func() {
				defer ss.wg.Done()
				s.serveToolConn(ctx, node, c)
				ss.mu.Lock()
				delete(ss.conn, c)
				ss.mu.Unlock()
				c.Close()
			}()
		}
	}()
	return ss, nil
}

// close stops accepting, drops calls still running (the command is over or
// its session is gone) and removes the socket directory.
func (ss *sessionSocket) close() {
	ss.ln.Close()
	ss.mu.Lock()
	for c := range ss.conn {
		c.Close()
	}
	ss.mu.Unlock()
	ss.wg.Wait()
	os.RemoveAll(ss.dir)
}

// ServeConn serves one client connection (exported for callers that run
// their own listener); node is the node whose shell the client is in.
func (s *Server) ServeConn(ctx context.Context, node string, c net.Conn) {
	s.serveToolConn(ctx, node, c)
}

func (s *Server) serveToolConn(ctx context.Context, node string, c net.Conn) {
	defer c.Close()
	typ, payload, err := readFrame(c)
	if err != nil || typ != frameRequest {
		return
	}
	var req clientRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	pr, pw := io.Pipe()
	stdin := &lazyStdin{pipeR: pr, ask: func() {
		mu.Lock()
		_ = writeFrame(c, frameWantIn, nil)
		mu.Unlock()
	}}
	go func() {
		// Frames after the request: stdin, or EOF when the client goes away
		// (which also ends the call).
		for {
			typ, data, err := readFrame(c)
			if err != nil {
				pw.CloseWithError(io.ErrUnexpectedEOF)
				cancel()
				return
			}
			switch typ {
			case frameStdin:
				if _, err := pw.Write(data); err != nil {
					// the tool stopped reading; drain the rest
					continue
				}
			case frameStdinEOF:
				pw.Close()
			}
		}
	}()
	stdout := &frameWriter{mu: &mu, w: c, typ: frameStdout}
	stderr := &frameWriter{mu: &mu, w: c, typ: frameStderr}
	s.syncReport(node, stderr)
	cl := &call{ctx: ctx, s: s, node: node, cwd: req.Cwd, env: req.Env, stdin: stdin, stdout: stdout, stderr: stderr}
	if cl.cwd == "" {
		cl.cwd = "/"
	}
	code := cl.runTool(append([]string{req.Tool}, req.Args...))
	s.syncReport(node, stderr)
	pr.CloseWithError(io.EOF)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(code)))
	mu.Lock()
	_ = writeFrame(c, frameExit, b[:])
	mu.Unlock()
}

// ClientMain is the `pct`/`qm` executable inside the node sandbox: the
// simulator binary dispatches here when os.Args[0]'s base name is pct or qm
// (see IsClientName), or the tool name may be args[1]. It returns the exit
// code to pass to os.Exit.
func ClientMain(args []string) int {
	sock := os.Getenv(SocketEnv)
	if sock == "" {
		sock = filepath.Join(SocketDir, socketName)
	}
	return RunClient(sock, args, os.Stdin, os.Stdout, os.Stderr)
}

// IsClientName reports whether argv0 names the in-sandbox client.
func IsClientName(argv0 string) bool {
	b := filepath.Base(argv0)
	return b == "pct" || b == "qm" || b == "pvesm"
}

// RunClient is ClientMain with explicit socket and stdio.
func RunClient(socket string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "nodeshell: no tool name")
		return exitDie
	}
	tool, rest := filepath.Base(args[0]), args[1:]
	if !IsClientName(tool) && len(rest) > 0 && IsClientName(rest[0]) {
		tool, rest = rest[0], rest[1:]
	}
	if !IsClientName(tool) {
		fmt.Fprintf(stderr, "nodeshell: unknown tool %q\n", tool)
		return exitDie
	}
	c, err := net.Dial("unix", socket)
	if err != nil {
		fmt.Fprintf(stderr, "%s: cannot reach the node shell: %v\n", tool, err)
		return exitDie
	}
	defer c.Close()
	cwd, _ := os.Getwd()
	req, _ := json.Marshal(clientRequest{Tool: tool, Args: rest, Cwd: cwd, Env: os.Environ()})
	var mu sync.Mutex
	if err := writeFrame(c, frameRequest, req); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", tool, err)
		return exitDie
	}
	r := bufio.NewReader(c)
	var sendOnce sync.Once
	for {
		typ, data, err := readFrame(r)
		if err != nil {
			fmt.Fprintf(stderr, "%s: connection to the node shell lost\n", tool)
			return exitDie
		}
		switch typ {
		case frameStdout:
			stdout.Write(data)
		case frameStderr:
			stderr.Write(data)
		case frameWantIn:
			sendOnce.Do(func() { go pumpStdin(c, &mu, stdin) })
		case frameExit:
			if len(data) != 4 {
				return exitDie
			}
			return int(int32(binary.BigEndian.Uint32(data)))
		}
	}
}

func pumpStdin(c net.Conn, mu *sync.Mutex, stdin io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := stdin.Read(buf)
		if n > 0 {
			mu.Lock()
			werr := writeFrame(c, frameStdin, buf[:n])
			mu.Unlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			mu.Lock()
			_ = writeFrame(c, frameStdinEOF, nil)
			mu.Unlock()
			return
		}
	}
}
