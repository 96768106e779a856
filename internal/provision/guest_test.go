//go:build linux

package provision

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/guestroot"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

// These tests run Run and RunChecks with the stand-in scripts for real, in
// isolated guest roots (bash-static + busybox, the simulator's guests), so the
// stand-ins are proven to work with nothing else.

// requireGuestRuntime fails (never silently skips) when guests cannot run
// here; PHOENIX_SKIP_GUEST_EXEC=1 opts out, as in internal/sim/guestroot.
func requireGuestRuntime(t testing.TB) { pvesimtest.RequireGuests(t) }

// rootTarget is a Target over a guest root, returning output at exit like
// the QEMU guest agent (which exercises Run's buffered-output path).
type rootTarget struct {
	m  *guestroot.Manager
	id int
}

func (r rootTarget) Push(ctx context.Context, p string, data []byte, mode os.FileMode) error {
	return r.m.WriteFile(r.id, p, data, mode)
}

func (r rootTarget) Exec(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
	env := []string{"PATH=" + guestroot.DefaultPath, "HOME=/root", "LANG=C.UTF-8"}
	for k, v := range req.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	res, err := r.m.Exec(ctx, r.id, guestroot.ExecRequest{Argv: req.Argv, Env: env, Timeout: req.Timeout})
	return ExecResult{ExitCode: res.ExitCode, Stdout: res.Stdout, Stderr: res.Stderr, TimedOut: res.TimedOut}, err
}

// estate is a loaded phoenix estate with its stand-in features_dir, and the
// guests created so far.
type estate struct {
	t       *testing.T
	m       *guestroot.Manager
	e       *phoenix.Estate
	scripts map[int]phoenix.Scripts
	bin     string
	utils   []byte
	records map[int][]Record
}

