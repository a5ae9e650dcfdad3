// Package opsdecl reads the one declaration of each service's role in the
// node: the `x-ops` extension next to the service in compose.yaml. The UI
// path and its login, the state that must survive the container, and why
// a service joins hft_network are written there once; `opsctl check`,
// `opsctl doctor`, `opsctl init` and the stack test derive from it, or
// check against it, everything else (nginx.conf, the landing page, the
// README, the network rule).
//
// It reads compose.yaml as YAML, not through compose-go, so that doctor and
// init need no .env interpolation and every problem has its line: x-ops
// values hold no variables. Merge keys (`<<: *anchor`) are followed, as
// Compose follows them.
package opsdecl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// File is where the declarations live, relative to the repository root,
// with the files it includes (Files).
const File = "compose.yaml"

// Service is one service's declaration. A service without x-ops has a
// zero Service (no UI, no state, internal network only).
type Service struct {
	Name string
	File string // the compose file that defines it, relative to the repository root
	Line int    // of the service's key in File
	// UI is the service's web UI behind the proxy, nil for none.
	UI *UI
	// State lists the container paths that hold state: each must be a
	// named volume, so `docker compose down` keeps it.
	State []string
	// HFTNetwork says why the service also joins hft_network and what
	// guards what it serves there; nil: the internal network only.
	HFTNetwork *Shared
	// Sibling names the sibling repository a demo service stands in for
	// (hftsim as okx-hft-collector): such a service is on hft_network
	// only, as the real one is.
	Sibling string
}

// UI is a web UI served by the proxy under Path.
type UI struct {
	Path  string // the proxy location, also the service's own prefix: /grafana/
	Open  string // the landing page's link (default Path): /storage/admin
	Probe string // what doctor fetches: 401 without the proxy's login, or the UI's login page
	Title string // the landing page's name for it
	About string // one line on the landing page
	Login Login
	// Private maps paths under Path that the service answers without a
	// login and the proxy must not serve to what they give away.
	Private map[string]string
}

// Login is who guards a UI: the proxy's basic auth, or the UI's own login
// whose user and password are the named keys of .env.
type Login struct {
	Proxy          bool
	User, Password string
}

// Shared is a service's reason to be on hft_network.
type Shared struct {
	Why   string // what it reaches or serves there
	Guard string // the credential on what it serves there
}

// Problem is a declaration that cannot be used, at its line.
type Problem struct {
	Service string
	File    string
	Line    int
	Msg     string
	Fix     string
}

func (p Problem) Error() string {
	file := p.File
	if file == "" {
		file = File
	}
	return fmt.Sprintf("%s:%d: service %s: %s (%s)", file, p.Line, p.Service, p.Msg, p.Fix)
}

// Decls are the declarations of every service, in compose.yaml's order.
type Decls []Service

// Get returns the declaration of the named service (zero when it has none).
func (d Decls) Get(name string) Service {
	s, _ := d.Lookup(name)
	return s
}

// Lookup returns the declaration of the named service and whether
// compose.yaml has such a service.
func (d Decls) Lookup(name string) (Service, bool) {
	for _, s := range d {
		if s.Name == name {
			return s, true
		}
	}
	return Service{Name: name}, false
}

// UIs are the services with a UI, in compose.yaml's order.
func (d Decls) UIs() []Service {
	var out []Service
	for _, s := range d {
		if s.UI != nil {
			out = append(out, s)
		}
	}
	return out
}

// Load reads the declarations of the repository at dir: compose.yaml's
// services and those of the files it includes.
func Load(dir string) (Decls, error) {
	return LoadFile(dir, File)
}

// LoadFile reads the declarations of one compose file of the repository at
// dir (relative to dir) and of the files it includes.
func LoadFile(dir, file string) (Decls, error) {
	srcs, incErrs, err := Sources(dir, file)
	if err != nil {
		return nil, err
	}
	var out Decls
	var msgs []string
	for _, e := range incErrs {
		msgs = append(msgs, e.Error())
	}
	for _, src := range srcs {
		d, problems := ParseFile(src.File, src.Data)
		for _, p := range problems {
			msgs = append(msgs, p.Error())
		}
		out = append(out, d...)
	}
	if len(msgs) > 0 {
		return nil, fmt.Errorf("%s; run opsctl check", strings.Join(msgs, "; "))
	}
	return out, nil
}

// Source is one compose file of the node and its content.
type Source struct {
	File string // relative to the repository root
	Data []byte
}

// ErrIncludedTwice is the IncludeError of a file reached a second time:
// an include cycle.
var ErrIncludedTwice = errors.New("included twice (an include cycle)")

// IncludeError is an include that cannot be followed: the file it names
// cannot be read, or was reached before (ErrIncludedTwice).
type IncludeError struct {
	From string // the including file, relative to the repository root
	Path string // the include as From writes it
	File string // the file it names, relative to the repository root
	Err  error
}

func (e IncludeError) Error() string {
	return fmt.Sprintf("%s: include %s: %v", e.From, e.Path, e.Err)
}

