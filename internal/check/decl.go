package check

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/okx-hft/okx-hft-ops/internal/opsdecl"
	"github.com/okx-hft/okx-hft-ops/internal/yamlpos"
)

const landingFile = "nginx/html/index.html"

// readmes must name every UI the node serves.
var readmes = []string{"README.md", "README.ru.md"}

// composeSource is one compose file of the node: compose.yaml or a file
// it includes (mlflow/compose.yaml, superset/compose.yaml).
type composeSource struct {
	rel  string // relative to the repository root
	data []byte
	doc  *yamlpos.Doc
}

// at is the line of a key path in the file, "" when unknown.
func (c composeSource) at(path string) string { return c.doc.LineString(path) }

// src is the compose file that defines the service (compose.yaml when no
// file does).
func (r *Repo) src(service string) composeSource {
	if i, ok := r.svcSource[service]; ok {
		return r.sources[i]
	}
	return composeSource{rel: composeFile, data: r.compose, doc: r.composeDoc}
}

// loadCompose reads compose.yaml and the files it includes, once for
// every check, and each service's x-ops declaration in them; a
// declaration that cannot be used is an error at its line.
func (r *Repo) loadCompose() {
	srcs, incErrs, err := opsdecl.Sources(r.Dir, composeFile)
	if err != nil {
		r.unreadable(composeFile, err)
		r.composeDoc = yamlpos.Parse(nil)
		return
	}
	r.compose = srcs[0].Data
	r.composeDoc = yamlpos.Parse(r.compose)
	r.svcSource = map[string]int{}
	for i, src := range srcs {
		r.sources = append(r.sources, composeSource{rel: src.File, data: src.Data, doc: yamlpos.Parse(src.Data)})
		decls, problems := opsdecl.ParseFile(src.File, src.Data)
		for _, p := range problems {
			r.f.Errorf("x-ops", p.File, fmt.Sprint(p.Line), p.Fix, "service %s: %s", p.Service, p.Msg)
		}
		for _, d := range decls {
			r.svcSource[d.Name] = i
		}
		r.Decls = append(r.Decls, decls...)
	}
	for _, e := range incErrs {
		if errors.Is(e.Err, opsdecl.ErrIncludedTwice) {
			r.f.Errorf("compose", e.File, "", "remove the include that leads back to it", "%s is %v", e.File, e.Err)
			continue
		}
		from := r.sources[slices.IndexFunc(r.sources, func(s composeSource) bool { return s.rel == e.From })]
		r.f.Errorf("compose", e.From, fmt.Sprint(yamlpos.FindText(from.data, e.Path)), "restore "+e.File+" (git checkout -- "+e.File+") or remove it from include:", "includes %s, which cannot be read: %v", e.File, e.Err)
	}
	for _, s := range r.Decls.UIs() {
		for _, key := range []string{s.UI.Login.User, s.UI.Login.Password} {
			if key == "" || r.Example == nil {
				continue
			}
			if _, defined := r.Example.Get(key); !defined {
				r.f.Errorf("x-ops", s.File, fmt.Sprint(s.Line), "add "+key+" to .env.example, or name the key that holds the login", "service %s: x-ops.ui.login names %s, which .env.example does not define", s.Name, key)
			}
		}
	}
}

// lifecycleFlags open endpoints that stop, reload or rewrite Prometheus.
var lifecycleFlags = []string{"--web.enable-lifecycle", "--web.enable-admin-api"}

// checkServiceNetworks enforces the network rule written at the top of
// compose.yaml: every service of the node is on the internal network; a
// service also joins hft_network only with an x-ops.hft_network that says
// why and what guards it; a demo stand-in for a sibling's service is on
// hft_network only.
func (r *Repo) checkServiceNetworks(name string, s types.ServiceConfig, src composeSource) {
	at, composeFile := src.at, src.rel
	d := r.Decls.Get(name)
	base := "services." + name
	if s.NetworkMode == "none" {
		return // no network at all (grafana-init touches only its volume)
	}
	_, onInternal := s.Networks[internalNet]
	_, onShared := s.Networks[sharedNet]
	pos := at(base + ".networks")
	switch {
	case d.Sibling != "":
		if !onShared || onInternal {
			r.f.Errorf("compose-network", composeFile, pos, "give it `networks: [hft_network]` only", "service %s stands in for %s, which lives on %s only; on %s it would reach the node's internals", name, d.Sibling, sharedNet, internalNet)
		}
		return
	case !onInternal:
		r.f.Errorf("compose-network", composeFile, pos, "add the internal network: `networks: [internal]`", "service %s is not on the %s network, where the node's services talk", name, internalNet)
	}
	switch {
	case onShared && d.HFTNetwork == nil:
		r.f.Errorf("compose-network", composeFile, pos, "leave hft_network (`networks: [internal]`), or declare `x-ops: {hft_network: {why: ..., guard: ...}}` if a trading stack must reach it or it must reach one", "service %s is on %s without a reason declared: every container of the trading stacks can reach what it serves", name, sharedNet)
	case !onShared && d.HFTNetwork != nil:
		r.f.Errorf("compose-network", composeFile, at(base+".x-ops.hft_network"), "add hft_network to its networks, or remove x-ops.hft_network", "service %s declares x-ops.hft_network but is not on %s", name, sharedNet)
	}
	if onShared {
		for _, arg := range s.Command {
			for _, flag := range lifecycleFlags {
				if !(arg == flag || strings.HasPrefix(arg, flag+"=")) {
					continue
				}
				if flag == adminAPIFlag && listensInternalOnly(s) {
					continue
				}
				fix := "remove " + flag + " (reload with kill -HUP)"
				if flag == adminAPIFlag {
					fix = "listen only where hft_network cannot reach: --web.listen-address=127.0.0.1:9090 and --web.listen-address=ALIAS:9090 with ALIAS in networks.internal.aliases, and no published port; or remove " + flag
				}
				r.f.Errorf("compose-network", composeFile, at(base+".command"), fix, "service %s is on %s with %s: any container there can stop, reload or rewrite it without a credential", name, sharedNet, flag)
			}
		}
	}
}

