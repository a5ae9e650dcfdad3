package check

import (
	"slices"
	"testing"

	"github.com/okx-hft/okx-hft-ops/internal/nginxconf"
)

func TestAnchorsAreGitHubs(t *testing.T) {
	md := "# Runbook: the ops node\n\n## Watchdog\n### HostMemoryPressure\n#### Disk: 90% full?\n## Watchdog\n```\n## NotAHeading\n```\n##NoSpace\n  ## Indented ##\n## Ünïcode_name\n"
	got := Anchors(md)
	want := []string{"runbook-the-ops-node", "watchdog", "hostmemorypressure", "disk-90-full", "watchdog-1", "indented", "ünïcode_name"}
	if !slices.Equal(got, want) {
		t.Errorf("Anchors = %q, want %q", got, want)
	}
}

func TestMatchLocationIsNginxsOrder(t *testing.T) {
	ds, err := nginxconf.Parse(`server {
		location / { }
		location /grafana/ { }
		location = /grafana/metrics { return 404; }
		location ^~ /static/ { }
		location ~ \.php$ { }
		location ~* ^/STATIC/x { }
		location /api/ { }
	}`)
	if err != nil {
		t.Fatal(err)
	}
	srv := ds[0]
	for uri, want := range map[string]string{
		"/grafana/metrics":   "= /grafana/metrics",
		"/grafana/metricsx":  "/grafana/",
		"/grafana/":          "/grafana/",
		"/static/x":          "^~ /static/",
		"/api/a.php":         "~ \\.php$",
		"/STATIC/x":          "~* ^/STATIC/x",
		"/other":             "/",
		"/grafana/index.php": "~ \\.php$",
	} {
		m := MatchLocation(srv, uri)
		if m == nil {
			t.Errorf("%s: no location", uri)
			continue
		}
		if got := joinArgs(m); got != want {
			t.Errorf("%s: location %q, want %q", uri, got, want)
		}
	}
}

func joinArgs(d *nginxconf.Directive) string {
	s := ""
	for i, a := range d.Args {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}
