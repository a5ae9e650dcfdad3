package check

import (
	"errors"
	"fmt"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/okx-hft/okx-hft-ops/internal/acme"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/okx-hft/okx-hft-ops/internal/secrets"
)

// varRef matches ${VAR}, ${VAR:-default}, ${VAR?err} and $VAR, but not $$.
var varRef = regexp.MustCompile(`\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))`)

// VariableRef is a use of an environment variable in a file.
type VariableRef struct {
	Name       string
	Line       int
	HasDefault bool
}

// ScanVariables lists the variable references in text, skipping comments
// (a line whose first non-blank character is '#') and escaped "$$".
func ScanVariables(text string) []VariableRef {
	var refs []VariableRef
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range varRef.FindAllStringSubmatch(line, -1) {
			switch {
			case m[1] == "$":
			case m[2] != "":
				refs = append(refs, VariableRef{Name: m[2], Line: i + 1, HasDefault: strings.Contains(m[1], ":-") || strings.Contains(m[1], "-")})
			case m[3] != "":
				refs = append(refs, VariableRef{Name: m[3], Line: i + 1})
			}
		}
	}
	return refs
}

// readByOpsctl are variables used by opsctl rather than compose.yaml: the
// proxy credentials become secrets/htpasswd, the public host is
// cross-checked against OPS_PUBLIC_URL and MLflow's allowed hosts.
var readByOpsctl = []string{"PROXY_BASIC_AUTH_USER", "PROXY_BASIC_AUTH_PASSWORD", "OPS_PUBLIC_HOST", budgetKey, diskKey}

func (r *Repo) checkVariables() {
	if r.Example == nil {
		return
	}
	defined := map[string]bool{}
	for _, k := range r.Example.Keys() {
		defined[k] = true
	}
	used := map[string]bool{}
	for _, src := range r.sources {
		for _, ref := range ScanVariables(string(src.data)) {
			used[ref.Name] = true
			if !defined[ref.Name] {
				r.f.Errorf("variables", src.rel, fmt.Sprint(ref.Line), fmt.Sprintf("add %s=<value> with a comment to .env.example (and run opsctl init)", ref.Name), "${%s} is not defined in .env.example", ref.Name)
			}
		}
	}
	// Loki expands ${VAR} from its container environment.
	if data, err := os.ReadFile(r.path(lokiFile)); err == nil {
		lokiEnv := map[string]bool{}
		if s, ok := r.service("loki"); ok {
			for k := range s.Environment {
				lokiEnv[k] = true
			}
		}
		for _, ref := range ScanVariables(string(data)) {
			if r.Project != nil && !lokiEnv[ref.Name] && !ref.HasDefault {
				r.f.Errorf("variables", lokiFile, fmt.Sprint(ref.Line), fmt.Sprintf("pass %s in services.loki.environment or give it a default: ${%s:-value}", ref.Name, ref.Name), "${%s} is not in the loki container's environment", ref.Name)
			}
		}
	}
	for _, k := range r.Example.Keys() {
		if used[k] {
			continue
		}
		if slices.Contains(readByOpsctl, k) {
			continue
		}
		r.f.Warnf("variables", ".env.example", fmt.Sprint(r.Example.LineOf(k)), "remove it, or use it in compose.yaml", "%s is defined but not used by compose.yaml", k)
	}

	// The public host must agree everywhere a browser's Host header is checked.
	host, pub := r.Env["OPS_PUBLIC_HOST"], r.Env["OPS_PUBLIC_URL"]
	if u, err := url.Parse(pub); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(pub, "/") {
		r.f.Errorf("public-url", r.EnvPath, fmt.Sprint(r.EnvFile.LineOf("OPS_PUBLIC_URL")), "set OPS_PUBLIC_URL=http://<host>:<port> without a trailing slash", "OPS_PUBLIC_URL=%q is not a base URL", pub)
	} else if u.Hostname() != host {
		r.f.Errorf("public-url", r.EnvPath, fmt.Sprint(r.EnvFile.LineOf("OPS_PUBLIC_HOST")), "make OPS_PUBLIC_HOST the host of OPS_PUBLIC_URL", "OPS_PUBLIC_HOST=%q but OPS_PUBLIC_URL names host %q", host, u.Hostname())
	}
	if allowed := r.Env["MLFLOW_SERVER_ALLOWED_HOSTS"]; host != "" && !slices.Contains(strings.Split(allowed, ","), host) {
		r.f.Errorf("public-url", r.EnvPath, fmt.Sprint(r.EnvFile.LineOf("MLFLOW_SERVER_ALLOWED_HOSTS")), fmt.Sprintf("add %s,%s:* to MLFLOW_SERVER_ALLOWED_HOSTS", host, host), "MLflow would refuse requests for the public host %q", host)
	}
	if allowed := strings.Split(r.Env["MLFLOW_SERVER_ALLOWED_HOSTS"], ","); !slices.Contains(allowed, entryService+":*") && !slices.Contains(allowed, entryService+":8080") {
		r.f.Errorf("public-url", r.EnvPath, fmt.Sprint(r.EnvFile.LineOf("MLFLOW_SERVER_ALLOWED_HOSTS")), "add "+entryService+":* to MLFLOW_SERVER_ALLOWED_HOSTS", "MLflow would refuse (403) the trading stacks, which reach it through the proxy at http://%s:8080/mlflow", entryService)
	}
	r.checkBindAddress()
	r.checkTLS()
	if u, err := url.Parse(r.Env["MLFLOW_S3_ENDPOINT_URL"]); err == nil && u.Host != "" {
		r.checkEndpoint("mlflow", r.EnvPath, fmt.Sprint(r.EnvFile.LineOf("MLFLOW_S3_ENDPOINT_URL")), "MLFLOW_S3_ENDPOINT_URL", u.Hostname(), u.Port(), true)
	} else {
		r.f.Errorf("s3-endpoint", r.EnvPath, fmt.Sprint(r.EnvFile.LineOf("MLFLOW_S3_ENDPOINT_URL")), "set MLFLOW_S3_ENDPOINT_URL=http://minio:9000 or the URL of another S3 service", "MLFLOW_S3_ENDPOINT_URL=%q is not a URL", r.Env["MLFLOW_S3_ENDPOINT_URL"])
	}
}

