package pve

import "testing"

func TestReplaceRawLXC(t *testing.T) {
	conf := "arch: amd64\ncores: 2\nlxc.apparmor.profile: old\nmemory: 512\n\n[pre-configured]\ncores: 1\nlxc.apparmor.profile: old\n"
	got := ReplaceRawLXC(conf, [][2]string{{"lxc.apparmor.profile", "unconfined"}, {"lxc.cgroup2.devices.allow", "a"}})
	want := "arch: amd64\ncores: 2\nmemory: 512\nlxc.apparmor.profile: unconfined\nlxc.cgroup2.devices.allow: a\n\n[pre-configured]\ncores: 1\nlxc.apparmor.profile: old\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if again := ReplaceRawLXC(got, [][2]string{{"lxc.apparmor.profile", "unconfined"}, {"lxc.cgroup2.devices.allow", "a"}}); again != got {
		t.Fatalf("rewriting must be idempotent:\n%s", again)
	}
	if removed := ReplaceRawLXC(got, nil); removed != "arch: amd64\ncores: 2\nmemory: 512\n\n[pre-configured]\ncores: 1\nlxc.apparmor.profile: old\n" {
		t.Fatalf("removed lines must disappear from the main section only:\n%s", removed)
	}
}

func TestAPIBase(t *testing.T) {
	for in, want := range map[string]string{
		"https://pve:8006":           "https://pve:8006/api2/json",
		"https://pve:8006/":          "https://pve:8006/api2/json",
		"https://pve:8006/api2/json": "https://pve:8006/api2/json",
	} {
		if got, err := APIBase(in); err != nil || got != want {
			t.Errorf("APIBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := APIBase("pve:8006"); err == nil {
		t.Error("a URL without scheme must be refused")
	}
}
