package nodeshell

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
)

// pct list prints this node's containers in pct.pm's format, sorted by
// VMID, with "CT<vmid>" for a container without hostname.
func TestPctListAsPVE(t *testing.T) {
	s, f := newTestServer(t)
	f.guests[950].info.Name = "ct950"
	f.guests[951].info.Lock = "backup"
	f.add(105, "pve1", "lxc", "stopped", "").info.Name = "my host"
	out, errOut, code := run(t, s, "pct list", "")
	want := "VMID       Status     Lock         Name                \n" +
		"105        stopped                 myhost              \n" +
		"950        running                 ct950               \n" +
		"951        stopped    backup       CT951               \n"
	if code != 0 || out != want || errOut != "" {
		t.Fatalf("exit %d\nstdout %q\nwant   %q\nstderr %q", code, out, want, errOut)
	}
	// pct.pm prints nothing, not even the header, without containers.
	empty := newFake(t, "pve9")
	s9, err := New(Config{Cluster: empty, Nodes: []string{"pve9"}, Password: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if code := s9.Run(context.Background(), "pve9", "pct list", strings.NewReader(""), &o, &e); code != 0 || o.Len() != 0 || e.Len() != 0 {
		t.Fatalf("empty node: exit %d stdout %q stderr %q", code, o.String(), e.String())
	}
}

// pct create takes create_vm's parameters as options, as PVE's generated
// CLI does: abbreviations, optional boolean values, repeated -list options,
// a key file and an interactive password.
func TestPctCreateMapsOptionsOntoTheAPI(t *testing.T) {
	s, f := newTestServer(t)
	root, _ := f.NodeRoot("pve1")
	writeNodeFile(t, root, "root/keys.pub", "ssh-ed25519 AAAA test\n")
	line := "pct create 200 local:vztmpl/debian-12.tar.zst --hostname web --mem 512 --net0 name=eth0,bridge=vmbr0,ip=dhcp " +
		"--unprivileged --start=0 --nameserver 1.1.1.1 -nameserver 8.8.8.8 --ssh-public-keys keys.pub --password --rootfs local-lvm:8"
	out, errOut, code := run(t, s, line, "pw\npw\n")
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errOut)
	}
	want := map[string]string{"vmid": "200", "ostemplate": "local:vztmpl/debian-12.tar.zst", "hostname": "web", "memory": "512",
		"net0": "name=eth0,bridge=vmbr0,ip=dhcp", "unprivileged": "1", "start": "0", "nameserver": "1.1.1.1,8.8.8.8",
		"ssh-public-keys": "ssh-ed25519 AAAA test\n", "password": "pw", "rootfs": "local-lvm:8"}
	if len(f.creates) != 1 || !reflect.DeepEqual(f.creates[0], want) {
		t.Fatalf("API parameters %v\nwant %v", f.creates, want)
	}
	if out, _, _ := run(t, s, "pct list", ""); !strings.Contains(out, "\n200        stopped                 web ") {
		t.Fatalf("created container not listed: %q", out)
	}
}

func TestPctCreateErrorsAsPVE(t *testing.T) {
	s, f := newTestServer(t)
	usage := "pct create <vmid> <ostemplate> [OPTIONS]\n"
	cases := []struct{ line, stdin, stderr string }{
		{"pct create 200", "", "400 not enough arguments\n" + usage},
		{"pct create 200 tmpl --bogus 1", "", "Unknown option: bogus\n400 unable to parse option\n" + usage},
		{"pct create 200 tmpl --node pve2", "", "Unknown option: node\n400 unable to parse option\n" + usage},
		{"pct create 200 tmpl --memory", "", "Option memory requires an argument\n400 unable to parse option\n" + usage},
		{"pct create 200 tmpl --unprivileged maybe", "", "400 unable to parse boolean option\n" + usage},
		{"pct create abc tmpl", "", "400 Parameter verification failed.\nvmid: type check ('integer') failed - got 'abc'\n" + usage},
		{"pct create 200 tmpl --password", "a\nb\n", "passwords do not match\n"},
		{"pct create 200 tmpl --password", "", "EOF while reading password\n"},
		{"pct create 200 tmpl --ssh-public-keys /root/nope", "", "can't open '/root/nope' - No such file or directory\n"},
	}
	for _, tc := range cases {
		out, errOut, code := run(t, s, tc.line, tc.stdin)
		if code != 255 || out != "" || errOut != tc.stderr {
			t.Errorf("%s: exit %d stdout %q\nstderr %q\nwant   %q", tc.line, code, out, errOut, tc.stderr)
		}
	}
	if len(f.creates) != 0 {
		t.Fatalf("refused commands reached the API: %v", f.creates)
	}
	// The API's parameter errors are printed with the usage.
	f.setErr = fakeParamErr{"memory": "value must have a minimum value of 16"}
	_, errOut, code := run(t, s, "pct create 200 tmpl --memory 1", "")
	if want := "400 Parameter verification failed.\nmemory: value must have a minimum value of 16\n" + usage; code != 255 || errOut != want {
		t.Fatalf("exit %d stderr %q want %q", code, errOut, want)
	}
}
