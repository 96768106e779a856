package guestconf

import (
	"crypto/sha256"
	"crypto/sha512"
	"strconv"
)

// A cloud-init user-data that replaces PVE's own must carry the user's
// password hashed, as PVE's carries cipassword: SHA-512 crypt ("$6$"), which
// every distribution's cloud-init and shadow accept. The salt is derived from
// the VM and the password, so the user-data of an unchanged VM stays the same
// from one apply to the next (a random salt would rewrite the snippet, and
// restart the VM's cloud-init, every time).

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// PasswordHash is the SHA-512 crypt hash of password for VM id.
func PasswordHash(id int, password string) string {
	sum := sha256.Sum256([]byte("phoenix-cloud-init:" + strconv.Itoa(id) + ":" + password))
	salt := make([]byte, 16)
	for i := range salt {
		salt[i] = cryptAlphabet[sum[i]%64]
	}
	return sha512Crypt([]byte(password), salt, 5000)
}

// sha512Crypt is Ulrich Drepper's SHA-crypt with SHA-512 (the default
// 5,000 rounds are not written into the hash).
func sha512Crypt(key, salt []byte, rounds int) string {
	sum := func(parts ...[]byte) []byte {
		h := sha512.New()
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	b := sum(key, salt, key)
	a := sha512.New()
	a.Write(key)
	a.Write(salt)
	a.Write(repeatTo(b, len(key)))
	for n := len(key); n > 0; n >>= 1 {
		if n&1 == 1 {
			a.Write(b)
		} else {
			a.Write(key)
		}
	}
	c := a.Sum(nil)
	p := repeatTo(sum(repeat(key, len(key))), len(key))
	s := repeatTo(sum(repeat(salt, 16+int(c[0]))), len(salt))
	for i := 0; i < rounds; i++ {
		h := sha512.New()
		if i%2 == 1 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i%2 == 1 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(nil)
	}
	out := []byte("$6$" + string(salt) + "$")
	for i := 0; i < 21; i++ {
		// The byte order of SHA-crypt's output encoding.
		x, y, z := c[(i*22)%63], c[(i*22+21)%63], c[(i*22+42)%63]
		out = append(out, b64From24(x, y, z, 4)...)
	}
	return string(append(out, b64From24(0, 0, c[63], 2)...))
}

func b64From24(b2, b1, b0 byte, n int) []byte {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	out := make([]byte, n)
	for i := range out {
		out[i] = cryptAlphabet[w&0x3f]
		w >>= 6
	}
	return out
}

func repeat(b []byte, n int) []byte {
	out := make([]byte, 0, len(b)*n)
	for i := 0; i < n; i++ {
		out = append(out, b...)
	}
	return out
}

// repeatTo is b repeated to length n.
func repeatTo(b []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, b[:min(len(b), n-len(out))]...)
	}
	return out
}