// Sources reads file (relative to dir) and, depth first, the compose
// files it includes, each relative to dir; an include outside the
// repository (absolute, or a URL) is not followed. Only a file that
// cannot be read itself is an error; an include that cannot be followed
// is an IncludeError, and the walk goes on. A file that is not YAML
// includes nothing (compose-go reports it).
func Sources(dir, file string) ([]Source, []IncludeError, error) {
	file = filepath.ToSlash(filepath.Clean(file))
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, nil, err
	}
	srcs := []Source{{File: file, Data: data}}
	var incErrs []IncludeError
	var walk func(from Source)
	walk = func(from Source) {
		for _, inc := range Includes(from.Data) {
			if filepath.IsAbs(inc) || strings.Contains(inc, "://") {
				continue // outside the repository: not this node's declarations
			}
			child := filepath.ToSlash(filepath.Join(filepath.Dir(from.File), inc))
			if slices.ContainsFunc(srcs, func(s Source) bool { return s.File == child }) {
				incErrs = append(incErrs, IncludeError{From: from.File, Path: inc, File: child, Err: ErrIncludedTwice})
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, child))
			if err != nil {
				incErrs = append(incErrs, IncludeError{From: from.File, Path: inc, File: child, Err: err})
				continue
			}
			src := Source{File: child, Data: data}
			srcs = append(srcs, src)
			walk(src)
		}
	}
	walk(srcs[0])
	return srcs, incErrs, nil
}

// Includes lists the paths a compose file's top-level `include` names, as
// written (relative to the file's folder): the short form (a string) and
// the long one (path: a string or a list, the first being the file).
func Includes(data []byte) []string {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	inc := value(doc.Content[0], "include")
	if inc == nil || inc.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, e := range inc.Content {
		switch e.Kind {
		case yaml.ScalarNode:
			out = append(out, e.Value)
		case yaml.MappingNode:
			p := value(e, "path")
			switch {
			case p == nil:
			case p.Kind == yaml.ScalarNode:
				out = append(out, p.Value)
			case p.Kind == yaml.SequenceNode && len(p.Content) > 0:
				out = append(out, p.Content[0].Value)
			}
		}
	}
	return out
}

// ParseFile is Parse of the compose file named file (for the File of each
// declaration and problem).
func ParseFile(file string, data []byte) (Decls, []Problem) {
	d, problems := Parse(data)
	for i := range d {
		d[i].File = file
	}
	for i := range problems {
		problems[i].File = file
	}
	return d, problems
}

// Parse reads the declarations from compose.yaml's content. A file that is
// not YAML yields no declarations and no problem: compose-go reports it.
func Parse(data []byte) (Decls, []Problem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil, nil
	}
	services := value(doc.Content[0], "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return nil, nil
	}
	var out Decls
	var problems []Problem
	for i := 0; i+1 < len(services.Content); i += 2 {
		name, body := services.Content[i].Value, services.Content[i+1]
		p := &parser{name: name}
		s := Service{Name: name, Line: services.Content[i].Line}
		if x := value(body, "x-ops"); x != nil {
			p.decl(&s, x)
		}
		out = append(out, s)
		problems = append(problems, p.problems...)
	}
	return out, problems
}

// value is the value of key in mapping n, following merge keys the way
// YAML (and Compose) does: an own key wins over a merged one.
func value(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == key && k.Tag != "!!merge" {
			return v
		}
		if k.Tag == "!!merge" || k.Value == "<<" {
			switch v.Kind {
			case yaml.AliasNode:
				merged = append(merged, v.Alias)
			case yaml.SequenceNode:
				for _, a := range v.Content {
					if a.Kind == yaml.AliasNode {
						merged = append(merged, a.Alias)
					}
				}
			case yaml.MappingNode:
				merged = append(merged, v)
			}
		}
	}
	for _, m := range merged {
		if v := value(m, key); v != nil {
			return v
		}
	}
	return nil
}

type parser struct {
	name     string
	problems []Problem
}

func (p *parser) errorf(n *yaml.Node, fix, format string, args ...any) {
	p.problems = append(p.problems, Problem{Service: p.name, Line: n.Line, Msg: fmt.Sprintf(format, args...), Fix: fix})
}

// fields checks that mapping n (at key path) has only the allowed keys and
// returns its values by key.
func (p *parser) fields(n *yaml.Node, path string, allowed ...string) map[string]*yaml.Node {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "write "+path+" as a mapping of "+strings.Join(allowed, ", "), "%s is not a mapping", path)
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ok := false
		for _, a := range allowed {
			ok = ok || k.Value == a
		}
		if !ok {
			p.errorf(k, "use one of: "+strings.Join(allowed, ", "), "unknown key %s.%s", path, k.Value)
			continue
		}
		out[k.Value] = n.Content[i+1]
	}
	return out
}

func (p *parser) text(n *yaml.Node, path string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "give "+path+" a text value", "%s is not a text", path)
		return ""
	}
	if strings.TrimSpace(n.Value) == "" {
		p.errorf(n, "give "+path+" a text value", "%s is empty", path)
	}
	return n.Value
}

