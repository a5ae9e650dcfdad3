package check

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/okx-hft/okx-hft-ops/internal/nginxconf"
)

const nginxFile = "nginx/nginx.conf"

// NginxTester runs `nginx -t` on a configuration file.
type NginxTester func(ctx context.Context, confPath string) (output string, passed bool, err error)

// ProxyRoute is a path the proxy must serve, the service behind it and
// whether the proxy must ask for credentials (the UI has no login).
type ProxyRoute struct {
	Path      string
	Service   string
	BasicAuth bool
}

// ProxyRoutes are the UIs of the node behind the proxy.
var ProxyRoutes = []ProxyRoute{
	{"/grafana/", "grafana", false},
	{"/prometheus/", "prometheus", true},
	{"/alertmanager/", "alertmanager", true},
	{"/mlflow/", "mlflow", true},
	{"/superset/", "superset", false},
	{"/storage/", "seaweedfs-admin", false},
}

var nginxErrLine = regexp.MustCompile(`nginx\.conf:(\d+)`)

func (r *Repo) checkNginx(ctx context.Context, tester NginxTester) {
	data, ok := r.read(nginxFile)
	if !ok {
		return
	}
	if tester == nil {
		r.f.Warnf("nginx", nginxFile, "", "install nginx (apt-get install nginx-light) to let opsctl run `nginx -t`", "nginx is not installed: syntax not checked by nginx itself")
	} else {
		out, passed, err := tester(ctx, r.path(nginxFile))
		switch {
		case err != nil:
			r.f.Warnf("nginx", nginxFile, "", "check that nginx runs", "`nginx -t` could not run: %v", err)
		case !passed:
			pos := ""
			if m := nginxErrLine.FindStringSubmatch(out); m != nil {
				pos = m[1]
			}
			r.f.Errorf("nginx", nginxFile, pos, "fix the directive nginx names", "`nginx -t` fails: %s", strings.TrimSpace(out))
		}
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
	if len(nginxconf.Find(ds, "resolver")) == 0 {
		r.f.Errorf("nginx", nginxFile, "", "add `resolver 127.0.0.11 valid=10s;` in the http block", "no resolver: upstream names cannot be resolved at request time")
	}
	authFiles := map[string]bool{}
	locations := map[string]*nginxconf.Directive{}
	for _, loc := range nginxconf.Find(ds, "location") {
		locations[strings.Join(loc.Args, " ")] = loc
		if f := loc.Child("auth_basic_user_file"); f != nil && len(f.Args) == 1 {
			authFiles[f.Args[0]] = true
		}
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
			for f := range authFiles {
				mounted := false
				for _, v := range s.Volumes {
					mounted = mounted || v.Target == f
				}
				if !mounted {
					r.f.Errorf("nginx", nginxFile, "", "mount ./secrets/htpasswd at "+f+" in the reverse-proxy service", "auth_basic_user_file %s is not mounted into the proxy", f)
				}
			}
		}
	}
	for _, route := range ProxyRoutes {
		loc, ok := locations[route.Path]
		if !ok {
			r.f.Errorf("nginx", nginxFile, "", fmt.Sprintf("add `location %s` proxying to %s", route.Path, route.Service), "the proxy does not serve %s", route.Path)
			continue
		}
		if up := locationUpstream(loc); up != "" {
			host, _, _ := net.SplitHostPort(up)
			if host != route.Service {
				r.f.Errorf("nginx", nginxFile, fmt.Sprint(loc.Line), fmt.Sprintf("proxy %s to %s", route.Path, route.Service), "%s proxies to %s, not %s", route.Path, host, route.Service)
			}
		}
		hasAuth := loc.Child("auth_basic") != nil && loc.Child("auth_basic").Args[0] != "off"
		if route.BasicAuth && !hasAuth {
			r.f.Errorf("nginx", nginxFile, fmt.Sprint(loc.Line), "add auth_basic and auth_basic_user_file /etc/nginx/htpasswd", "%s has no login of its own and the proxy does not ask for one", route.Path)
		}
		if prefix := r.servicePrefix(route.Service); prefix != "" && prefix+"/" != route.Path {
			r.f.Errorf("nginx", nginxFile, fmt.Sprint(loc.Line), fmt.Sprintf("serve %s under %s/ or change its prefix in compose.yaml", route.Service, prefix), "%s serves under %s but the proxy location is %s", route.Service, prefix, route.Path)
		}
	}
	if loc, ok := locations["/grafana/api/live/"]; !ok || !setsUpgrade(loc) {
		r.f.Errorf("nginx", nginxFile, "", "add `location /grafana/api/live/` with proxy_set_header Upgrade and Connection", "Grafana Live websockets are not upgraded")
	}
	if loc, ok := locations["= /"]; !ok || loc.Child("auth_basic") == nil {
		r.f.Errorf("nginx", nginxFile, "", "add `location = /` serving the landing page behind basic auth", "no protected landing page at /")
	}
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
	r.checkEndpoint(nginxFile, fmt.Sprint(line), "proxy upstream", host, port, false)
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
