//go:build linux

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
	"golang.org/x/crypto/ssh"
)

func TestServePrintsInfoWritesEnvAndStopsOnSignal(t *testing.T) {
	requireGuests(t)
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
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	var info Info
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	if !strings.HasPrefix(info.Endpoint, "https://127.0.0.1:") || strings.HasSuffix(info.Endpoint, ":0/api2/json") ||
		!strings.HasPrefix(info.APIToken, "root@pam!phoenix=") || info.Fingerprint == "" || len(info.Nodes) != 2 || !info.SSHServing {
		t.Fatalf("info %+v", info)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(info.SSHHostKey))
	if err != nil || ssh.FingerprintSHA256(hostKey) != info.SSHHostKeyFingerprint || info.SSHUser != "root" ||
		info.SSHPassword != info.Password || strings.HasSuffix(info.SSHAddress, ":0") || info.SSHNodes["pve1"] != info.SSHAddress ||
		info.SSHNodes["pve2"] == "" || info.SSHNodes["pve2"] == info.SSHAddress {
		t.Fatalf("ssh info %+v: %v", info, err)
	}
	keyPEM, err := os.ReadFile(info.SSHPrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile(envFile)
	_, port, _ := strings.Cut(info.SSHAddress, ":")
	for _, want := range []string{"export PROXMOX_VE_API_TOKEN='" + info.APIToken + "'\n",
		"export PROXMOX_VE_CA_CERT_FILE='" + info.CACertFile + "'\n",
		"export PROXMOX_VE_SSH_USERNAME='root'\n", "export PROXMOX_VE_SSH_PASSWORD='" + info.Password + "'\n",
		"export PROXMOX_VE_SSH_PORT='" + port + "'\n", "export PROXMOX_VE_SSH_HOST_KEY='" + info.SSHHostKey + "'\n",
		"export PROXMOX_VE_SSH_PRIVATE_KEY='" + string(keyPEM) + "'\n"} {
		if err != nil || !strings.Contains(string(env), want) {
			t.Fatalf("env file %q lacks %q (%v)", env, want, err)
		}
	}
	// the node shell answers with the announced host key and client key
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ssh.Dial("tcp", info.SSHAddress, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hostKey)})
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := sc.NewSession()
	out, err := sess.Output("hostname; test -d /etc/pve/nodes/pve2 && echo cluster")
	sc.Close()
	if err != nil || string(out) != "pve1\ncluster\n" {
		t.Fatalf("node shell: %q %v", out, err)
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
