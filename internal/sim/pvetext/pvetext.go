// Package pvetext holds PVE's text encodings shared by the simulator's API
// side and its node shell: how description lines are stored in a guest's
// config file.
package pvetext

import (
	"fmt"
	"strconv"
	"strings"
)

// Encode is PVE::Tools::encode_text: control and high-bit bytes, '%' and ':'
// percent-encoded.
func Encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c <= 0x7e && c != '%' && c != ':' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Decode is PVE::Tools::decode_text (uri_unescape).
func Decode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
