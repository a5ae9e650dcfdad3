// Package acme keeps the node's TLS certificate (service acme, profile tls):
// it obtains one from an ACME CA (Let's Encrypt in production) with the
// HTTP-01 challenge and renews it when a third of its lifetime is left, as
// Let's Encrypt advises. The ACME protocol is lego's (github.com/go-acme/lego),
// the field's maintained Go client; this package only schedules it, keeps its
// account and writes the result.
//
// The key and the chain are written into one PEM file (Dir/tls.pem), replaced
// by a rename: tls-proxy's nginx names the file through a variable, so it
// reads it at each handshake and serves a renewed certificate without a
// reload, and never half of a pair.
package acme

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	legoacme "github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge/http01"
	"github.com/go-acme/lego/v5/lego"
	"github.com/go-acme/lego/v5/registration"

	"github.com/okx-hft/okx-hft-ops/internal/atomicfile"
)

// LetsEncrypt is the production directory, the default.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// DefaultDir holds the account and tls.pem: the acme_data volume.
const DefaultDir = "/var/lib/ops-acme"

// ProxyGID is the group of nginx's workers in the nginx image (user nginx,
// uid and gid 101): tls.pem is readable by it and by no one else.
const ProxyGID = 101

// Config is the agent's settings, from the environment (FromEnv).
type Config struct {
	Domains   []string // the certificate's names; the first is its subject
	Email     string   // the account's contact (expiry notices), may be empty
	Directory string   // the CA's ACME directory URL
	Dir       string   // account and certificate (a volume)
	// Check is how often the certificate is looked at; Retry how soon a
	// failed attempt is tried again.
	Check, Retry time.Duration
	// CACerts, when set, are PEM files of the roots that sign the CA's own
	// HTTPS certificate (a private ACME CA; Pebble in the stack test).
	CACerts string
}

// SettingError is a bad value of one key of the environment (.env).
type SettingError struct {
	Key, Msg string
}

func (e *SettingError) Error() string { return e.Msg }

// FromEnv reads OPS_TLS_DOMAIN, OPS_ACME_EMAIL, OPS_ACME_DIRECTORY,
// OPS_ACME_CHECK_INTERVAL, OPS_ACME_RETRY_INTERVAL, OPS_ACME_CA_CERTS.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{Dir: DefaultDir, Check: 12 * time.Hour, Retry: 10 * time.Minute, Directory: LetsEncrypt}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &SettingError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	for _, d := range strings.Split(getenv("OPS_TLS_DOMAIN"), ",") {
		if d = strings.TrimSpace(d); d != "" {
			c.Domains = append(c.Domains, strings.ToLower(d))
		}
	}
	if len(c.Domains) == 0 {
		bad("OPS_TLS_DOMAIN", "OPS_TLS_DOMAIN is empty: set it in .env to the name the node is reached at (its DNS A record points at the server), e.g. ops.example.com")
	}
	for _, d := range c.Domains {
		if err := ValidDomain(d); err != nil {
			bad("OPS_TLS_DOMAIN", "OPS_TLS_DOMAIN: %v", err)
		}
	}
	c.Email = strings.TrimSpace(getenv("OPS_ACME_EMAIL"))
	if c.Email != "" {
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
			bad("OPS_ACME_EMAIL", "OPS_ACME_EMAIL %q is not an e-mail address: set a plain address like ops@example.com, or leave it empty", c.Email)
		}
	}
	if v := strings.TrimSpace(getenv("OPS_ACME_DIRECTORY")); v != "" {
		c.Directory = v
	}
	if u, err := url.Parse(c.Directory); err != nil || u.Scheme != "https" || u.Host == "" {
		bad("OPS_ACME_DIRECTORY", "OPS_ACME_DIRECTORY %q is not an https URL: leave it empty for Let's Encrypt (%s), or its staging directory for trials", c.Directory, LetsEncrypt)
	}
	for key, d := range map[string]*time.Duration{"OPS_ACME_CHECK_INTERVAL": &c.Check, "OPS_ACME_RETRY_INTERVAL": &c.Retry} {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			p, err := time.ParseDuration(v)
			if err != nil || p < time.Second {
				bad(key, "%s %q is not a duration of a second or more (like 12h or 10m)", key, v)
				continue
			}
			*d = p
		}
	}
	c.CACerts = strings.TrimSpace(getenv("OPS_ACME_CA_CERTS"))
	return c, errors.Join(errs...)
}

