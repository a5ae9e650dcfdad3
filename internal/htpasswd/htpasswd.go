// Package htpasswd writes the proxy's basic-auth file. Passwords are hashed
// with SHA-512 crypt ($6$), which nginx verifies through the C library's
// crypt(3) on both glibc (Debian image) and musl (Alpine image).
package htpasswd

import (
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"strings"
)

const (
	cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	rounds        = 5000 // the default of SHA-crypt; the prefix then omits "rounds="
	saltLength    = 16
)

// Line returns "user:$6$salt$hash" for an htpasswd file.
func Line(user, password string) (string, error) {
	if user == "" || strings.ContainsAny(user, ":\n\r") {
		return "", fmt.Errorf("user name %q is empty or contains ':' or a newline", user)
	}
	if strings.ContainsAny(password, "\n\r") {
		return "", fmt.Errorf("password contains a newline")
	}
	salt, err := newSalt()
	if err != nil {
		return "", err
	}
	return user + ":" + SHA512Crypt(password, salt), nil
}

func newSalt() (string, error) {
	b := make([]byte, saltLength)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	for i := range b {
		b[i] = cryptAlphabet[int(b[i])%len(cryptAlphabet)]
	}
	return string(b), nil
}

// Verify reports whether password matches a "$6$salt$hash" string.
func Verify(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "" || parts[1] != "6" {
		return false
	}
	return SHA512Crypt(password, parts[2]) == hash
}

// SHA512Crypt implements Ulrich Drepper's SHA-crypt with SHA-512 and the
// default 5000 rounds ("Unix crypt using SHA-256 and SHA-512", 2008).
func SHA512Crypt(password, salt string) string {
	if len(salt) > 16 {
		salt = salt[:16]
	}
	p, s := []byte(password), []byte(salt)

	b := sha512.New()
	b.Write(p)
	b.Write(s)
	b.Write(p)
	digestB := b.Sum(nil)

	a := sha512.New()
	a.Write(p)
	a.Write(s)
	for n := len(p); n > 0; n -= 64 {
		a.Write(digestB[:min(n, 64)])
	}
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(digestB)
		} else {
			a.Write(p)
		}
	}
	digestA := a.Sum(nil)

	dp := sha512.New()
	for range len(p) {
		dp.Write(p)
	}
	pBytes := repeat(dp.Sum(nil), len(p))

	ds := sha512.New()
	for range 16 + int(digestA[0]) {
		ds.Write(s)
	}
	sBytes := repeat(ds.Sum(nil), len(s))

	c := digestA
	for i := range rounds {
		h := sha512.New()
		if i&1 != 0 {
			h.Write(pBytes)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sBytes)
		}
		if i%7 != 0 {
			h.Write(pBytes)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pBytes)
		}
		c = h.Sum(nil)
	}

	order := [][3]int{
		{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48},
		{28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13},
		{56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41},
	}
	var out strings.Builder
	out.WriteString("$6$" + salt + "$")
	for _, o := range order {
		encode(&out, uint(c[o[0]])<<16|uint(c[o[1]])<<8|uint(c[o[2]]), 4)
	}
	encode(&out, uint(c[63]), 2)
	return out.String()
}

func repeat(digest []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, digest[:min(64, n-len(out))]...)
	}
	return out
}

func encode(b *strings.Builder, v uint, n int) {
	for range n {
		b.WriteByte(cryptAlphabet[v&0x3f])
		v >>= 6
	}
}
