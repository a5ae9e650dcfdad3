package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/opsdecl"
)

// The TLS subtest's name of the node, its published ports (loopback) and
// Pebble's management API (compose.test.yaml).
const (
	tlsDomain    = "ops.okx-hft.test"
	tlsHTTPPort  = "28080"
	tlsHTTPSPort = "28443"
	pebbleMgmt   = "https://127.0.0.1:28444"
)

// pebbleMinica is the root of Pebble's own HTTPS certificate, from the
// module go.mod pins (the acme package's test imports it).
func pebbleMinica(t *testing.T, root string) *x509.CertPool {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m github.com/letsencrypt/pebble/v2: %v", err)
	}
	pem, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "test/certs/pebble.minica.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("pebble.minica.pem holds no certificate")
	}
	return pool
}

// pebbleRoots are the roots Pebble's CA issues under (random per start).
func pebbleRoots(t *testing.T, minica *x509.CertPool) *x509.CertPool {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: minica, ServerName: "localhost"}}}
	resp, err := c.Get(pebbleMgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pem, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if resp.StatusCode != 200 || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("Pebble's root: %s %.200s", resp.Status, pem)
	}
	return pool
}

// tlsClient speaks to tls-proxy as a browser that resolves tlsDomain to
// this machine: SNI and Host are the name, the certificate must verify
// against roots, and redirects are not followed.
func tlsClient(roots *x509.CertPool) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		target := map[string]string{"443": tlsHTTPSPort, "80": tlsHTTPPort, tlsHTTPSPort: tlsHTTPSPort}[port]
		return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, "127.0.0.1:"+target)
	}
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: roots}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// servedCertificate is the leaf tls-proxy presents for tlsDomain.
func servedCertificate(roots *x509.CertPool) (*x509.Certificate, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", "127.0.0.1:"+tlsHTTPSPort, &tls.Config{ServerName: tlsDomain, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// checkTLS turns the tls profile on, as README's TLS section says, with
// Pebble as the CA: the certificate is issued over HTTP-01 through
// tls-proxy's port 80 path, every UI answers over HTTPS under its path
// with HSTS, HTTP redirects to HTTPS, the plain loopback port keeps
// serving, and the certificate is renewed and served without a reload.
func (s *Stack) checkTLS(t *testing.T) {
	s.Profiles = "demo,tls"
	publicURL := "https://" + tlsDomain + ":" + tlsHTTPSPort
	s.setEnv(map[string]string{
		"OPS_TLS_DOMAIN":              tlsDomain,
		"OPS_TLS_BIND_ADDRESS":        "127.0.0.1",
		"OPS_TLS_HTTP_PORT":           tlsHTTPPort,
		"OPS_TLS_HTTPS_PORT":          tlsHTTPSPort,
		"OPS_ACME_EMAIL":              "ops@okx-hft.test",
		"OPS_ACME_DIRECTORY":          "https://pebble:14000/dir",
		"OPS_ACME_CHECK_INTERVAL":     "5s",
		"OPS_ACME_RETRY_INTERVAL":     "5s",
		"OPS_PUBLIC_HOST":             tlsDomain,
		"OPS_PUBLIC_URL":              publicURL,
		"MLFLOW_SERVER_ALLOWED_HOSTS": s.Env["MLFLOW_SERVER_ALLOWED_HOSTS"] + "," + tlsDomain + "," + tlsDomain + ":*",
	})
	start := time.Now()
	if out, err := s.run(s.Opsctl, "up", "--build=false", "--no-doctor", "--timeout", "15m"); err != nil {
		t.Fatalf("opsctl up with the tls profile: %v\n%s", err, tail(out, 40))
	}
	t.Logf("opsctl up with the tls profile: healthy, with a certificate, after %s", time.Since(start).Round(time.Second))
	t.Cleanup(func() {
		if os.Getenv("OPS_STACK_KEEP") != "1" {
			s.compose("rm", "-sf", "tls-proxy", "acme", "pebble")
		}
	})

	roots := pebbleRoots(t, pebbleMinica(t, s.Root))
	first, err := servedCertificate(roots)
	if err != nil {
		t.Fatalf("TLS handshake with tls-proxy for %s: %v\n%s", tlsDomain, err, s.compose("logs", "--tail", "30", "acme"))
	}
	t.Logf("issued: serial %s, %s to %s, names %v", first.SerialNumber.Text(16), first.NotBefore.Format(time.TimeOnly), first.NotAfter.Format(time.TimeOnly), first.DNSNames)

	// Every UI under its path, over HTTPS, with HSTS.
	user, pass := s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"]
	decls, err := opsdecl.Load(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	c := tlsClient(roots)
	get := func(url, user, pass string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	paths := 0
	for _, d := range decls.UIs() {
		if notBuildable[d.Name] {
			continue
		}
		path, u, p := d.UI.Probe, "", ""
		if d.UI.Login.Proxy {
			path, u, p = d.UI.Open, user, pass
			if resp, _ := get(publicURL+path, "", ""); resp.StatusCode != 401 {
				t.Errorf("https %s without credentials: %d, want 401", path, resp.StatusCode)
			}
		}
		resp, body := get(publicURL+path, u, p)
		if resp.StatusCode != 200 && resp.StatusCode != 302 {
			t.Errorf("https %s: %d %.200s", path, resp.StatusCode, body)
		}
		if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
			t.Errorf("https %s: Strict-Transport-Security %q", path, hsts)
		}
		if loc := resp.Header.Get("Location"); loc != "" && !strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, publicURL) {
			t.Errorf("https %s redirects to %s, off the public URL %s", path, loc, publicURL)
		}
		paths++
	}
	if resp, body := get(publicURL+"/", user, pass); resp.StatusCode != 200 || !bytes.Contains(body, []byte("/mlflow/")) {
		t.Errorf("the landing page over https: %d", resp.StatusCode)
	}
	t.Logf("%d UIs and the landing page answer over https://%s with HSTS", paths, tlsDomain)

	// HTTP redirects to HTTPS, path and query kept; the challenge path
	// goes to acme (an unknown token: its 404, not a redirect).
	resp, _ := get("http://"+tlsDomain+"/mlflow/?x=1", "", "")
	if loc := resp.Header.Get("Location"); resp.StatusCode != 308 || loc != "https://"+tlsDomain+"/mlflow/?x=1" {
		t.Errorf("http /mlflow/?x=1: %d to %q, want 308 to https://%s/mlflow/?x=1", resp.StatusCode, loc, tlsDomain)
	}
	if resp, _ := get("http://"+tlsDomain+"/.well-known/acme-challenge/unknown-token", "", ""); resp.StatusCode != 404 {
		t.Errorf("http challenge path with an unknown token: %d, want acme's 404", resp.StatusCode)
	}
	// The plain loopback port is what it was.
	if code, _ := httpGet(t, proxyURL+"/", user, pass); code != 200 {
		t.Errorf("the plain loopback port beside TLS: / answers %d", code)
	}

	// Renewal: Pebble's certificates last 90 s, due with 30 s left. The
	// same tls-proxy container serves it: no restart, no reload.
	started := func() string {
		return strings.TrimSpace(s.must("docker", "inspect", "-f", "{{.State.StartedAt}} {{.RestartCount}}", project+"-tls-proxy-1"))
	}
	before := started()
	renewed := first
	eventually(t, 3*time.Minute, 3*time.Second, "a renewed certificate served", func() error {
		leaf, err := servedCertificate(roots)
		if err != nil {
			return err
		}
		if leaf.SerialNumber.Cmp(first.SerialNumber) == 0 {
			return fmt.Errorf("still serial %s (ends %s)", first.SerialNumber.Text(16), first.NotAfter.Format(time.TimeOnly))
		}
		renewed = leaf
		return nil
	})
	if after := started(); after != before {
		t.Errorf("tls-proxy was restarted for the renewal: started and restarts %q, before %q", after, before)
	}
	t.Logf("renewed: serial %s, %s to %s, served by the same tls-proxy (started %s)", renewed.SerialNumber.Text(16), renewed.NotBefore.Format(time.TimeOnly), renewed.NotAfter.Format(time.TimeOnly), before)
	if resp, _ := get(publicURL+"/", user, pass); resp.StatusCode != 200 {
		t.Errorf("the landing page with the renewed certificate: %d", resp.StatusCode)
	}
	if logs := s.compose("logs", "acme"); !strings.Contains(logs, "renewing") {
		t.Errorf("acme's log does not say it renewed:\n%s", tail(logs, 20))
	}
}
