package phoenix

import (
	"errors"
	"strings"
	"testing"
)

// A file that is not JSON is reported alone: the other files' checks would
// otherwise run against a half-read estate (here: 950 needs cores and memory
// from proxmox_defaults, which sit in the broken hypervisor file).
func TestSyntaxErrorIsReportedAlone(t *testing.T) {
	hyp := "{\n  \"proxmox_defaults\": {\"lxc\": {\"cores\": 2, \"memory_mb\": 512}},\n  \"network\": \n}"
	lxc := lxcFile(`"950":` + ct(`"cores":-,"memory_mb":-`))
	_, err := Parse(Input{Hypervisor: []byte(hyp), LXC: []byte(lxc)})
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("want problems, got %v", err)
	}
	if len(probs) != 1 || !strings.HasPrefix(probs[0].String(), "phoenix_hypervisor_config.json: line 4, column 1: malformed JSON") {
		t.Fatalf("want the syntax error alone, got:\n%v", err)
	}
	// Both files broken: one problem each, nothing derived.
	_, err = Parse(Input{Hypervisor: []byte(hyp), LXC: []byte(`{"lxc_configs": [`)})
	if !errors.As(err, &probs) || len(probs) != 2 || probs[0].File != HypervisorFileName || probs[1].File != LXCFileName {
		t.Fatalf("want one syntax error per broken file, got:\n%v", err)
	}
}

// A key one or two edits from a known key is a warning naming that key; it
// stays in extra_json. Keys far from every known key are silent.
func TestTypoWarnings(t *testing.T) {
	lxc := lxcFile(`"950":` + ct(`"memroy_mb":2048,"vllm_model":"x","portainer_role":"agent",
		"network_config":{"ip":"dhcp","gatway":"10.0.0.1"},
		"firewall":{"enabled":true,"rules":[{"type":"in","action":"ACCEPT","prot":"tcp","commnet":"x"}]}`))
	e, err := Parse(Input{Hypervisor: []byte(`{}`), LXC: []byte(lxc)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range e.Warnings {
		got = append(got, w.String())
	}
	joined := strings.Join(got, "\n")
	for _, w := range []string{
		`phoenix_lxc_configs.json: lxc_configs."950".memroy_mb: unknown key "memroy_mb": did you mean "memory_mb"? (kept in extra_json for the feature scripts)`,
		`phoenix_lxc_configs.json: lxc_configs."950".firewall.rules[0].commnet: unknown key "commnet": did you mean "comment"? (ignored)`,
		// "prot" is one edit from both "port" and "proto": the first in order.
		`phoenix_lxc_configs.json: lxc_configs."950".firewall.rules[0].prot: unknown key "prot": did you mean "port"? (ignored)`,
	} {
		if !strings.Contains(joined, w) {
			t.Errorf("missing warning\n  %s\ngot\n  %s", w, strings.ReplaceAll(joined, "\n", "\n  "))
		}
	}
	// Keys shorter than four characters are never guessed: "gatway" is not
	// reported as "gw" (which is 4 edits away anyway).
	if strings.Contains(joined, `"gatway"`) {
		t.Errorf("gatway must not be guessed: %s", joined)
	}
	for _, silent := range []string{"vllm_model", "portainer_role"} {
		if strings.Contains(joined, silent) {
			t.Errorf("%s is a deliberate extra key, not a typo: %s", silent, joined)
		}
	}
	g := e.Guests[0]
	if _, ok := g.Extra["memroy_mb"]; !ok {
		t.Errorf("the misspelt key must stay in extra_json: %v", g.ExtraKeys())
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"memroy_mb", "memory_mb", 1}, {"memory", "memory_mb", 3}, {"cores", "coers", 1}, {"abc", "abc", 0}, {"kitten", "sitting", 3}} {
		if got := editDistance(c.a, c.b, 10); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// search_domain and the cloud-init password are read into the model; the
// password is also kept out of extra_json.
func TestSearchDomainAndPassword(t *testing.T) {
	hyp := `{"vms":[{"vmid":8000,"name":"vm","template_image":"x.img",
	  "network_config":{"ip":"dhcp","search_domain":"lab.example"},
	  "cloud_init":{"username":"u","password":"s3cret"}}]}`
	e, err := Parse(Input{Hypervisor: []byte(hyp), LXC: []byte(lxcFile())})
	if err != nil {
		t.Fatal(err)
	}
	g := e.Guests[0]
	if g.Network.SearchDomain != "lab.example" || g.CloudInit == nil || g.CloudInit.Password != "s3cret" {
		t.Fatalf("not ingested: %+v %+v", g.Network, g.CloudInit)
	}
	if len(g.Extra) != 0 {
		t.Fatalf("a fully modelled cloud_init must not reach extra_json: %v", g.ExtraKeys())
	}
}