// ValidDomain accepts a DNS name a public CA issues for: letters, digits and
// hyphens in dot-separated labels, no IP address, no wildcard (HTTP-01
// cannot prove one).
func ValidDomain(d string) error {
	if net.ParseIP(d) != nil {
		return fmt.Errorf("%q is an IP address: ACME's HTTP-01 challenge needs a DNS name pointing at the server", d)
	}
	if len(d) > 253 || !strings.Contains(d, ".") {
		return fmt.Errorf("%q is not a fully qualified DNS name like ops.example.com", d)
	}
	for _, l := range strings.Split(d, ".") {
		ok := l != "" && len(l) <= 63 && l[0] != '-' && l[len(l)-1] != '-'
		for _, r := range l {
			ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
		}
		if !ok {
			return fmt.Errorf("%q is not a DNS name: label %q may hold only letters, digits and inner hyphens (no wildcard: HTTP-01 cannot prove one)", d, l)
		}
	}
	return nil
}

// Agent obtains and renews the certificate and answers the CA's HTTP-01
// requests, which tls-proxy forwards to it.
type Agent struct {
	Cfg Config
	Log func(format string, args ...any)
	Now func() time.Time

	mu     sync.Mutex
	tokens map[string]string // HTTP-01 token -> key authorization
	last   error             // the last attempt's failure, nil after a success
}

// CertFile is the PEM file of key and chain that tls-proxy serves.
func (a *Agent) CertFile() string { return filepath.Join(a.Cfg.Dir, "tls.pem") }

func (a *Agent) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Present and CleanUp make the agent lego's HTTP-01 provider: it serves the
// key authorizations itself (Handler) instead of lego's own server, so that
// one listener answers the CA and the health check.
func (a *Agent) Present(_ context.Context, _, token, keyAuth string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tokens == nil {
		a.tokens = map[string]string{}
	}
	a.tokens[token] = keyAuth
	return nil
}

func (a *Agent) CleanUp(_ context.Context, _, token, _ string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.tokens, token)
	return nil
}

// Handler answers /.well-known/acme-challenge/TOKEN and /-/healthy (200
// while a certificate for the names is in force).
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+http01.PathPrefix+"{token}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		keyAuth, ok := a.tokens[r.PathValue("token")]
		a.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(keyAuth))
	})
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, r *http.Request) {
		leaf, err := a.Current()
		a.mu.Lock()
		last := a.last
		a.mu.Unlock()
		if err != nil {
			msg := err.Error()
			if last != nil {
				msg += "; the last attempt: " + last.Error()
			}
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "certificate for %s, serial %s, valid until %s\n", strings.Join(leaf.DNSNames, ","), leaf.SerialNumber.Text(16), leaf.NotAfter.UTC().Format(time.RFC3339))
	})
	return mux
}

