package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// PanelQuery is one Prometheus query of a panel of a dashboard file, as
// Grafana would run it: over the dashboard's default time range, as an
// instant or a range query.
type PanelQuery struct {
	File      string // base name of the dashboard file
	Dashboard string // dashboard uid
	Panel     string // panel title
	RefID     string
	Expr      string
	Instant   bool
	From      string // start of the dashboard's default time range, e.g. now-3h
}

// Name identifies the query in reports: "uid: panel [refId]".
func (q PanelQuery) Name() string { return fmt.Sprintf("%s: %s [%s]", q.Dashboard, q.Panel, q.RefID) }

// ReadsContract says whether the query reads the metrics contract of
// pkg/hftmetrics: hft_* series, or rules recorded from them (whose names
// keep the hft_ metric name, e.g. job:hft_orders_sent:rate1m). These are
// the queries hftsim feeds.
func (q PanelQuery) ReadsContract() bool { return strings.Contains(q.Expr, "hft_") }

type panelJSON struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr       string `json:"expr"`
		RefID      string `json:"refId"`
		Instant    bool   `json:"instant"`
		Datasource struct {
			Type string `json:"type"`
		} `json:"datasource"`
	} `json:"targets"`
	Panels []panelJSON `json:"panels"` // of a collapsed row
}

// PrometheusQueries lists the Prometheus queries of every panel of the
// dashboards (*.json) in dir, in file and panel order.
func PrometheusQueries(dir string) ([]PanelQuery, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var out []PanelQuery
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var d struct {
			UID  string `json:"uid"`
			Time struct {
				From string `json:"from"`
			} `json:"time"`
			Panels []panelJSON `json:"panels"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		var walk func([]panelJSON)
		walk = func(ps []panelJSON) {
			for _, p := range ps {
				for _, t := range p.Targets {
					if t.Datasource.Type == PrometheusType && t.Expr != "" {
						out = append(out, PanelQuery{File: filepath.Base(f), Dashboard: d.UID, Panel: p.Title, RefID: t.RefID,
							Expr: t.Expr, Instant: t.Instant, From: d.Time.From})
					}
				}
				walk(p.Panels)
			}
		}
		walk(d.Panels)
	}
	return out, nil
}

// grafanaVar matches $name, ${name}, ${name:format} and [[name]].
var grafanaVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z_][A-Za-z0-9_]*)\]\]`)

// ExpandVariables replaces every Grafana variable of expr by value(name),
// for running a panel's query outside Grafana; built-in variables are
// named without their $ too (__rate_interval).
func ExpandVariables(expr string, value func(name string) string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(v string) string {
		m := grafanaVar.FindStringSubmatch(v)
		return value(m[1] + m[2] + m[3])
	})
}
