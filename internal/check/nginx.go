package check

import (
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/okx-hft/okx-hft-ops/internal/nginxconf"
)

const nginxFile = "nginx/nginx.conf"

// nginxErrLine finds the line `nginx -t` names in the file it tested
// (nginx.conf, docker-socket-proxy.conf).
var nginxErrLine = regexp.MustCompile(`\.conf:(\d+)`)

func (r *Repo) checkNginx() {
	data, ok := r.read(nginxFile)
	if !ok {
		return
	}
	ds, err := nginxconf.Parse(string(data))
	if err != nil {
		se, _ := err.(*nginxconf.SyntaxError)
		pos := ""
		if se != nil {
			pos = fmt.Sprint(se.Line)
		}
		r.f.Errorf("nginx", nginxFile, pos, "fix the braces and semicolons", "%v", err)
		return
	}
	for _, e := range nginxconf.Validate(ds) {
		r.f.Errorf("nginx", nginxFile, fmt.Sprint(e.Line), "give the directive the arguments nginx expects (see https://nginx.org/en/docs/dirindex.html)", "%s", e.Msg)
	}
	// Defects of the whole proxy are reported at the block they belong in.
	serverLine := "1"
	if srv := nginxconf.Find(ds, "server"); len(srv) > 0 {
		serverLine = fmt.Sprint(srv[0].Line)
	}
	if len(nginxconf.Find(ds, "resolver")) == 0 {
		httpLine := serverLine
		if h := nginxconf.Find(ds, "http"); len(h) > 0 {
			httpLine = fmt.Sprint(h[0].Line)
		}
		r.f.Errorf("nginx", nginxFile, httpLine, "add `resolver 127.0.0.11 valid=10s;` in the http block", "no resolver: upstream names cannot be resolved at request time")
	}
	authFiles := map[string]int{} // path → first line naming it
	for _, f := range nginxconf.Find(ds, "auth_basic_user_file") {
		if _, seen := authFiles[f.Arg(0)]; f.Arg(0) != "" && !seen {
			authFiles[f.Arg(0)] = f.Line
		}
	}
	for _, loc := range nginxconf.Find(ds, "location") {
		pp := loc.Child("proxy_pass")
		if pp == nil || len(pp.Args) != 1 {
			continue
		}
		target := strings.TrimPrefix(strings.TrimPrefix(pp.Args[0], "http://"), "https://")
		if !strings.Contains(target, "$") {
			r.f.Errorf("nginx", nginxFile, fmt.Sprint(pp.Line), "`set $upstream host:port;` then `proxy_pass http://$upstream;`", "proxy_pass %s is resolved once at start: nginx will not start while that upstream is down", pp.Args[0])
			r.checkProxyTarget(pp.Line, target)
			continue
		}
		name := strings.TrimPrefix(strings.SplitN(target, "/", 2)[0], "$")
		for _, set := range loc.Block {
			if set.Name == "set" && len(set.Args) == 2 && set.Args[0] == "$"+name {
				r.checkProxyTarget(set.Line, set.Args[1])
			}
		}
	}
	if r.Project != nil {
		if s, ok := r.service(entryService); ok {
			for f, line := range authFiles {
				mounted := false
				for _, v := range s.Volumes {
					mounted = mounted || v.Target == f
				}
				if !mounted {
					r.f.Errorf("nginx", nginxFile, fmt.Sprint(line), "mount ./secrets/htpasswd at "+f+" in the reverse-proxy service", "auth_basic_user_file %s is not mounted into the proxy", f)
				}
			}
		}
	}
	servers := nginxconf.Find(ds, "server")
	// The UIs the proxy must serve: each service's x-ops.ui.
	for _, d := range r.Decls.UIs() {
		ui, svc := d.UI, d.Name
		loc := prefixLocation(ds, ui.Path)
		if loc == nil {
			r.f.Errorf("nginx", nginxFile, serverLine, fmt.Sprintf("add `location %s` proxying to %s", ui.Path, svc), "the proxy does not serve %s", ui.Path)
			continue
		}
		if up := locationUpstream(loc); up != "" {
			host, _, _ := net.SplitHostPort(up)
			// An alias names its service; without a loaded compose.yaml
			// (its own finding) aliases are unknown, so only names compare.
			if s, ok := r.serviceByHost(host); host != svc && r.Project != nil && (!ok || s.Name != svc) {
				r.f.Errorf("nginx", nginxFile, fmt.Sprint(loc.Line), fmt.Sprintf("proxy %s to %s", ui.Path, svc), "%s proxies to %s, not %s", ui.Path, host, svc)
			}
		}
		if ui.Login.Proxy && !asksLogin(loc) {
			r.f.Errorf("nginx", nginxFile, fmt.Sprint(loc.Line), "add auth_basic and auth_basic_user_file /etc/nginx/htpasswd", "%s has no login of its own and the proxy does not ask for one", ui.Path)
		}
		if prefix := r.servicePrefix(svc); prefix != "" && prefix+"/" != ui.Path {
			r.f.Errorf("nginx", nginxFile, fmt.Sprint(loc.Line), fmt.Sprintf("serve %s under %s/ or change its prefix in compose.yaml", svc, prefix), "%s serves under %s but the proxy location is %s", svc, prefix, ui.Path)
		}
		// Paths the service answers without its login (x-ops.ui.private).
		for _, private := range ui.PrivatePaths() {
			for _, srv := range servers {
				if m := MatchLocation(srv, private); m != nil && proxies(m) && !asksLogin(m) {
					r.f.Errorf("nginx", nginxFile, fmt.Sprint(m.Line), fmt.Sprintf("add `location = %s { return 404; }` before location %s; Prometheus scrapes %s inside the network", private, ui.Path, svc), "%s is served without a login through location %s: it gives away %s", private, strings.Join(m.Args, " "), ui.Private[private])
				}
			}
		}
	}
	r.checkUndeclaredUpstreams(ds)
	if loc := prefixLocation(ds, "/grafana/api/live/"); loc == nil || !setsUpgrade(loc) {
		pos := serverLine
		if loc != nil {
			pos = fmt.Sprint(loc.Line)
		} else if g := prefixLocation(ds, "/grafana/"); g != nil {
			pos = fmt.Sprint(g.Line)
		}
		r.f.Errorf("nginx", nginxFile, pos, "add `location /grafana/api/live/` with proxy_set_header Upgrade and Connection", "Grafana Live websockets are not upgraded")
	}
	if loc := exactLocation(ds, "/"); loc == nil || !asksLogin(loc) {
		pos := serverLine
		if loc != nil {
			pos = fmt.Sprint(loc.Line)
		}
		r.f.Errorf("nginx", nginxFile, pos, "add `location = /` serving the landing page behind basic auth", "no protected landing page at /")
	}
}