// checkEndpoint verifies that host:port names a compose service (or alias,
// or an external service of a sibling stack) listening on port, on a
// network the calling service client is on too. Hosts with a dot are taken
// as outside services when allowOutside is set.
func (r *Repo) checkEndpoint(client, file, pos, what, host, port string, allowOutside bool) {
	if r.Project == nil {
		return
	}
	if allowOutside && strings.Contains(host, ".") {
		return
	}
	if host == "localhost" || host == "127.0.0.1" {
		return // the caller decides whether loopback is right
	}
	if s, ok := r.serviceByHost(host); ok {
		if port != "" && !slices.Contains(ports(s), port) {
			r.f.Errorf("cross-reference", file, pos, fmt.Sprintf("use one of %v, or add the port to services.%s.expose", ports(s), s.Name), "%s: service %s does not listen on port %s", what, s.Name, port)
		}
		r.checkReach(client, s.Name, file, pos, what)
		r.checkListens(client, host, s, file, pos, what)
		return
	}
	if ext, ok := r.External[host]; ok {
		r.checkReach(client, "", file, pos, what)
		if port != "" && !slices.Contains(ext, port) {
			r.f.Errorf("cross-reference", file, pos, fmt.Sprintf("use one of %v, or document the port in x-external-services of compose.yaml", ext), "%s: external service %s is not known to listen on port %s", what, host, port)
		}
		return
	}
	r.f.Errorf("cross-reference", file, pos, "name a service of compose.yaml (or one listed in x-external-services)", "%s: %q is not a service of compose.yaml nor of a sibling stack", what, host)
}

// checkReach requires client and server (a service of compose.yaml, or ""
// for a sibling stack's, on hft_network) to share a network: the network
// rule decides who can talk to whom, and a config that needs more is an
// error here rather than a "no such host" after `up`.
func (r *Repo) checkReach(client, server, file, pos, what string) {
	c, ok := r.service(client)
	if !ok {
		return
	}
	var want []string
	if server == "" {
		want = []string{sharedNet}
	} else if s, ok := r.service(server); ok {
		for n := range s.Networks {
			want = append(want, n)
		}
	}
	for _, n := range want {
		if _, ok := c.Networks[n]; ok {
			return
		}
	}
	name := server
	if name == "" {
		name = "a sibling stack's service"
	}
	slices.Sort(want)
	r.f.Errorf("cross-reference", file, pos, fmt.Sprintf("put %s on one of %v (within the network rule at the top of compose.yaml), or name a service it can reach", client, want), "%s: %s cannot reach %s: they share no network", what, client, name)
}

