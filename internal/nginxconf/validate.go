package nginxconf

import (
	"fmt"
	"strings"
)

// Spec is what nginx requires of one directive: how many arguments it
// takes and whether it has a block. nginx itself refuses any other form at
// start ("invalid number of arguments", "has no opening \"{\"", "is not
// terminated by \";\""); the counts follow the NGX_CONF_TAKE*/1MORE/2MORE,
// NOARGS, FLAG and BLOCK flags of each module's ngx_command_t table
// (src/core/nginx.c, src/event/ngx_event.c, src/http/ngx_http_core_module.c,
// src/http/modules/ngx_http_*_module.c).
type Spec struct {
	Min, Max int  // Max < 0: no upper bound
	Block    bool // the directive opens a block (and must)
	Usage    string
}

func (s Spec) String() string {
	switch {
	case s.Max < 0:
		return fmt.Sprintf("%d or more arguments", s.Min)
	case s.Min == s.Max && s.Min == 1:
		return "1 argument"
	case s.Min == s.Max:
		return fmt.Sprintf("%d arguments", s.Min)
	default:
		return fmt.Sprintf("%d to %d arguments", s.Min, s.Max)
	}
}

func take(min, max int, usage string) Spec { return Spec{Min: min, Max: max, Usage: usage} }
func block(min, max int, usage string) Spec {
	return Spec{Min: min, Max: max, Block: true, Usage: usage}
}

// Specs lists the directives this repository's proxy uses and those a user
// is likely to add. Directives not listed are left to `nginx -t`.
var Specs = map[string]Spec{
	// main and events (src/core/nginx.c, src/event/ngx_event.c)
	"worker_processes":   take(1, 1, "worker_processes auto;"),
	"pid":                take(1, 1, "pid /tmp/nginx.pid;"),
	"user":               take(1, 2, "user nginx;"),
	"error_log":          take(1, -1, "error_log /dev/stderr warn;"),
	"events":             block(0, 0, "events { worker_connections 1024; }"),
	"worker_connections": take(1, 1, "worker_connections 1024;"),
	"include":            take(1, 1, "include /etc/nginx/mime.types;"),

	// http core (src/http/ngx_http_core_module.c)
	"http":                  block(0, 0, "http { ... }"),
	"server":                block(0, 0, "server { listen 8080; ... }"),
	"location":              block(1, 2, "location /path/ { ... } or location = /path { ... }"),
	"listen":                take(1, -1, "listen 8080;"),
	"server_name":           take(1, -1, "server_name _;"),
	"root":                  take(1, 1, "root /usr/share/nginx/ops;"),
	"alias":                 take(1, 1, "alias /usr/share/nginx/ops/;"),
	"try_files":             take(2, -1, "try_files /index.html =404;"),
	"error_page":            take(2, -1, "error_page 502 503 504 /errors/upstream-down.html;"),
	"internal":              take(0, 0, "internal;"),
	"default_type":          take(1, 1, "default_type text/plain;"),
	"types":                 block(0, 0, "types { text/plain md; }"),
	"sendfile":              take(1, 1, "sendfile on;"),
	"tcp_nopush":            take(1, 1, "tcp_nopush on;"),
	"keepalive_timeout":     take(1, 2, "keepalive_timeout 65;"),
	"server_tokens":         take(1, 1, "server_tokens off;"),
	"client_max_body_size":  take(1, 1, "client_max_body_size 512m;"),
	"resolver":              take(1, -1, "resolver 127.0.0.11 valid=10s;"),
	"resolver_timeout":      take(1, 1, "resolver_timeout 5s;"),
	"limit_except":          block(1, -1, "limit_except GET { deny all; }"),
	"absolute_redirect":     take(1, 1, "absolute_redirect off;"),
	"port_in_redirect":      take(1, 1, "port_in_redirect off;"),
	"log_not_found":         take(1, 1, "log_not_found off;"),
	"access_log":            take(1, -1, "access_log /dev/stdout; or access_log off;"),
	"log_format":            take(2, -1, "log_format main '$remote_addr ...';"),
	"charset":               take(1, 1, "charset utf-8;"),
	"index":                 take(1, -1, "index index.html;"),
	"add_header":            take(2, 3, "add_header Name \"value\" always;"),
	"expires":               take(1, 2, "expires 1h;"),
	"gzip":                  take(1, 1, "gzip on;"),
	"allow":                 take(1, 1, "allow 10.0.0.0/8;"),
	"deny":                  take(1, 1, "deny all;"),
	"auth_basic":            take(1, 1, "auth_basic \"okx-hft-ops\"; or auth_basic off;"),
	"auth_basic_user_file":  take(1, 1, "auth_basic_user_file /etc/nginx/htpasswd;"),
	"map":                   block(2, 2, "map $http_upgrade $connection_upgrade { default upgrade; '' close; }"),
	"upstream":              block(1, 1, "upstream name { server host:port; }"),
	"keepalive":             take(1, 1, "keepalive 16;"),
	"set":                   take(2, 2, "set $name_upstream service:port;"),
	"return":                take(1, 2, "return 404; or return 301 /path/;"),
	"rewrite":               take(2, 3, "rewrite ^/old/(.*)$ /new/$1 last;"),
	"if":                    block(1, -1, "if ($request_method = POST) { return 405; }"),
	"proxy_pass":            take(1, 1, "proxy_pass http://$name_upstream;"),
	"proxy_set_header":      take(2, 2, "proxy_set_header Host $http_host;"),
	"proxy_hide_header":     take(1, 1, "proxy_hide_header X-Powered-By;"),
	"proxy_http_version":    take(1, 1, "proxy_http_version 1.1;"),
	"proxy_read_timeout":    take(1, 1, "proxy_read_timeout 300s;"),
	"proxy_send_timeout":    take(1, 1, "proxy_send_timeout 300s;"),
	"proxy_connect_timeout": take(1, 1, "proxy_connect_timeout 5s;"),
	"proxy_buffering":       take(1, 1, "proxy_buffering off;"),
	"proxy_redirect":        take(1, 2, "proxy_redirect off;"),
}