func (p *parser) decl(s *Service, x *yaml.Node) {
	f := p.fields(x, "x-ops", "ui", "state", "hft_network", "sibling")
	if f == nil {
		return
	}
	if n := f["state"]; n != nil {
		if n.Kind != yaml.SequenceNode {
			p.errorf(n, "list the container paths: state: [/data]", "x-ops.state is not a list")
		} else {
			for _, e := range n.Content {
				v := p.text(e, "x-ops.state")
				if v != "" && !strings.HasPrefix(v, "/") {
					p.errorf(e, "give the absolute path inside the container", "x-ops.state %q is not an absolute path", v)
				}
				s.State = append(s.State, v)
			}
		}
	}
	if n := f["hft_network"]; n != nil {
		h := p.fields(n, "x-ops.hft_network", "why", "guard")
		if h != nil {
			s.HFTNetwork = &Shared{}
			if h["why"] == nil {
				p.errorf(n, "say what the service reaches or serves on hft_network", "x-ops.hft_network has no why")
			}
			if h["guard"] == nil {
				p.errorf(n, "name the credential on what it serves there, or say it listens on nothing", "x-ops.hft_network has no guard")
			}
			s.HFTNetwork.Why = p.text(h["why"], "x-ops.hft_network.why")
			s.HFTNetwork.Guard = p.text(h["guard"], "x-ops.hft_network.guard")
		}
	}
	if n := f["sibling"]; n != nil {
		s.Sibling = p.text(n, "x-ops.sibling")
	}
	if n := f["ui"]; n != nil {
		s.UI = p.ui(n)
	}
}

func (p *parser) ui(n *yaml.Node) *UI {
	f := p.fields(n, "x-ops.ui", "path", "open", "probe", "title", "about", "login", "private")
	if f == nil {
		return nil
	}
	for _, k := range []string{"path", "probe", "title", "login"} {
		if f[k] == nil {
			p.errorf(n, "add x-ops.ui."+k, "x-ops.ui has no %s", k)
		}
	}
	u := &UI{
		Path:  p.text(f["path"], "x-ops.ui.path"),
		Open:  p.text(f["open"], "x-ops.ui.open"),
		Probe: p.text(f["probe"], "x-ops.ui.probe"),
		Title: p.text(f["title"], "x-ops.ui.title"),
		About: p.text(f["about"], "x-ops.ui.about"),
	}
	if u.Path != "" && (!strings.HasPrefix(u.Path, "/") || !strings.HasSuffix(u.Path, "/") || u.Path == "/") {
		p.errorf(f["path"], "write the prefix with both slashes, e.g. /grafana/", "x-ops.ui.path %q is not a sub path /name/", u.Path)
	}
	if u.Open == "" {
		u.Open = u.Path
	}
	for _, k := range []string{"open", "probe"} {
		v := map[string]string{"open": u.Open, "probe": u.Probe}[k]
		if f[k] != nil && u.Path != "" && v != "" && !strings.HasPrefix(v, u.Path) {
			p.errorf(f[k], "use a path under "+u.Path, "x-ops.ui.%s %q is not under the UI's path %s", k, v, u.Path)
		}
	}
	if l := f["login"]; l != nil {
		switch {
		case l.Kind == yaml.ScalarNode && l.Value == "proxy":
			u.Login.Proxy = true
		case l.Kind == yaml.MappingNode:
			lf := p.fields(l, "x-ops.ui.login", "user", "password")
			if lf != nil {
				if lf["user"] == nil || lf["password"] == nil {
					p.errorf(l, "name both .env keys: login: {user: X_USER, password: X_PASSWORD}", "x-ops.ui.login needs user and password")
				}
				u.Login.User = p.text(lf["user"], "x-ops.ui.login.user")
				u.Login.Password = p.text(lf["password"], "x-ops.ui.login.password")
			}
		default:
			p.errorf(l, "write login: proxy (the proxy's basic auth) or login: {user: X_USER, password: X_PASSWORD} (its own login, keys of .env)", "x-ops.ui.login is neither proxy nor a user and password")
		}
	}
	if pv := f["private"]; pv != nil {
		pf := pv
		if pf.Kind != yaml.MappingNode {
			p.errorf(pv, "map each path to what it gives away: private: {/grafana/metrics: \"its version\"}", "x-ops.ui.private is not a mapping")
		} else {
			u.Private = map[string]string{}
			for i := 0; i+1 < len(pf.Content); i += 2 {
				k := pf.Content[i]
				if !strings.HasPrefix(k.Value, u.Path) {
					p.errorf(k, "use a path under "+u.Path, "x-ops.ui.private %q is not under the UI's path %s", k.Value, u.Path)
				}
				u.Private[k.Value] = p.text(pf.Content[i+1], "x-ops.ui.private."+k.Value)
			}
		}
	}
	return u
}

// PrivatePaths are u's private paths, sorted.
func (u *UI) PrivatePaths() []string {
	var out []string
	for k := range u.Private {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
