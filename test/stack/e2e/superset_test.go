package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/supersetassets"
)

// assetCounts are the numbers of datasets, charts and dashboards Superset
// holds.
type assetCounts struct{ datasets, charts, dashboards int }

func (c *supersetClient) counts(t *testing.T) assetCounts {
	t.Helper()
	n := func(kind string) int {
		var out struct {
			Count int `json:"count"`
		}
		if code := c.api(t, http.MethodGet, "/api/v1/"+kind+"/?q=(page_size:1)", nil, &out); code != 200 {
			t.Fatalf("GET /api/v1/%s/: %d", kind, code)
		}
		return out.Count
	}
	return assetCounts{n("dataset"), n("chart"), n("dashboard")}
}

type supersetChart struct {
	ID   int    `json:"id"`
	Name string `json:"slice_name"`
}

// dashboardCharts returns each dashboard of the bundle, by slug, with the
// charts Superset shows on it.
func (c *supersetClient) dashboardCharts(t *testing.T) map[string][]supersetChart {
	t.Helper()
	out := map[string][]supersetChart{}
	for _, d := range supersetassets.Dashboards() {
		var dash struct {
			Result struct {
				ID    int    `json:"id"`
				Title string `json:"dashboard_title"`
			} `json:"result"`
		}
		if code := c.api(t, http.MethodGet, "/api/v1/dashboard/"+d.Slug, nil, &dash); code != 200 {
			t.Errorf("dashboard %s (%s) is not in Superset: %d", d.Slug, d.Title, code)
			continue
		}
		var charts struct {
			Result []supersetChart `json:"result"`
		}
		if code := c.api(t, http.MethodGet, fmt.Sprintf("/api/v1/dashboard/%d/charts", dash.Result.ID), nil, &charts); code != 200 {
			t.Errorf("charts of dashboard %s: %d", d.Slug, code)
			continue
		}
		var got []string
		for _, ch := range charts.Result {
			got = append(got, ch.Name)
		}
		want := slices.Clone(d.Charts)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("dashboard %s shows %v, the bundle places %v", d.Slug, got, want)
		}
		out[d.Slug] = charts.Result
	}
	return out
}

// chartRows runs a chart's saved query through the chart-data API (as the
// dashboard, a report or an alert does), bypassing the cache, and returns
// its row count and how long it took.
func (c *supersetClient) chartRows(t *testing.T, id int) (int, time.Duration, error) {
	t.Helper()
	var out struct {
		Result []struct {
			RowCount int    `json:"rowcount"`
			Error    string `json:"error"`
		} `json:"result"`
	}
	start := time.Now()
	code := c.api(t, http.MethodGet, fmt.Sprintf("/api/v1/chart/%d/data/?force=true", id), nil, &out)
	took := time.Since(start)
	switch {
	case code != 200:
		return 0, took, fmt.Errorf("chart-data API answered %d", code)
	case len(out.Result) == 0:
		return 0, took, fmt.Errorf("chart-data API answered no result")
	case out.Result[0].Error != "":
		return 0, took, fmt.Errorf("query failed: %s", out.Result[0].Error)
	}
	return out.Result[0].RowCount, took, nil
}

// checkSupersetDashboards proves the analytics as code: the bundle's
// datasets, charts and dashboards are in Superset, once each, and every
// chart of every dashboard returns rows of the demo's data, logged in as
// the admin of .env.
func (s *Stack) checkSupersetDashboards(t *testing.T) assetCounts {
	c := s.supersetSession(t)
	got := c.counts(t)
	d, ch, db := supersetassets.Counts()
	if got != (assetCounts{d, ch, db}) {
		t.Errorf("Superset holds %d datasets, %d charts, %d dashboards; the bundle %d, %d, %d", got.datasets, got.charts, got.dashboards, d, ch, db)
	}
	for slug, charts := range c.dashboardCharts(t) {
		for _, chart := range charts {
			// The demo writes every table from its start, rejects and
			// fills at their own pace: wait for the first rows.
			eventually(t, 3*time.Minute, 5*time.Second, fmt.Sprintf("%s: chart %q returns rows", slug, chart.Name), func() error {
				n, _, err := c.chartRows(t, chart.ID)
				if err != nil {
					return err
				}
				if n == 0 {
					return errorf("no rows yet")
				}
				return nil
			})
		}
	}
	return got
}