// rawBlocks hold data, not directives: the entries of map, types, geo,
// split_clients and charset_map are key/value pairs of any arity.
var rawBlocks = map[string]bool{"map": true, "types": true, "geo": true, "split_clients": true, "charset_map": true, "match": true}

// Validate reports every directive of Specs written with an argument count
// or block form nginx refuses, in file order. Unknown directives are left
// to `nginx -t`.
func Validate(ds []*Directive) []*SyntaxError {
	var out []*SyntaxError
	var walk func(ds []*Directive)
	walk = func(ds []*Directive) {
		for _, d := range ds {
			spec, known := Specs[d.Name]
			// "server" inside "upstream" is an address, not a block.
			if d.Name == "server" && d.Parent != nil && d.Parent.Name == "upstream" {
				spec, known = Spec{Min: 1, Max: -1, Usage: "server host:port;"}, true
			}
			if known {
				if e := check(d, spec); e != nil {
					out = append(out, e)
				}
			}
			if !rawBlocks[d.Name] {
				walk(d.Block)
			}
		}
	}
	walk(ds)
	return out
}

func check(d *Directive, s Spec) *SyntaxError {
	n := len(d.Args)
	if n < s.Min || (s.Max >= 0 && n > s.Max) {
		got := "none"
		if n > 0 {
			got = fmt.Sprint(n)
		}
		return &SyntaxError{Line: d.Line, Msg: fmt.Sprintf("invalid number of arguments in %q: it takes %s, here %s; write %s", d.Name, s, got, s.Usage)}
	}
	if s.Block && d.Block == nil {
		return &SyntaxError{Line: d.Line, Msg: fmt.Sprintf("%q has no block: write %s", d.Name, s.Usage)}
	}
	if !s.Block && d.Block != nil {
		return &SyntaxError{Line: d.Line, Msg: fmt.Sprintf("%q takes no block: write %s", d.Name, strings.TrimSpace(s.Usage))}
	}
	return nil
}
