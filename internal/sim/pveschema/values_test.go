package pveschema

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestValuesFromForm(t *testing.T) {
	form, err := url.ParseQuery("cores=2&delete=mp0&delete=net1&description=&onboot=1")
	if err != nil {
		t.Fatal(err)
	}
	got := ValuesFromForm(form)
	want := Values{"cores": {"2"}, "delete": {"mp0", "net1"}, "description": nil, "onboot": {"1"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	if got.Has("description") || got.Get("delete") != "mp0" {
		t.Fatal("Has/Get disagree with the values")
	}
}

func TestValuesFromJSON(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(`{"onboot":true,"protection":false,"cores":2,"cpulimit":1.50,` +
		`"command":["ls","-l"],"hostname":null,"net0":"name=eth0"}`))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		t.Fatal(err)
	}
	got, err := ValuesFromJSON(obj)
	if err != nil {
		t.Fatal(err)
	}
	want := Values{"onboot": {"1"}, "protection": {"0"}, "cores": {"2"}, "cpulimit": {"1.50"},
		"command": {"ls", "-l"}, "hostname": nil, "net0": {"name=eth0"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	if _, err := ValuesFromJSON(map[string]any{"x": map[string]any{}}); err == nil {
		t.Fatal("nested object accepted")
	}
}
