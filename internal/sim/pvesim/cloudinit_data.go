//go:build linux

package pvesim

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/guestroot"
)

// What a VM's cloud-init drive holds, as qemu-server's Cloudinit.pm
// generate_nocloud builds it: user-data and network-config from the
// cicustom snippets when given, else generated from the ci* options, and a
// meta-data whose instance-id is the SHA-1 of the two.

// ciData is a VM's NoCloud drive content.
type ciData struct {
	User, Network string
}

// instanceID is nocloud_gen_metadata's instance-id.
func (d ciData) instanceID() string {
	sum := sha1.Sum([]byte(d.User + d.Network))
	return hex.EncodeToString(sum[:])
}

// cloudInitData builds g's drive content; a cicustom snippet that cannot be
// read fails as PVE's VM start does. Call with s.mu held.
func (s *Server) cloudInitData(g *Guest) (ciData, error) {
	d := ciData{User: ciUserData(g), Network: ciNetworkData(g)}
	custom := splitProps(g.Config["cicustom"], "")
	for key, dst := range map[string]*string{"user": &d.User, "network": &d.Network} {
		volid := custom[key]
		if volid == "" {
			continue
		}
		data, err := s.readSnippet(g.Node, volid)
		if err != nil {
			return d, err
		}
		*dst = data
	}
	return d, nil
}

// readSnippet is read_cloudinit_snippets_file: the volume must be snippets
// content; the file is read from the VM's node. Call with s.mu held.
func (s *Server) readSnippet(node, volid string) (string, error) {
	p, vtype, err := s.volumePathLocked(volid)
	if err != nil {
		return "", err
	}
	if vtype != "snippets" {
		return "", die("%s is not in the snippets directory", volid)
	}
	data, err := s.ReadNodeFile(node, p, 1<<20)
	if err != nil {
		return "", die("%s", strings.TrimSuffix(err.Error(), "\n"))
	}
	return string(data), nil
}

// cloudConfig is the part of a #cloud-config the simulated cloud-init
// applies: hostname, the default user and its keys, packages and runcmd.
type cloudConfig struct {
	Hostname string      `yaml:"hostname"`
	FQDN     string      `yaml:"fqdn"`
	User     yaml.Node   `yaml:"user"`
	Users    []yaml.Node `yaml:"users"`
	Keys     []string    `yaml:"ssh_authorized_keys"`
	Password string      `yaml:"password"`
	Packages []yaml.Node `yaml:"packages"`
	RunCmd   []yaml.Node `yaml:"runcmd"`
}

// parseUserData reads a #cloud-config into what guestroot applies. Invalid
// YAML is what cloud-init logs and ignores: the guest boots with none of it.
func parseUserData(text string, ci *guestroot.CloudInit) error {
	if !strings.HasPrefix(text, "#cloud-config") {
		return nil
	}
	var cc cloudConfig
	if err := yaml.Unmarshal([]byte(text), &cc); err != nil {
		return fmt.Errorf("invalid cloud-config: %v", err)
	}
	if cc.Hostname != "" {
		ci.Hostname = cc.Hostname
	}
	switch cc.User.Kind {
	case yaml.ScalarNode:
		ci.User = cc.User.Value
	case yaml.MappingNode:
		var u struct {
			Name string `yaml:"name"`
		}
		_ = cc.User.Decode(&u)
		ci.User = u.Name
	}
	ci.SSHKeys = append(ci.SSHKeys, cc.Keys...)
	if strings.HasPrefix(cc.Password, "$") {
		ci.PasswordHash = cc.Password // a hash, as PVE's and the provider's user-data carry
	}
	for _, n := range cc.Users {
		var u struct {
			Name string   `yaml:"name"`
			Keys []string `yaml:"ssh_authorized_keys"`
		}
		if n.Kind != yaml.MappingNode || n.Decode(&u) != nil {
			continue // "default"
		}
		if ci.User == "" {
			ci.User = u.Name
		}
		if u.Name == ci.User {
			ci.SSHKeys = append(ci.SSHKeys, u.Keys...)
		}
	}
	for _, n := range cc.Packages {
		switch n.Kind {
		case yaml.ScalarNode:
			ci.Packages = append(ci.Packages, n.Value)
		case yaml.SequenceNode: // [name, version]
			var pv []string
			if n.Decode(&pv) == nil && len(pv) > 0 {
				ci.Packages = append(ci.Packages, strings.Join(pv, "="))
			}
		}
	}
	for _, n := range cc.RunCmd {
		switch n.Kind {
		case yaml.ScalarNode:
			ci.RunCmd = append(ci.RunCmd, n.Value)
		case yaml.SequenceNode: // argv, run without a shell: quote each word
			var argv []string
			if n.Decode(&argv) == nil {
				for i, a := range argv {
					argv[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
				}
				ci.RunCmd = append(ci.RunCmd, strings.Join(argv, " "))
			}
		}
	}
	return nil
}

// bootRef is g's ref for a start: a VM with a cloud-init drive carries the
// drive's content, which fails the start when a snippet cannot be read.
// Call with s.mu held.
func (s *Server) bootRef(g *Guest) (GuestRef, error) {
	ref := g.ref()
	if g.Kind != "qemu" || !hasCloudInitDrive(g.Config) {
		return ref, nil
	}
	d, err := s.cloudInitData(g)
	if err != nil {
		return ref, err
	}
	ref.CloudInit = &CloudInitDrive{UserData: d.User, NetworkData: d.Network, InstanceID: d.instanceID()}
	return ref, nil
}

// bootGuest starts g's runtime with its bootRef and marks it running (call
// with s.mu held).
func (s *Server) bootGuest(ctx context.Context, g *Guest) error {
	ref, err := s.bootRef(g)
	if err != nil {
		return err
	}
	if err := s.runtime.Start(ctx, ref); err != nil {
		return err
	}
	g.Running, g.StartTime = true, time.Now().Unix()
	return nil
}
