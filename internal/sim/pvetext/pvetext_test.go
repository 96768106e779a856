package pvetext

import "testing"

func TestRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "a:b", "100%", "line\nbreak", "é", ""} {
		if got := Decode(Encode(s)); got != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
	if got := Encode("key: 5%\n"); got != "key%3A 5%25%0A" {
		t.Errorf("Encode = %q", got)
	}
}