// prefixLocation finds `location PATH` or `location ^~ PATH`.
func prefixLocation(ds []*nginxconf.Directive, path string) *nginxconf.Directive {
	for _, loc := range nginxconf.Find(ds, "location") {
		if (len(loc.Args) == 1 && loc.Args[0] == path) || (len(loc.Args) == 2 && loc.Args[0] == "^~" && loc.Args[1] == path) {
			return loc
		}
	}
	return nil
}

// exactLocation finds `location = PATH`.
func exactLocation(ds []*nginxconf.Directive, path string) *nginxconf.Directive {
	for _, loc := range nginxconf.Find(ds, "location") {
		if len(loc.Args) == 2 && loc.Args[0] == "=" && loc.Args[1] == path {
			return loc
		}
	}
	return nil
}

// MatchLocation picks the location of a server block that nginx uses for
// uri, in nginx's order (https://nginx.org/en/docs/http/ngx_http_core_module.html#location):
// an exact match; else the longest prefix, kept when it has ^~; else the
// first regular expression that matches, in file order; else that prefix.
// Named locations (@name) and nested locations are not considered.
func MatchLocation(server *nginxconf.Directive, uri string) *nginxconf.Directive {
	var best *nginxconf.Directive
	bestLen, bestStop := -1, false
	var regexes []*nginxconf.Directive
	for _, loc := range server.Block {
		if loc.Name != "location" {
			continue
		}
		mod, path := "", loc.Arg(0)
		if len(loc.Args) == 2 {
			mod, path = loc.Arg(0), loc.Arg(1)
		}
		switch mod {
		case "=":
			if path == uri {
				return loc
			}
		case "", "^~":
			if strings.HasPrefix(path, "@") || !strings.HasPrefix(uri, path) || len(path) <= bestLen {
				continue
			}
			best, bestLen, bestStop = loc, len(path), mod == "^~"
		case "~", "~*":
			regexes = append(regexes, loc)
		}
	}
	if best != nil && bestStop {
		return best
	}
	for _, loc := range regexes {
		expr := loc.Arg(1)
		if loc.Arg(0) == "~*" {
			expr = "(?i)" + expr
		}
		if re, err := regexp.Compile(expr); err == nil && re.MatchString(uri) {
			return loc
		}
	}
	return best
}