const adminAPIFlag = "--web.enable-admin-api"

// listensInternalOnly reports whether every --web.listen-address of a
// Prometheus is loopback or a name that resolves on the internal network
// alone (an alias declared there and on no other network), and it
// publishes no port: then nothing on hft_network reaches what it serves.
// Without the flag Prometheus listens on every address (:9090).
func listensInternalOnly(s types.ServiceConfig) bool {
	if len(s.Ports) > 0 {
		return false
	}
	internalOnly := map[string]bool{}
	for nw, cfg := range s.Networks {
		if cfg == nil {
			continue
		}
		for _, a := range cfg.Aliases {
			if nw == internalNet {
				if _, seen := internalOnly[a]; !seen {
					internalOnly[a] = true
				}
			} else {
				internalOnly[a] = false
			}
		}
	}
	n := 0
	for _, arg := range s.Command {
		addr, ok := strings.CutPrefix(arg, "--web.listen-address=")
		if !ok {
			continue
		}
		n++
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return false
		}
		if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && !internalOnly[host] {
			return false
		}
	}
	return n > 0
}

var localHref = regexp.MustCompile(`href="(/[^"]*)"`)

// checkLanding requires the landing page to link every declared UI, and
// nothing under a path no service declares.
func (r *Repo) checkLanding() {
	data, ok := r.read(landingFile)
	if !ok || r.Decls == nil {
		return
	}
	src := string(data)
	linked := map[string]bool{}
	for _, m := range localHref.FindAllStringSubmatch(src, -1) {
		linked[m[1]] = true
	}
	uis := r.Decls.UIs()
	for _, s := range uis {
		if !linked[s.UI.Open] {
			r.f.Errorf("landing", landingFile, "", fmt.Sprintf(`add <li><a href="%s"><b>%s</b><span>%s</span></a></li>`, s.UI.Open, s.UI.Title, s.UI.About), "the landing page has no link to %s (%s, x-ops.ui of %s)", s.UI.Open, s.UI.Title, s.Name)
		}
	}
	for href := range linked {
		if strings.HasPrefix(href, "/runbooks/") {
			continue
		}
		declared := false
		for _, s := range uis {
			declared = declared || strings.HasPrefix(href, s.UI.Path)
		}
		if !declared {
			pos := uniqueLine(src, func(l string) bool { return strings.Contains(l, `href="`+href+`"`) })
			r.f.Errorf("landing", landingFile, pos, "remove the link, or declare x-ops.ui on the service that serves it", "the landing page links %s, which no service's x-ops.ui serves", href)
		}
	}
}

// checkReadmes requires both READMEs' table of URLs to have one row for
// every declared UI.
func (r *Repo) checkReadmes() {
	for _, file := range readmes {
		data, err := os.ReadFile(r.path(file))
		if err != nil {
			continue // a copy of the configs without the docs (the stack test's)
		}
		// The second cell of each table row: | Title | `/path/` | login |
		var urls []string
		for _, l := range strings.Split(string(data), "\n") {
			if cells := strings.Split(l, "|"); len(cells) > 3 {
				urls = append(urls, strings.TrimSpace(cells[2]))
			}
		}
		for _, s := range r.Decls.UIs() {
			found := slices.ContainsFunc(urls, func(c string) bool { return strings.HasPrefix(c, "`"+s.UI.Open+"`") })
			if !found {
				r.f.Errorf("readme", file, "", fmt.Sprintf("add a row | %s | `%s` | (its login) | to the table of URLs", s.UI.Title, s.UI.Open), "%s has no row for the UI %s of service %s in its table of URLs", file, s.UI.Open, s.Name)
			}
		}
	}
}