// checkListens refuses a name that resolves, for client, to an address the
// server does not listen on: a Prometheus that listens only on its
// internal alias (listensInternalOnly) is unreachable by its service name
// from a client that also shares hft_network with it, since Docker's DNS
// answers that name with the address on either network.
func (r *Repo) checkListens(client, host string, s types.ServiceConfig, file, pos, what string) {
	c, ok := r.service(client)
	if !ok || !listensInternalOnly(s) {
		return
	}
	_, clientShared := c.Networks[sharedNet]
	_, serverShared := s.Networks[sharedNet]
	if !clientShared || !serverShared {
		return
	}
	var aliases []string
	if n := s.Networks[internalNet]; n != nil {
		aliases = n.Aliases
	}
	if slices.Contains(aliases, host) {
		return
	}
	r.f.Errorf("cross-reference", file, pos, fmt.Sprintf("name it by its internal alias (%s)", strings.Join(aliases, ", ")), "%s: %s is on %s with %s, where the name %s also resolves to an address %s does not listen on", what, client, sharedNet, s.Name, host, s.Name)
}

// checkBindAddress warns when the proxy is published beyond loopback: it
// speaks plain HTTP, so its basic-auth password (and the UIs' logins)
// cross the network readable by anyone on the path. Binding wider stays a
// deliberate choice of .env; the warning stays until TLS is configured.
func (r *Repo) checkBindAddress() {
	if r.EnvFile == nil {
		return
	}
	v := r.Env["OPS_BIND_ADDRESS"]
	line := fmt.Sprint(r.EnvFile.LineOf("OPS_BIND_ADDRESS"))
	ip := net.ParseIP(v)
	switch {
	case v == "":
		r.f.Warnf("bind-address", r.EnvPath, line, "set OPS_BIND_ADDRESS=127.0.0.1 unless other machines must reach the UIs", "OPS_BIND_ADDRESS is empty: the proxy is published on all interfaces over plain HTTP, so the basic-auth password crosses the network in clear text until TLS is configured")
	case ip == nil:
		r.f.Errorf("bind-address", r.EnvPath, line, "set OPS_BIND_ADDRESS to an IP address of this host (127.0.0.1 = this machine only)", "OPS_BIND_ADDRESS=%q is not an IP address; Docker publishes ports on IP addresses only", v)
	case !ip.IsLoopback():
		where := "the interface " + v
		if ip.IsUnspecified() {
			where = "all interfaces"
		}
		r.f.Warnf("bind-address", r.EnvPath, line, "set OPS_BIND_ADDRESS=127.0.0.1 unless other machines must reach the UIs (then keep it on a trusted network until TLS is configured)", "OPS_BIND_ADDRESS=%s publishes the proxy on %s over plain HTTP: the basic-auth password crosses the network in clear text until TLS is configured", v, where)
	}
}

func (r *Repo) checkSecrets() {
	if r.Example == nil {
		return
	}
	for _, spec := range secrets.Specs {
		v, ok := r.Example.Get(spec.Key)
		if !ok {
			r.f.Errorf("secrets", ".env.example", "", fmt.Sprintf("add `%s=` with a comment", spec.Key), "secret %s is missing from .env.example", spec.Key)
			continue
		}
		if v != "" {
			r.f.Errorf("secrets", ".env.example", fmt.Sprint(r.Example.LineOf(spec.Key)), fmt.Sprintf("leave %s empty in .env.example; opsctl init generates it into .env", spec.Key), "%s has a value in .env.example, which is committed", spec.Key)
		}
	}
	if r.EnvPath == ".env.example" || r.EnvFile == nil {
		return
	}
	for _, spec := range secrets.Specs {
		v, ok := r.EnvFile.Get(spec.Key)
		if !ok {
			r.f.Errorf("secrets", r.EnvPath, "", "run `opsctl init` to add it", "secret %s is missing", spec.Key)
			continue
		}
		if w := secrets.Weakness(spec, v); w != "" {
			fix := fmt.Sprintf("empty it and run `opsctl init` to generate a strong %s", spec.Key)
			if spec.Optional {
				fix = fmt.Sprintf("set the real %s, or leave it empty", spec.Key)
			}
			r.f.Errorf("secrets", r.EnvPath, fmt.Sprint(r.EnvFile.LineOf(spec.Key)), fix, "%s %s", spec.Key, w)
		}
	}
	// The demo profile starts its own TimescaleDB (service timescaledb),
	// which refuses to start without a password.
	if demoEnabled(r.Env["COMPOSE_PROFILES"]) || demoEnabled(os.Getenv("COMPOSE_PROFILES")) {
		if s, ok := r.service("timescaledb"); ok && slices.Contains(s.Profiles, "demo") && r.Env["TIMESCALEDB_PASSWORD"] == "" {
			r.f.Errorf("secrets", r.EnvPath, fmt.Sprint(r.EnvFile.LineOf("TIMESCALEDB_PASSWORD")), "set TIMESCALEDB_PASSWORD (16+ characters) in .env: the demo's database takes it as its owner's password", "the demo profile is enabled and TIMESCALEDB_PASSWORD is empty: the demo's TimescaleDB would not start, and hftsim could not write")
		}
	}
	for _, k := range []string{"GRAFANA_ADMIN_USER", "SUPERSET_ADMIN_USER", "SEAWEEDFS_ADMIN_USER", "PROXY_BASIC_AUTH_USER"} {
		if v := r.Env[k]; v == "" {
			r.f.Errorf("secrets", r.EnvPath, fmt.Sprint(r.EnvFile.LineOf(k)), "set a user name", "%s is empty", k)
		}
	}
}

