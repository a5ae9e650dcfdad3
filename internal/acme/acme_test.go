package acme

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

// pebble runs Let's Encrypt's ACME test server in this process on
// loopback: its directory over TLS (httptest's certificate, trusted
// through a CA file as a private CA's would be), and its validation
// authority fetching HTTP-01 answers from httpPort. Certificates last
// validity seconds.
func pebble(t *testing.T, httpPort int, validity uint64) (directory, caFile string, roots func() *x509.CertPool) {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1") // no random wait before validating
	logger := log.New(io.Discard, "", 0)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "test", ValidityPeriod: validity}})
	validator := va.New(logger, httpPort, 0, false, "", store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 1, 1)
	srv := httptest.NewTLSServer(front.Handler())
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "pebble-https.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = func() *x509.CertPool {
		pool := x509.NewCertPool()
		pool.AddCert(authority.GetRootCert(0).Cert)
		return pool
	}
	return srv.URL + wfe.DirectoryPath, caFile, roots
}

// serveAgent serves the agent's handler on 127.0.0.1 and, when the host
// has IPv6, on [::1] at the same port: the CA resolves "localhost" and
// dials the first address.
func serveAgent(t *testing.T, a *Agent) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	go http.Serve(ln, a.Handler())
	t.Cleanup(func() { ln.Close() })
	if ln6, err := net.Listen("tcp", fmt.Sprintf("[::1]:%d", port)); err == nil {
		go http.Serve(ln6, a.Handler())
		t.Cleanup(func() { ln6.Close() })
	}
	return port
}

func TestObtainAndRenewAgainstPebble(t *testing.T) {
	var logs []string
	a := &Agent{Log: func(f string, args ...any) { logs = append(logs, fmt.Sprintf(f, args...)) }}
	port := serveAgent(t, a)
	dir, caFile, roots := pebble(t, port, 3600)
	a.Cfg = Config{Domains: []string{"localhost"}, Directory: dir, Dir: t.TempDir(), CACerts: caFile, Check: time.Hour, Retry: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if _, err := a.Current(); err == nil || !strings.Contains(err.Error(), "no certificate yet") {
		t.Fatalf("before the first run: %v, want no certificate yet", err)
	}
	unhealthy := httptest.NewRecorder()
	a.Handler().ServeHTTP(unhealthy, httptest.NewRequest("GET", "/-/healthy", nil))
	if unhealthy.Code != http.StatusServiceUnavailable {
		t.Errorf("/-/healthy without a certificate: %d, want 503", unhealthy.Code)
	}

	got, err := a.Ensure(ctx)
	if err != nil || !got {
		t.Fatalf("first Ensure: obtained %v, %v; log %q", got, err, logs)
	}
	first, err := a.Current()
	if err != nil {
		t.Fatal(err)
	}
	// The chain verifies against the CA's root, for the name.
	data, _ := os.ReadFile(a.CertFile())
	inter := x509.NewCertPool()
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			inter.AddCert(c)
		}
	}
	if _, err := first.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: roots(), Intermediates: inter}); err != nil {
		t.Errorf("the certificate does not verify against Pebble's root: %v", err)
	}
	if st, _ := os.Stat(a.CertFile()); st.Mode().Perm() != 0o640 {
		t.Errorf("tls.pem has mode %v, want 0640 (the key: root and the proxy's group only)", st.Mode().Perm())
	}
	healthy := httptest.NewRecorder()
	a.Handler().ServeHTTP(healthy, httptest.NewRequest("GET", "/-/healthy", nil))
	if healthy.Code != 200 || !strings.Contains(healthy.Body.String(), first.SerialNumber.Text(16)) {
		t.Errorf("/-/healthy with a certificate: %d %q", healthy.Code, healthy.Body.String())
	}
	account, _ := os.ReadFile(filepath.Join(a.Cfg.Dir, "account.json"))

	// Not due: nothing is asked of the CA.
	if got, err := a.Ensure(ctx); err != nil || got {
		t.Fatalf("Ensure right after issuance: obtained %v, %v; want nothing to do", got, err)
	}

	// Due (a third of the lifetime left): renewed, with the same account.
	a.Now = func() time.Time { return RenewAt(first).Add(time.Second) }
	if got, err := a.Ensure(ctx); err != nil || !got {
		t.Fatalf("Ensure when due: obtained %v, %v; log %q", got, err, logs)
	}
	a.Now = nil
	second, err := a.Current()
	if err != nil {
		t.Fatal(err)
	}
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("renewal kept the old certificate")
	}
	if again, _ := os.ReadFile(filepath.Join(a.Cfg.Dir, "account.json")); string(again) != string(account) {
		t.Error("renewal registered a new account instead of reusing the saved one")
	}

	// Another directory: a new account there, the old one is not reused.
	a.Cfg.Email = "ops@example.com"
	a.Now = func() time.Time { return RenewAt(second).Add(time.Second) }
	if _, err := a.Ensure(ctx); err != nil {
		t.Fatalf("Ensure with another contact: %v", err)
	}
	if again, _ := os.ReadFile(filepath.Join(a.Cfg.Dir, "account.json")); string(again) == string(account) || !strings.Contains(string(again), "ops@example.com") {
		t.Error("a changed e-mail did not register a new account")
	}
}

func TestTheCARefusingLeavesTheCertificate(t *testing.T) {
	a := &Agent{Log: t.Logf}
	// No agent answers the challenge: validation fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	go http.Serve(ln, http.NotFoundHandler())
	defer ln.Close()
	dir, caFile, _ := pebble(t, port, 3600)
	a.Cfg = Config{Domains: []string{"localhost"}, Directory: dir, Dir: t.TempDir(), CACerts: caFile}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if got, err := a.Ensure(ctx); err == nil || got {
		t.Fatalf("Ensure with the challenge unanswered: %v %v, want an error", got, err)
	}
	if _, err := os.Stat(a.CertFile()); !os.IsNotExist(err) {
		t.Errorf("a failed attempt left %s: %v", a.CertFile(), err)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/-/healthy", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "the last attempt") {
		t.Errorf("/-/healthy after a failure: %d %q, want 503 naming the last attempt", rec.Code, rec.Body.String())
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := FromEnv(env("OPS_TLS_DOMAIN", "Ops.Example.com, www.example.com", "OPS_ACME_EMAIL", "ops@example.com"))
	if err != nil || strings.Join(c.Domains, ",") != "ops.example.com,www.example.com" || c.Directory != LetsEncrypt || c.Check != 12*time.Hour {
		t.Errorf("FromEnv: %+v, %v", c, err)
	}
	for _, bad := range []struct{ key, value, want string }{
		{"OPS_TLS_DOMAIN", "", "OPS_TLS_DOMAIN is empty"},
		{"OPS_TLS_DOMAIN", "203.0.113.7", "IP address"},
		{"OPS_TLS_DOMAIN", "*.example.com", "wildcard"},
		{"OPS_TLS_DOMAIN", "localhost", "fully qualified"},
		{"OPS_ACME_EMAIL", "ops at example", "not an e-mail"},
		{"OPS_ACME_DIRECTORY", "http://ca.example/dir", "not an https URL"},
		{"OPS_ACME_CHECK_INTERVAL", "soon", "OPS_ACME_CHECK_INTERVAL"},
	} {
		kv := []string{"OPS_TLS_DOMAIN", "ops.example.com", bad.key, bad.value}
		if bad.key == "OPS_TLS_DOMAIN" {
			kv = kv[2:]
		}
		if _, err := FromEnv(env(kv...)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s=%q: %v, want an error saying %q", bad.key, bad.value, err, bad.want)
		}
	}
}
