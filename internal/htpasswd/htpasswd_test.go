package htpasswd

import (
	"os/exec"
	"strings"
	"testing"
)

// Vectors from the SHA-crypt specification (default rounds only).
func TestSHA512CryptSpecVectors(t *testing.T) {
	cases := []struct{ salt, password, want string }{
		{"saltstring", "Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	}
	for _, c := range cases {
		if got := SHA512Crypt(c.password, c.salt); got != c.want {
			t.Errorf("SHA512Crypt(%q, %q)\n got %s\nwant %s", c.password, c.salt, got, c.want)
		}
	}
}

// openssl implements the same algorithm independently; where it is
// installed, long passwords (over 64 bytes) and 16-byte salts are compared.
func TestSHA512CryptMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	for _, pw := range []string{"x", "Zk3pQ9vX2mL7nR4tW8yB", strings.Repeat("long-password-", 7)} {
		salt := "abcdefghijklmnop"
		out, err := exec.Command("openssl", "passwd", "-6", "-salt", salt, pw).Output()
		if err != nil {
			t.Fatal(err)
		}
		if want, got := strings.TrimSpace(string(out)), SHA512Crypt(pw, salt); got != want {
			t.Errorf("password %q: got %s, openssl says %s", pw, got, want)
		}
	}
}

func TestLineVerifies(t *testing.T) {
	l, err := Line("ops", "Zk3pQ9vX2mL7nR4tW8yB")
	if err != nil {
		t.Fatal(err)
	}
	user, hash, _ := strings.Cut(l, ":")
	if user != "ops" || !Verify(hash, "Zk3pQ9vX2mL7nR4tW8yB") || Verify(hash, "wrong") {
		t.Fatalf("line %q does not verify", l)
	}
	if _, err := Line("a:b", "x"); err == nil {
		t.Error("user with ':' accepted")
	}
}