// demoEnabled reports whether COMPOSE_PROFILES enables the demo profile.
func demoEnabled(profiles string) bool { return profileEnabled(profiles, "demo") }

// profileEnabled reports whether COMPOSE_PROFILES enables the profile.
func profileEnabled(profiles, profile string) bool {
	for _, p := range strings.Split(profiles, ",") {
		if p = strings.TrimSpace(p); p == profile || p == "*" {
			return true
		}
	}
	return false
}

// checkTLS: with the tls profile enabled, the settings acme and tls-proxy
// take (acme.FromEnv's own errors), and the public host and URL the UIs
// build links from naming the certificate's domain over https.
func (r *Repo) checkTLS() {
	if r.EnvFile == nil || !(profileEnabled(r.Env["COMPOSE_PROFILES"], "tls") || profileEnabled(os.Getenv("COMPOSE_PROFILES"), "tls")) {
		return
	}
	line := func(k string) string { return fmt.Sprint(r.EnvFile.LineOf(k)) }
	cfg, err := acme.FromEnv(func(k string) string { return r.Env[k] })
	if err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			se := &acme.SettingError{Msg: e.Error()}
			errors.As(e, &se)
			r.f.Errorf("tls", r.EnvPath, line(se.Key), "fix "+se.Key+" in .env (README: TLS)", "the tls profile is enabled: %s", se.Msg)
		}
		return
	}
	domain := cfg.Domains[0]
	if h := r.Env["OPS_PUBLIC_HOST"]; h != domain {
		r.f.Errorf("tls", r.EnvPath, line("OPS_PUBLIC_HOST"), "set OPS_PUBLIC_HOST="+domain, "OPS_PUBLIC_HOST=%s, but the certificate is for %s: MLflow refuses the Host header browsers send", h, domain)
	}
	want := "https://" + domain
	if port := r.Env["OPS_TLS_HTTPS_PORT"]; port != "" && port != "443" {
		want += ":" + port
	}
	if u := r.Env["OPS_PUBLIC_URL"]; u != want {
		r.f.Errorf("tls", r.EnvPath, line("OPS_PUBLIC_URL"), "set OPS_PUBLIC_URL="+want, "OPS_PUBLIC_URL=%s: with the tls profile the UIs are reached at %s, and build their links and redirects from this", u, want)
	}
	for _, k := range []string{"OPS_TLS_HTTP_PORT", "OPS_TLS_HTTPS_PORT"} {
		if p, err := strconv.Atoi(r.Env[k]); err != nil || p < 1 || p > 65535 {
			r.f.Errorf("tls", r.EnvPath, line(k), "set "+k+" to a port number (80 and 443 for Let's Encrypt)", "%s=%q is not a port", k, r.Env[k])
		}
	}
	if ip := net.ParseIP(r.Env["OPS_TLS_BIND_ADDRESS"]); ip == nil {
		r.f.Errorf("tls", r.EnvPath, line("OPS_TLS_BIND_ADDRESS"), "set OPS_TLS_BIND_ADDRESS=0.0.0.0 (every interface) or one address of this host", "OPS_TLS_BIND_ADDRESS=%q is not an IP address", r.Env["OPS_TLS_BIND_ADDRESS"])
	}
}
