package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

func TestServePrintsInfoWritesEnvAndStopsOnSignal(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"serve", "--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0", "--nodes", "pve1,pve2",
			"--state-dir", filepath.Join(dir, "state"), "--env-file", envFile}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	var info Info
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	if !strings.HasPrefix(info.Endpoint, "https://127.0.0.1:") || strings.HasSuffix(info.Endpoint, ":0/api2/json") ||
		!strings.HasPrefix(info.APIToken, "root@pam!phoenix=") || info.Fingerprint == "" || len(info.Nodes) != 2 || info.SSHServing {
		t.Fatalf("info %+v", info)
	}
	env, err := os.ReadFile(envFile)
	if err != nil || !strings.Contains(string(env), "export PROXMOX_VE_API_TOKEN='"+info.APIToken+"'\n") ||
		!strings.Contains(string(env), "export PROXMOX_VE_CA_CERT_FILE='"+info.CACertFile+"'\n") {
		t.Fatalf("env file %q %v", env, err)
	}
	id, secret, _ := strings.Cut(info.APIToken, "=")
	c := proxmox.NewClient(info.Endpoint, proxmox.WithAPIToken(id, secret), proxmox.WithRootCAFile(info.CACertFile))
	nodes, err := c.Nodes(context.Background())
	if err != nil || len(nodes) != 2 || nodes[0].Node != "pve1" {
		t.Fatalf("nodes via CA file: %+v %v", nodes, err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "state.json")); err != nil {
		t.Fatalf("state not persisted: %v", err)
	}
}
