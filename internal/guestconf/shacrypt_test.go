package guestconf

import (
	"strings"
	"testing"
)

// The test vectors of Drepper's SHA-crypt specification (default rounds).
func TestSHA512Crypt(t *testing.T) {
	for _, c := range []struct{ key, salt, want string }{
		{"Hello world!", "saltstring", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		// glibc's crypt(3) (Python's crypt.crypt) gives the same.
		{"s3cret", "abcdefghijklmnop", "$6$abcdefghijklmnop$MX/U/9p1vJFl3WHuV0LxXU6VyeXNhxK34.H5GaCGFz3VpOLhXvzju3d5SbC6VFmLrYkfJPFXjzdpZoq3w/Yul0"},
		{"", "salt", "$6$salt$"},
	} {
		got := sha512Crypt([]byte(c.key), []byte(c.salt), 5000)
		if c.key == "" {
			if !strings.HasPrefix(got, c.want) || len(got) != len(c.want)+86 {
				t.Errorf("empty key: %q", got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("sha512Crypt(%q, %q) = %q, want %q", c.key, c.salt, got, c.want)
		}
	}
	h := PasswordHash(8000, "s3cret")
	if h != PasswordHash(8000, "s3cret") || h == PasswordHash(8001, "s3cret") || strings.Contains(h, "s3cret") {
		t.Fatalf("PasswordHash must be stable per VM, differ between VMs and not hold the password: %q", h)
	}
}
