package secrets

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestGeneratedSecretsAreStrongAndFresh(t *testing.T) {
	for _, s := range Specs {
		if s.Optional {
			if _, err := Generate(s); err == nil {
				t.Errorf("%s: optional secrets come from elsewhere; Generate must refuse", s.Key)
			}
			continue
		}
		if bits := s.EntropyBits(); bits < 128 {
			t.Errorf("%s: %.0f bits of entropy, want >= 128", s.Key, bits)
		}
		a, err := Generate(s)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Generate(s)
		if a == b {
			t.Errorf("%s: two generated values are equal: %q", s.Key, a)
		}
		if s.Fernet {
			// What Python's cryptography.fernet.Fernet(key) accepts.
			if key, err := base64.URLEncoding.DecodeString(a); err != nil || len(key) != 32 || len(a) != 44 {
				t.Errorf("%s: %q is not 32 bytes in URL-safe base64 (%v)", s.Key, a, err)
			}
		} else if len(a) != s.Length {
			t.Errorf("%s: length %d, want %d", s.Key, len(a), s.Length)
		}
		for _, r := range a {
			if s.Fernet {
				break
			}
			if !strings.ContainsRune(s.Alphabet, r) {
				t.Errorf("%s: %q outside the alphabet", s.Key, r)
			}
		}
		if w := Weakness(s, a); w != "" {
			t.Errorf("%s: generated value judged weak: %s", s.Key, w)
		}
	}
}

func TestWeakness(t *testing.T) {
	required, _ := Lookup("GRAFANA_ADMIN_PASSWORD")
	optional, _ := Lookup("TELEGRAM_BOT_TOKEN")
	fernet, _ := Lookup("AIRFLOW_FERNET_KEY")
	cases := []struct {
		spec  Spec
		value string
		want  string
	}{
		{required, "", "is empty"},
		{optional, "", ""},
		{required, "minioadmin", "well-known"},
		{required, "Admin", "well-known"},
		{optional, "changeme", "well-known"},
		{required, "changeme-please-1234", "placeholder"},
		{required, "short1A", "at least 16"},
		{required, "aaaaaaaaaaaaaaaaaaaa", "too few characters"},
		{required, "Zk3pQ9vX2mL7nR4tW8yB", ""},
		{fernet, "Zk3pQ9vX2mL7nR4tW8yB", "not a Fernet key"},
		{fernet, "c2hvcnQta2V5LW9mLTE2Yg==", "not a Fernet key"},                     // 16 bytes
		{fernet, "Zk3pQ9vX2mL7nR4tW8yBZk3pQ9vX2mL7nR4tW8yB+/A=", "not a Fernet key"}, // standard, not URL-safe, base64
		{fernet, "3q2-7wAAAAAAAAAAAAAAAH9oYWxsby13b3JsZC0xMjM=", ""},
	}
	for _, c := range cases {
		got := Weakness(c.spec, c.value)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("Weakness(%s, %q) = %q, want containing %q", c.spec.Key, c.value, got, c.want)
		}
	}
}