// Current is the certificate in force: tls.pem's leaf, when it holds the
// key for it, names every domain and has not expired.
func (a *Agent) Current() (*x509.Certificate, error) {
	data, err := os.ReadFile(a.CertFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("no certificate yet")
	}
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(data, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", a.CertFile(), err)
	}
	leaf := pair.Leaf
	for _, d := range a.Cfg.Domains {
		if !slices.Contains(leaf.DNSNames, d) {
			return nil, fmt.Errorf("the certificate names %v, not %s", leaf.DNSNames, d)
		}
	}
	if now := a.now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("the certificate is valid from %s to %s, not now", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return leaf, nil
}

// RenewAt is when a certificate is due: a third of its lifetime before it
// ends.
func RenewAt(leaf *x509.Certificate) time.Time {
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return leaf.NotAfter.Add(-life / 3)
}

// Ensure obtains a certificate when there is none in force or it is due,
// and reports whether it obtained one.
func (a *Agent) Ensure(ctx context.Context) (bool, error) {
	if leaf, err := a.Current(); err == nil && a.now().Before(RenewAt(leaf)) {
		return false, nil
	} else if err == nil {
		a.Log("the certificate (serial %s) ends %s: renewing", leaf.SerialNumber.Text(16), leaf.NotAfter.UTC().Format(time.RFC3339))
	} else {
		a.Log("%v: obtaining one for %s from %s", err, strings.Join(a.Cfg.Domains, ","), a.Cfg.Directory)
	}
	err := a.obtain(ctx)
	a.mu.Lock()
	a.last = err
	a.mu.Unlock()
	return err == nil, err
}

func (a *Agent) obtain(ctx context.Context) error {
	if err := os.MkdirAll(a.Cfg.Dir, 0o700); err != nil {
		return err
	}
	user, err := a.account()
	if err != nil {
		return err
	}
	cfg := lego.NewConfig(user)
	cfg.CADirURL = a.Cfg.Directory
	cfg.UserAgent = "okx-hft-ops-acme"
	if a.Cfg.CACerts != "" {
		pool, err := lego.CreateCertPool(strings.Split(a.Cfg.CACerts, string(os.PathListSeparator)), false)
		if err != nil {
			return fmt.Errorf("OPS_ACME_CA_CERTS: %w", err)
		}
		cfg.HTTPClient.Transport.(*http.Transport).TLSClientConfig.RootCAs = pool
	}
	client, err := lego.NewClient(cfg)
	if err != nil {
		return fmt.Errorf("the ACME directory %s: %w", a.Cfg.Directory, err)
	}
	if err := client.Challenge.SetHTTP01Provider(a); err != nil {
		return err
	}
	if user.Registration == nil {
		reg, err := client.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true})
		if err != nil {
			return fmt.Errorf("registering an account with %s: %w", a.Cfg.Directory, err)
		}
		user.Registration = reg
		if err := a.saveAccount(user); err != nil {
			return err
		}
		a.Log("registered account %s", reg.Location)
	}
	res, err := client.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: a.Cfg.Domains, Bundle: true, KeyType: certcrypto.EC256})
	if err != nil {
		return fmt.Errorf("obtaining a certificate for %s: %w", strings.Join(a.Cfg.Domains, ","), err)
	}
	pemData := append(append([]byte{}, res.PrivateKey...), res.Certificate...)
	pair, err := tls.X509KeyPair(pemData, pemData)
	if err != nil {
		return fmt.Errorf("the CA's certificate does not load: %w", err)
	}
	if err := atomicfile.Write(a.CertFile(), pemData, 0o640, ProxyGID); err != nil {
		return err
	}
	a.Log("certificate for %s, serial %s, valid %s to %s (renewal due %s)", strings.Join(pair.Leaf.DNSNames, ","), pair.Leaf.SerialNumber.Text(16),
		pair.Leaf.NotBefore.UTC().Format(time.RFC3339), pair.Leaf.NotAfter.UTC().Format(time.RFC3339), RenewAt(pair.Leaf).UTC().Format(time.RFC3339))
	return nil
}

// Run checks at once and then every Check (Retry after a failure) until
// ctx ends.
func (a *Agent) Run(ctx context.Context) {
	for {
		wait := a.Cfg.Check
		if _, err := a.Ensure(ctx); err != nil {
			a.Log("%v; trying again in %s", err, a.Cfg.Retry)
			wait = a.Cfg.Retry
		} else if leaf, err := a.Current(); err == nil {
			wait = min(wait, max(time.Until(RenewAt(leaf)), time.Second))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Serve runs the agent and its HTTP listener until ctx ends.
func (a *Agent) Serve(ctx context.Context, listen string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	go a.Run(ctx)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// user is lego's registration.User, kept in Dir/account.json with its key.
type user struct {
	Email        string                    `json:"email"`
	Directory    string                    `json:"directory"`
	Registration *legoacme.ExtendedAccount `json:"registration"`
	KeyPEM       string                    `json:"key"`
	key          crypto.Signer
}

func (u *user) GetEmail() string                           { return u.Email }
func (u *user) GetRegistration() *legoacme.ExtendedAccount { return u.Registration }
func (u *user) GetPrivateKey() crypto.Signer               { return u.key }

func (a *Agent) accountFile() string { return filepath.Join(a.Cfg.Dir, "account.json") }

// account loads the account registered with this directory, or makes a
// new key for one (registered by obtain). An account of another directory
// or e-mail is replaced: accounts do not move between CAs.
func (a *Agent) account() (*user, error) {
	data, err := os.ReadFile(a.accountFile())
	if err == nil {
		var u user
		if err := json.Unmarshal(data, &u); err != nil {
			return nil, fmt.Errorf("%s: %v (remove it: a new account is registered)", a.accountFile(), err)
		}
		if u.Directory == a.Cfg.Directory && u.Email == a.Cfg.Email {
			block, _ := pem.Decode([]byte(u.KeyPEM))
			if block == nil {
				return nil, fmt.Errorf("%s holds no key (remove it: a new account is registered)", a.accountFile())
			}
			key, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %v (remove it: a new account is registered)", a.accountFile(), err)
			}
			u.key = key
			return &u, nil
		}
		a.Log("the account in %s is for %s <%s>: registering one with %s", a.accountFile(), u.Directory, u.Email, a.Cfg.Directory)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &user{Email: a.Cfg.Email, Directory: a.Cfg.Directory, KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), key: key}, nil
}

func (a *Agent) saveAccount(u *user) error {
	data, err := json.MarshalIndent(u, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(a.accountFile(), data, 0o600, -1)
}