// checkSupersetPasswordChange changes the trading database's password, in
// the database and in .env, and runs opsctl up: superset-init writes the
// new password into Superset's connection, and the charts answer again.
func (s *Stack) checkSupersetPasswordChange(t *testing.T) {
	const newPassword = "Ch4ngedTimescalePassw0rd"
	// On stdin, not in psql's argv: the host's process list shows argv.
	cmd := exec.Command("docker", append(s.sidecarsArgs(), "exec", "-T", "timescaledb", "psql", "-v", "ON_ERROR_STOP=1", "-U", s.Env["TIMESCALEDB_USER"], "-d", s.Env["TIMESCALEDB_DB"])...)
	cmd.Dir, cmd.Env = s.Dir, s.environ()
	cmd.Stdin = strings.NewReader(fmt.Sprintf("ALTER ROLE %q PASSWORD '%s';\n", s.Env["TIMESCALEDB_USER"], newPassword))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("changing the database's password: %v\n%s", err, out)
	}
	s.setEnv(map[string]string{"TIMESCALEDB_PASSWORD": newPassword})
	if out, err := s.run(s.Opsctl, "up", "--build=false", "--no-doctor"); err != nil {
		t.Fatalf("opsctl up after the password change: %v\n%s", err, out)
	}
	s.joinStub()
	c := s.supersetSession(t)
	for slug, charts := range c.dashboardCharts(t) {
		for _, chart := range charts {
			if n, _, err := c.chartRows(t, chart.ID); err != nil || n == 0 {
				t.Errorf("after the password change, %s: chart %q: %d rows, %v", slug, chart.Name, n, err)
			}
		}
	}
}

// measureChartQueries writes a day of history (hftsim backfill-db, ending
// where the demo began) and times every chart's query over it through the
// chart-data API, uncached: the p95 of each. A measurement, logged, not
// asserted: the figures go into the README.
func (s *Stack) measureChartQueries(t *testing.T, demoStart time.Time) {
	end := demoStart.Add(-time.Minute).UTC().Format(time.RFC3339)
	cmd := exec.Command("docker", "run", "--rm", "--network", "hft_network",
		// Values from this process's environment, not argv.
		"-e", "PGHOST", "-e", "PGPORT", "-e", "PGDATABASE", "-e", "PGUSER", "-e", "PGPASSWORD", "-e", "PGSSLMODE",
		"okx-hft-ops/hftsim:0.1.0", "backfill-db", "--hours", "23", "--end", end)
	cmd.Env = append(os.Environ(),
		"PGHOST="+s.Env["TIMESCALEDB_HOST"], "PGPORT="+s.Env["TIMESCALEDB_PORT"], "PGDATABASE="+s.Env["TIMESCALEDB_DB"],
		"PGUSER="+s.Env["TIMESCALEDB_USER"], "PGPASSWORD="+s.Env["TIMESCALEDB_PASSWORD"], "PGSSLMODE=disable")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hftsim backfill-db: %v\n%s", err, out)
	}
	t.Logf("a day of history written in %s:\n%s", time.Since(start).Round(time.Second), out)
	size := strings.TrimSpace(s.sidecars("exec", "-T", "timescaledb", "psql", "-At", "-U", s.Env["TIMESCALEDB_USER"], "-d", s.Env["TIMESCALEDB_DB"], "-c", "SELECT pg_size_pretty(pg_database_size(current_database()))"))
	t.Logf("database size after the day of history: %s", size)

	const runs = 10
	c := s.supersetSession(t)
	var lines []string
	worst := time.Duration(0)
	for slug, charts := range c.dashboardCharts(t) {
		for _, chart := range charts {
			var took []time.Duration
			rows := 0
			for range runs {
				n, d, err := c.chartRows(t, chart.ID)
				if err != nil {
					t.Errorf("%s: chart %q over the day: %v", slug, chart.Name, err)
					break
				}
				rows = n
				took = append(took, d)
			}
			if len(took) < runs {
				continue
			}
			slices.Sort(took)
			p95 := took[(len(took)*95+99)/100-1]
			worst = max(worst, p95)
			lines = append(lines, fmt.Sprintf("  %-14s %-52s rows %6d  p50 %5.2fs  p95 %5.2fs", slug, chart.Name, rows, took[len(took)/2].Seconds(), p95.Seconds()))
		}
	}
	sort.Strings(lines)
	t.Logf("chart-data API over a day of history, %d uncached runs each (worst p95 %.2fs):\n%s", runs, worst.Seconds(), strings.Join(lines, "\n"))
}
