package dashboards

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrometheusQueries(t *testing.T) {
	dir := t.TempDir()
	d, err := Executor()
	if err != nil {
		t.Fatal(err)
	}
	data, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "executor.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	qs, err := PrometheusQueries(dir)
	if err != nil {
		t.Fatal(err)
	}
	var instant, ranged int
	for _, q := range qs {
		if q.Dashboard != ExecutorUID || q.File != "executor.json" || q.From != "now-3h" || q.Expr == "" || q.RefID == "" {
			t.Errorf("query %+v lacks its dashboard, time range or expression", q)
		}
		if q.Instant {
			instant++
		} else {
			ranged++
		}
	}
	if instant == 0 || ranged == 0 {
		t.Errorf("%d instant and %d range queries; the executor dashboard has both stat and time-series panels", instant, ranged)
	}
	want := ExecutorUID + ": Order ack latency [C]"
	found := false
	for _, q := range qs {
		found = found || q.Name() == want
	}
	if !found {
		t.Errorf("no query named %q among %d", want, len(qs))
	}
	if _, err := PrometheusQueries(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("a folder without dashboards: %v, want no error", err)
	}
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o644)
	if _, err := PrometheusQueries(dir); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("a broken file: %v, want an error naming it", err)
	}
}

func TestExpandVariables(t *testing.T) {
	vals := map[string]string{"__rate_interval": "20s", "inst_id": "BTC-USDT|ETH-USDT", "channel": ".+"}
	got := ExpandVariables(`sum(rate(x{inst_id=~"$inst_id",channel=~"${channel}",c=~"${channel:regex}",d=~"[[inst_id]]"}[$__rate_interval]))`,
		func(n string) string { return vals[n] })
	want := `sum(rate(x{inst_id=~"BTC-USDT|ETH-USDT",channel=~".+",c=~".+",d=~"BTC-USDT|ETH-USDT"}[20s]))`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestReadsContract(t *testing.T) {
	for expr, want := range map[string]bool{
		`max(hft_kill_switch_engaged{job="executor"})`:           true,
		`sum(job_code:hft_order_rejects:rate1m{job="executor"})`: true,
		`min(up{job="executor"})`:                                false,
		`up{job="hftsim"}`:                                       false,
		`sum(pg_stat_database_numbackends{job="timescaledb"})`:   false,
	} {
		if got := (PanelQuery{Expr: expr}).ReadsContract(); got != want {
			t.Errorf("ReadsContract(%s) = %v, want %v", expr, got, want)
		}
	}
}