// asksLogin reports whether basic auth is in force in loc: the nearest
// auth_basic in the location or the blocks around it (nginx inherits it
// from server and http), and not "off".
func asksLogin(loc *nginxconf.Directive) bool {
	for d := loc; d != nil; d = d.Parent {
		if a := d.Child("auth_basic"); a != nil {
			return a.Arg(0) != "off" && a.Arg(0) != ""
		}
	}
	return false
}

// proxies reports whether a request that lands in loc reaches an upstream:
// it has a proxy_pass and neither answers itself (return) nor refuses
// everyone (deny all).
func proxies(loc *nginxconf.Directive) bool {
	if len(nginxconf.Find(loc.Block, "proxy_pass")) == 0 {
		return false
	}
	for _, d := range loc.Block {
		if d.Name == "return" || (d.Name == "deny" && d.Arg(0) == "all") {
			return false
		}
	}
	return true
}

func setsUpgrade(loc *nginxconf.Directive) bool {
	for _, d := range loc.Block {
		if d.Name == "proxy_set_header" && len(d.Args) == 2 && strings.EqualFold(d.Args[0], "Upgrade") {
			return true
		}
	}
	return false
}

func locationUpstream(loc *nginxconf.Directive) string {
	for _, d := range loc.Block {
		if d.Name == "set" && len(d.Args) == 2 && strings.HasSuffix(d.Args[0], "_upstream") {
			return d.Args[1]
		}
	}
	return ""
}

func (r *Repo) checkProxyTarget(line int, hostport string) {
	hostport = strings.SplitN(hostport, "/", 2)[0]
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		r.f.Errorf("nginx", nginxFile, fmt.Sprint(line), "write the upstream as service:port", "upstream %q has no port", hostport)
		return
	}
	r.checkEndpoint(entryService, nginxFile, fmt.Sprint(line), "proxy upstream", host, port, false)
}

// servicePrefix is the path a service serves under, from its own settings
// in compose.yaml.
func (r *Repo) servicePrefix(service string) string {
	s, ok := r.service(service)
	if !ok {
		return ""
	}
	switch service {
	case "prometheus", "alertmanager", "grafana":
		return r.routePrefix(service)
	case "mlflow":
		for _, a := range s.Command {
			if v, ok := strings.CutPrefix(a, "--static-prefix="); ok {
				return strings.TrimSuffix(v, "/")
			}
		}
	case "superset":
		if v := s.Environment["SUPERSET_APP_ROOT"]; v != nil {
			return strings.TrimSuffix(*v, "/")
		}
	case "seaweedfs-admin":
		for _, a := range s.Command {
			if v, ok := strings.CutPrefix(a, "-urlPrefix="); ok {
				return strings.TrimSuffix(v, "/")
			}
		}
	}
	return ""
}

// checkUndeclaredUpstreams refuses a location that proxies to a service
// whose x-ops declares no UI under that path: the declaration is where a
// UI is added, and doctor, the landing page and the READMEs follow it.
func (r *Repo) checkUndeclaredUpstreams(ds []*nginxconf.Directive) {
	if r.Decls == nil {
		return
	}
	for _, loc := range nginxconf.Find(ds, "location") {
		up := locationUpstream(loc)
		if up == "" {
			continue
		}
		host, _, _ := net.SplitHostPort(up)
		if host == "" {
			host = up
		}
		path := loc.Arg(len(loc.Args) - 1)
		if s, ok := r.serviceByHost(host); ok {
			host = s.Name // an alias (prometheus-internal) is its service
		}
		d, ours := r.Decls.Lookup(host)
		if !ours || d.Sibling != "" {
			continue // a sibling stack's service: not declared here
		}
		if d.UI == nil {
			r.f.Errorf("nginx", nginxFile, fmt.Sprint(loc.Line), fmt.Sprintf("declare `x-ops: {ui: {path: %s, ...}}` on service %s in compose.yaml", path, host), "location %s proxies to %s, whose x-ops declares no UI", path, host)
			continue
		}
		if !strings.HasPrefix(path, d.UI.Path) {
			r.f.Errorf("nginx", nginxFile, fmt.Sprint(loc.Line), fmt.Sprintf("serve %s under %s, its x-ops.ui.path", host, d.UI.Path), "location %s proxies to %s, whose UI is declared under %s", path, host, d.UI.Path)
		}
	}
}