func loadEstate(t *testing.T, etc, bin string) *estate {
	requireGuestRuntime(t)
	e, err := phoenix.Load(phoenix.Sources{Dir: etc})
	if err != nil {
		t.Fatal(err)
	}
	scripts, probs := phoenix.ResolveScripts(e, bin)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	utils, err := os.ReadFile(filepath.Join(bin, CommonUtilsName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := guestroot.New(filepath.Join(t.TempDir(), "guests"))
	if err != nil {
		t.Fatal(err)
	}
	return &estate{t: t, m: m, e: e, scripts: scripts, bin: bin, utils: utils, records: map[int][]Record{}}
}

func (s *estate) guest(id int) *phoenix.Guest {
	for _, g := range s.e.Guests {
		if g.ID == id {
			return g
		}
	}
	s.t.Fatalf("guest %d not in the estate", id)
	return nil
}

func (s *estate) read(p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// spec builds what the provider would: the context from the model plus the
// entry's unknown keys, and one step per feature and application script.
func (s *estate) spec(id int) Spec {
	g := s.guest(id)
	extra, err := json.Marshal(g.Extra)
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, err := MergeContext(map[string]any{"vmid": g.ID, "name": g.Name, "kind": g.Kind, "features": g.Features, "gpus": g.GPUs}, extra)
	if err != nil {
		s.t.Fatal(err)
	}
	spec := Spec{GuestID: g.ID, GuestName: g.Name, GuestKind: string(g.Kind), Context: ctx, CommonUtils: s.utils}
	sc := s.scripts[id]
	for _, f := range sc.Features {
		spec.Steps = append(spec.Steps, Step{Name: f.Name, Kind: KindFeature, Content: s.read(f.Path), Source: f.Path, Timeout: time.Minute})
	}
	if a := sc.Application; a != nil {
		spec.Steps = append(spec.Steps, Step{Name: a.Name, Kind: KindApplication, Content: s.read(a.Path), Source: a.Path, Timeout: time.Minute})
	}
	return spec
}

func (s *estate) checks(id int) []Check {
	g := s.guest(id)
	var out []Check
	for i, hc := range g.HealthChecks {
		c := Check{Name: hc.Name, Type: hc.Type, Path: hc.Path, Command: hc.Command, Timeout: time.Minute}
		if hc.Type == CheckScript {
			c.Content = s.read(s.scripts[id].HealthChecks[i].Path)
		}
		if hc.Retries != nil {
			c.Retries = int(*hc.Retries)
		}
		if hc.Interval != nil {
			c.Interval = time.Duration(*hc.Interval) * time.Second
		}
		out = append(out, c)
	}
	return out
}

// create makes the guest's root: a copy of its clone source, else fresh.
func (s *estate) create(id int) {
	g := s.guest(id)
	var err error
	if g.CloneFrom != nil {
		err = s.m.Clone(*g.CloneFrom, id, "")
	} else {
		err = s.m.Create(id, "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst")
	}
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *estate) run(id int, mutate func(*Spec)) ([]Record, error) {
	spec := s.spec(id)
	if mutate != nil {
		mutate(&spec)
	}
	var log strings.Builder
	recs, err := Run(context.Background(), rootTarget{s.m, id}, nil, spec, s.records[id], func(l string) { log.WriteString(l + "\n") })
	s.records[id] = recs
	if err != nil {
		s.t.Logf("log of guest %d:\n%s", id, log.String())
	}
	return recs, err
}

func (s *estate) provision(id int) {
	s.t.Helper()
	s.create(id)
	if _, err := s.run(id, nil); err != nil {
		s.t.Fatalf("guest %d: %v", id, err)
	}
}

func (s *estate) file(id int, p string) string {
	s.t.Helper()
	b, _, err := s.m.ReadFile(id, p, 1<<20)
	if err != nil {
		s.t.Fatalf("guest %d: %s: %v", id, p, err)
	}
	return string(b)
}

func (s *estate) marker(id int, name string) string {
	return s.file(id, "/var/lib/phoenix/markers/"+name)
}

func TestExampleEstateStandInsInGuests(t *testing.T) {
	s := loadEstate(t, estateEtc, estateBin)
	for _, id := range []int{900, 901, 953, 910, 950} {
		s.provision(id)
	}
	if got := s.marker(900, "base_setup"); got != "guest=900\nname=tmpl-base\ncount=1\n" {
		t.Errorf("900 base_setup marker %q", got)
	}
	// Clones inherit what their source ran, and run only their own features.
	if got := s.file(910, "/var/lib/phoenix/markers/order.log"); got != "900 base_setup\n901 docker\n910 app_portainer\n" {
		t.Errorf("910 order.log %q", got)
	}
	if got := s.marker(910, "docker"); got != "guest=901\nname=tmpl-docker\ncount=1\n" {
		t.Errorf("910 docker marker (inherited from 901) %q", got)
	}
	if got := s.file(910, "/etc/phoenix/portainer.conf"); got != "role=server\nport=9443\n" {
		t.Errorf("portainer.conf %q (portainer_role comes from the context's unknown keys)", got)
	}
	if got := s.file(950, "/etc/phoenix/model_server.conf"); got != "model=demo/tiny-model\nport=8000\n" {
		t.Errorf("model_server.conf %q", got)
	}
	res := RunChecks(context.Background(), rootTarget{s.m, 950}, s.spec(950), s.checks(950), nil, nil)
	if len(res) != 1 || !res[0].OK || !strings.Contains(res[0].Output, "model server serves demo/tiny-model on port 8000") {
		t.Errorf("check_up: %+v", res)
	}

	// Re-apply: nothing runs. A trigger re-runs just that feature.
	before := s.file(950, "/var/lib/phoenix/markers/order.log")
	if _, err := s.run(950, nil); err != nil {
		t.Fatal(err)
	}
	if after := s.file(950, "/var/lib/phoenix/markers/order.log"); after != before {
		t.Errorf("unchanged re-apply ran scripts: %q", after)
	}
	if _, err := s.run(950, func(sp *Spec) { sp.Steps[0].Trigger = "again" }); err != nil {
		t.Fatal(err)
	}
	if got := s.marker(950, "model_server"); got != "guest=950\nname=inference\ncount=2\n" {
		t.Errorf("model_server after trigger %q", got)
	}
}

func TestSeedEstateStandInsInGuests(t *testing.T) {
	s := loadEstate(t, seedLayout(t), standinsBin)
	for _, id := range []int{900, 902, 952, 954, 901, 920, 950, 8000, 8001} {
		s.provision(id)
	}
	for id, want := range map[int]string{
		952:  "900 base_setup\n902 docker\n952 docker\n952 app_952\n",
		954:  "900 base_setup\n902 docker\n954 app_954\n",
		950:  "900 base_setup\n901 nvidia\n920 nvidia\n920 vllm\n950 vllm\n950 app_vllm\n",
		8001: "8000 base_setup\n8001 docker\n",
	} {
		if got := s.file(id, "/var/lib/phoenix/markers/order.log"); got != want {
			t.Errorf("guest %d order.log %q, want %q", id, got, want)
		}
	}
	if got := s.marker(952, "docker"); got != "guest=952\nname=qdrant-VSCodeRag\ncount=2\n" {
		t.Errorf("952 re-ran docker over its clone source's: %q", got)
	}
	conf := s.file(950, "/etc/phoenix/vllm-serve.conf")
	for _, want := range []string{"model=Qwen/Qwen2.5-7B-Instruct-AWQ\n", "served_model_name=qwen2.5-7b-awq\n", "port=8000\n",
		"command=vllm serve Qwen/Qwen2.5-7B-Instruct-AWQ --port 8000 --quantization awq_marlin --max-model-len 32768"} {
		if !strings.Contains(conf, want) {
			t.Errorf("vllm-serve.conf lacks %q:\n%s", want, conf)
		}
	}
	if got := s.file(920, "/etc/phoenix/nvidia.conf"); got != "driver=580.76.05\ngpus=0,1\n" {
		t.Errorf("920 nvidia.conf %q", got)
	}

	// Health checks: docker's scripts, qdrant's curl command, the dummies.
	for id, want := range map[int]map[string]bool{
		902: {"Check Docker Service": true, "Check Network Access": true, "Check DNS Resolution": true},
		952: {"health_check": true}, // health_check.command, through the stand-in curl
		950: {"Dummy Pass": true, "Dummy Fail": false},
	} {
		res := RunChecks(context.Background(), rootTarget{s.m, id}, s.spec(id), s.checks(id), nil, nil)
		if len(res) != len(want) {
			t.Fatalf("guest %d: %d results, want %d: %+v", id, len(res), len(want), res)
		}
		for _, r := range res {
			if ok, known := want[r.Name]; !known || r.OK != ok {
				t.Errorf("guest %d check %q: ok=%v exit=%d output %q", id, r.Name, r.OK, r.ExitCode, r.Output)
			}
		}
	}

	// An application script whose feature is missing fails with its reason:
	// 954 cloned from 900 instead of 902 has no docker.
	s2 := loadEstate(t, seedLayout(t), standinsBin)
	s2.provision(900)
	if err := s2.m.Clone(900, 954, ""); err != nil {
		t.Fatal(err)
	}
	recs, err := s2.run(954, nil)
	var se *StepError
	if !errors.As(err, &se) || se.ExitCode != 1 || !strings.Contains(se.StderrTail, "docker is not installed in guest 954") {
		t.Fatalf("want a StepError naming the missing docker, got %v", err)
	}
	if len(recs) != 1 || recs[0].Status != StatusFailed {
		t.Errorf("records %v", recs)
	}
}

// The common utils' context readers, on values a sed reader can trip over.
func TestCommonUtilsReadContextInGuest(t *testing.T) {
	s := loadEstate(t, estateEtc, estateBin)
	s.create(900)
	ctx, err := MergeContext(map[string]any{
		"quoted": `say "hi" a/b \ back`, "num": 42, "flag": true, "nothing": nil, "empty": []string{},
		"list": []string{"--model", "a b", "x&y"}, "obj": map[string]int{"inner": 1}, "amp": "a&b<c>",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	probe := `source "$PHOENIX_RUN_DIR/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"
for k in quoted num flag nothing empty obj amp inner missing; do
    printf '%s=[%s]\n' "$k" "$(phoenix_ctx_get "$k" DEF)"
done
phoenix_ctx_list list | while read -r l; do printf 'list=[%s]\n' "$l"; done
phoenix_ctx_list empty
`
	var out strings.Builder
	spec := Spec{GuestID: 900, GuestName: "probe", GuestKind: "lxc", Context: ctx, CommonUtils: s.utils,
		Steps: []Step{{Name: "probe", Kind: KindFeature, Content: []byte(probe)}}}
	if _, err := Run(context.Background(), rootTarget{s.m, 900}, nil, spec, nil, func(l string) { out.WriteString(l + "\n") }); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := `900/probe: quoted=[say "hi" a/b \ back]
900/probe: num=[42]
900/probe: flag=[true]
900/probe: nothing=[DEF]
900/probe: empty=[DEF]
900/probe: obj=[DEF]
900/probe: amp=[a&b<c>]
900/probe: inner=[DEF]
900/probe: missing=[DEF]
900/probe: list=[--model]
900/probe: list=[a b]
900/probe: list=[x&y]
`
	if got := out.String(); !strings.Contains(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
