// Command querycost measures what the trading dashboards cost Prometheus.
// It backfills a day of contract metrics at the trading scrape interval
// (hftsim backfill → promtool tsdb create-blocks-from openmetrics), backfills
// the recording rules over the same day (promtool tsdb create-blocks-from
// rules), starts Prometheus on that data on loopback, and times every panel
// query of the trading dashboards through the HTTP API the way Grafana sends
// it: as shipped, and, for the panels that read recording rules, with the
// recorded series expanded back into the raw expressions. It writes a
// Markdown report.
//
// Usage (from the repository root; needs Go, about 10 minutes and 3 GB of
// disk, no Docker):
//
//	go run ./test/querycost [--hours 24] [--repeat 20] [--out docs/query-cost.md]
//
// Prometheus and promtool are the local builds of the pinned version
// (test/stack/build-images.sh --binaries prometheus), or --prometheus-bin.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/dashboards"
	"github.com/okx-hft/okx-hft-ops/internal/repotree"
)

// tradingScrapeInterval is the scrape interval of the collector and
// executor jobs (prometheus/prometheus.yml) and the datasource's
// timeInterval, which Grafana uses as the shortest step.
const tradingScrapeInterval = 5 * time.Second

// maxDataPoints approximates the pixel width of a panel, which Grafana
// divides the time range by to choose the step.
const maxDataPoints = 1000

// goal is the p95 every panel query must stay under.
const goal = 100 * time.Millisecond

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "querycost: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	root, work, out, promBin, instruments string
	hours                                 float64
	repeat                                int
	keep                                  bool
	settle                                time.Duration
}

func run(args []string) error {
	fs := flag.NewFlagSet("querycost", flag.ContinueOnError)
	var o options
	fs.Float64Var(&o.hours, "hours", 24, "hours of data to backfill")
	fs.IntVar(&o.repeat, "repeat", 20, "timed runs of each query (after one warm-up run)")
	fs.StringVar(&o.out, "out", "docs/query-cost.md", "report to write (Markdown), relative to the repository root")
	fs.StringVar(&o.promBin, "prometheus-bin", "", "folder with prometheus and promtool (default: test/stack/build-images.sh --binaries prometheus)")
	fs.StringVar(&o.work, "work", "", "empty work folder, created if missing and never removed (default: a temporary one, removed at the end)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary work folder")
	fs.DurationVar(&o.settle, "settle", 130*time.Second, "how long Prometheus must go without a compaction before timing starts")
	fs.StringVar(&o.instruments, "instruments", "BTC-USDT,ETH-USDT,SOL-USDT,XRP-USDT,DOGE-USDT,BTC-USDT-SWAP,ETH-USDT-SWAP,SOL-USDT-SWAP,XRP-USDT-SWAP,DOGE-USDT-SWAP",
		"instruments the simulated collector and executor trade")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.hours <= 0 || o.hours > 24*7 || o.repeat < 5 {
		return fmt.Errorf("--hours must be in (0, 168] and --repeat at least 5")
	}
	root, err := repotree.Root(".")
	if err != nil {
		return err
	}
	o.root = root
	if o.work == "" {
		if o.work, err = os.MkdirTemp("", "querycost-"); err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(o.work)
		}
	} else if err := os.MkdirAll(o.work, 0o755); err != nil {
		return err
	} else if entries, _ := os.ReadDir(o.work); len(entries) > 0 {
		return fmt.Errorf("--work %s is not empty: its blocks would mix with the new ones; name an empty or new folder", o.work)
	}
	if o.promBin == "" {
		cmd := exec.Command("bash", filepath.Join(root, "test/stack/build-images.sh"), "--binaries", "prometheus")
		cmd.Stderr = os.Stderr
		b, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("building Prometheus: %v", err)
		}
		o.promBin = strings.TrimSpace(string(b))
	}
	for _, b := range []string{"prometheus", "promtool"} {
		if _, err := os.Stat(filepath.Join(o.promBin, b)); err != nil {
			return fmt.Errorf("--prometheus-bin %s: %v", o.promBin, err)
		}
	}
	return measure(o)
}

func step(format string, a ...any) func() {
	start := time.Now()
	fmt.Fprintf(os.Stderr, "querycost: "+format+"\n", a...)
	return func() { fmt.Fprintf(os.Stderr, "querycost:   done in %.1fs\n", time.Since(start).Seconds()) }
}

func runCmd(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func measure(o options) error {
	files, err := ruleFiles(o.root)
	if err != nil {
		return err
	}
	rr, err := loadRecordingRules(files)
	if err != nil {
		return err
	}
	queries, err := tradingQueries(o.root)
	if err != nil {
		return err
	}
	end := time.Now().Truncate(time.Minute)
	start := end.Add(-time.Duration(o.hours * float64(time.Hour)))

	// 1. A day of contract metrics.
	done := step("building hftsim")
	hftsim := filepath.Join(o.work, "hftsim")
	if _, err := runCmd("go", "build", "-C", o.root, "-o", hftsim, "./cmd/hftsim"); err != nil {
		return err
	}
	done()
	om := filepath.Join(o.work, "data.om")
	done = step("hftsim backfill: %.0f h every %v", o.hours, tradingScrapeInterval)
	backfillOut, err := runCmd(hftsim, "backfill", "--out", om, "--hours", fmt.Sprint(o.hours), "--end", end.Format(time.RFC3339),
		"--interval", tradingScrapeInterval.String(), "--instruments", o.instruments)
	if err != nil {
		return err
	}
	done()
	omInfo, _ := os.Stat(om)
	data := filepath.Join(o.work, "data")
	done = step("promtool tsdb create-blocks-from openmetrics (%d MB)", omInfo.Size()>>20)
	if _, err := runCmd(filepath.Join(o.promBin, "promtool"), "tsdb", "create-blocks-from", "openmetrics", "--quiet", om, data); err != nil {
		return err
	}
	os.Remove(om)
	done()

	// 2. The recording rules over the same day.
	expanded := filepath.Join(o.work, "rules-expanded.yml")
	if err := rr.expandedRuleFile(expanded); err != nil {
		return err
	}
	prom, err := startPrometheus(o, data)
	if err != nil {
		return err
	}
	ruleBlocks := filepath.Join(o.work, "rule-blocks")
	done = step("promtool tsdb create-blocks-from rules")
	_, err = runCmd(filepath.Join(o.promBin, "promtool"), "tsdb", "create-blocks-from", "rules", "--quiet",
		"--url", prom.url, "--start", start.Format(time.RFC3339), "--end", end.Format(time.RFC3339),
		"--eval-interval", "15s", "--output-dir", ruleBlocks, expanded)
	prom.stop()
	if err != nil {
		return err
	}
	done()
	blocks, _ := os.ReadDir(ruleBlocks)
	for _, b := range blocks {
		if err := os.Rename(filepath.Join(ruleBlocks, b.Name()), filepath.Join(data, b.Name())); err != nil {
			return err
		}
	}

	// 3. Prometheus on the whole, once its compactions are over.
	if prom, err = startPrometheus(o, data); err != nil {
		return err
	}
	defer prom.stop()
	done = step("waiting for Prometheus to finish compacting the backfilled blocks")
	tsdb, err := prom.settle(o.settle, end.Sub(start), end)
	if err != nil {
		return err
	}
	done()

	// 4. Every trading panel query, as shipped and raw.
	done = step("timing %d panel queries, %d runs each", len(queries), o.repeat)
	var results []result
	for _, q := range queries {
		for _, rng := range ranges(q) {
			r := result{q: q, rng: rng}
			expr := substitute(q.Expr, rng)
			if r.shipped, err = prom.time(expr, q.Instant, end, rng, o.repeat); err != nil {
				return fmt.Errorf("%s: %v", q.Name(), err)
			}
			if rr.uses(q.Expr) {
				raw, err := rr.expand(q.Expr)
				if err != nil {
					return fmt.Errorf("%s: %v", q.Name(), err)
				}
				t, err := prom.time(substitute(raw, rng), q.Instant, end, rng, o.repeat)
				if err != nil {
					return fmt.Errorf("%s (raw): %v", q.Name(), err)
				}
				r.raw = &t
			}
			results = append(results, r)
		}
	}
	done()
	return writeReport(o, results, tsdb, backfillOut, end)
}

// tradingQueries are the panel queries that read the metrics contract or
// rules recorded from it (the data the backfill holds).
func tradingQueries(root string) ([]dashboards.PanelQuery, error) {
	all, err := dashboards.PrometheusQueries(filepath.Join(root, dashboards.DefaultDir))
	if err != nil {
		return nil, err
	}
	var out []dashboards.PanelQuery
	for _, q := range all {
		if q.ReadsContract() {
			out = append(out, q)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no trading panel queries in " + dashboards.DefaultDir)
	}
	return out, nil
}

// timeRange is a dashboard time range and the step Grafana derives from it.
type timeRange struct {
	name  string
	span  time.Duration
	step  time.Duration
	first bool // the dashboard's default
}

// ranges are the time ranges a query is timed over: the dashboard's
// default range and, for range queries, the whole day.
func ranges(q dashboards.PanelQuery) []timeRange {
	def := 3 * time.Hour
	if d, err := time.ParseDuration(strings.TrimPrefix(q.From, "now-")); err == nil {
		def = d
	}
	mk := func(span time.Duration, first bool) timeRange {
		st := max(tradingScrapeInterval, (span / maxDataPoints).Round(time.Second))
		return timeRange{name: strings.TrimSuffix(span.String(), "0m0s"), span: span, step: st, first: first}
	}
	out := []timeRange{mk(def, true)}
	if !q.Instant && def != 24*time.Hour {
		out = append(out, mk(24*time.Hour, false))
	}
	return out
}

// substitute fills Grafana's variables as a dashboard opened with its
// defaults does: every variable All (.*), $__interval the step, and
// $__rate_interval max($__interval + scrape interval, 4 × scrape interval).
func substitute(expr string, r timeRange) string {
	rate := max(r.step+tradingScrapeInterval, 4*tradingScrapeInterval)
	return dashboards.ExpandVariables(expr, func(name string) string {
		switch name {
		case "__interval":
			return promDuration(r.step)
		case "__rate_interval":
			return promDuration(rate)
		case "__range":
			return promDuration(r.span)
		default:
			return ".*"
		}
	})
}

func promDuration(d time.Duration) string { return strconv.Itoa(int(d.Seconds())) + "s" }

type timing struct {
	p50, p95, max time.Duration
	series        int
	samples       int64
}

type result struct {
	q       dashboards.PanelQuery
	rng     timeRange
	shipped timing
	raw     *timing
}

type prometheus struct {
	url  string
	cmd  *exec.Cmd
	logs string
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startPrometheus runs Prometheus on loopback on the data folder, with no
// scrape configs and no rules: nothing but the queries runs in it.
func startPrometheus(o options, data string) (*prometheus, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(o.work, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n"), 0o644); err != nil {
		return nil, err
	}
	logs := filepath.Join(o.work, "prometheus.log")
	lf, err := os.OpenFile(logs, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p := &prometheus{url: fmt.Sprintf("http://127.0.0.1:%d", port), logs: logs}
	p.cmd = exec.Command(filepath.Join(o.promBin, "prometheus"), "--config.file="+cfg, "--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=30d", fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("Prometheus not ready after 2 minutes; log: %s", logs)
}

func (p *prometheus) stop() {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	}
}

// metric reads one value of Prometheus' own /metrics.
func (p *prometheus) metrics() (map[string]float64, error) {
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

type tsdbStats struct {
	blocks, series, samples float64
	compactions             float64
}

// settle waits until the compactor has merged the backfilled blocks (no new
// compaction for two of its one-minute cycles), as on a node that has run
// for a day.
func (p *prometheus) settle(quiet, span time.Duration, at time.Time) (tsdbStats, error) {
	var last tsdbStats
	stableSince := time.Now()
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		m, err := p.metrics()
		if err != nil {
			return last, err
		}
		cur := tsdbStats{blocks: m["prometheus_tsdb_blocks_loaded"], compactions: m["prometheus_tsdb_compactions_total"] + m["prometheus_tsdb_vertical_compactions_total"]}
		if cur != last {
			last, stableSince = cur, time.Now()
		}
		if time.Since(stableSince) > quiet {
			st, err := p.stats(span, at)
			last.series, last.samples = st.series, st.samples
			return last, err
		}
		time.Sleep(5 * time.Second)
	}
	return last, errors.New("Prometheus kept compacting for 20 minutes; log: " + p.logs)
}

// stats counts the series and samples Prometheus holds, metric by metric
// (count_over_time drops the name, so one query over all would collide).
func (p *prometheus) stats(span time.Duration, at time.Time) (tsdbStats, error) {
	var st tsdbStats
	var names struct {
		Data []string `json:"data"`
	}
	body, _, err := p.query(url.Values{}, "/api/v1/label/__name__/values")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(body, &names); err != nil {
		return st, err
	}
	for _, name := range names.Data {
		for _, q := range []struct {
			expr string
			dst  *float64
		}{
			{fmt.Sprintf(`count(last_over_time({__name__=%q}[%s]))`, name, promDuration(span)), &st.series},
			{fmt.Sprintf(`sum(count_over_time({__name__=%q}[%s]))`, name, promDuration(span)), &st.samples},
		} {
			body, _, err := p.query(url.Values{"query": {q.expr}, "time": {strconv.FormatInt(at.Unix(), 10)}}, "/api/v1/query")
			if err != nil {
				return st, err
			}
			var v struct {
				Data struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				return st, fmt.Errorf("%s: %v", q.expr, err)
			}
			if len(v.Data.Result) > 0 {
				f, _ := strconv.ParseFloat(fmt.Sprint(v.Data.Result[0].Value[1]), 64)
				*q.dst += f
			}
		}
	}
	return st, nil
}

func (p *prometheus) query(params url.Values, path string) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// POST, as Grafana sends queries; the label endpoints take GET only.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url+path, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if strings.Contains(path, "/label/") {
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, p.url+path+"?"+params.Encode(), nil)
	}
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(t0)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, body)
	}
	return body, took, err
}

// time runs expr repeat times (after a warm-up run) as Grafana would, an
// instant query at end or a range query over the range ending at end,
// and returns the wall-clock percentiles of the HTTP round trips.
func (p *prometheus) time(expr string, instant bool, end time.Time, r timeRange, repeat int) (timing, error) {
	params := url.Values{"query": {expr}, "stats": {"all"}}
	path := "/api/v1/query"
	if instant {
		params.Set("time", strconv.FormatInt(end.Unix(), 10))
	} else {
		path = "/api/v1/query_range"
		e := end.Truncate(r.step)
		params.Set("start", strconv.FormatInt(e.Add(-r.span).Unix(), 10))
		params.Set("end", strconv.FormatInt(e.Unix(), 10))
		params.Set("step", strconv.Itoa(int(r.step.Seconds())))
	}
	var t timing
	var took []time.Duration
	for i := 0; i <= repeat; i++ {
		body, d, err := p.query(params, path)
		if err != nil {
			return t, fmt.Errorf("%s: %v", expr, err)
		}
		if i == 0 {
			var v struct {
				Status string `json:"status"`
				Data   struct {
					Result []json.RawMessage `json:"result"`
					Stats  struct {
						Samples struct {
							TotalQueryableSamples int64 `json:"totalQueryableSamples"`
						} `json:"samples"`
					} `json:"stats"`
				} `json:"data"`
			}
			if err := json.Unmarshal(body, &v); err != nil || v.Status != "success" {
				return t, fmt.Errorf("%s: %v %.300s", expr, err, body)
			}
			t.series, t.samples = len(v.Data.Result), v.Data.Stats.Samples.TotalQueryableSamples
			if t.series == 0 {
				return t, fmt.Errorf("%s returns no data over the backfilled day", expr)
			}
			continue // warm-up
		}
		took = append(took, d)
	}
	slices.Sort(took)
	t.p50, t.p95, t.max = percentile(took, 0.5), percentile(took, 0.95), took[len(took)-1]
	return t, nil
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func writeReport(o options, results []result, st tsdbStats, backfillOut string, end time.Time) error {
	var b strings.Builder
	version, _ := runCmd(filepath.Join(o.promBin, "prometheus"), "--version")
	version, _, _ = strings.Cut(version, "\n")
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	summary, _, _ := strings.Cut(backfillOut, "\n")
	fmt.Fprintf(&b, "# Dashboard query cost\n\n")
	fmt.Fprintf(&b, "Generated by `go run ./test/querycost --hours %v --repeat %d` on %s (%d cores, %s); %s.\n\n",
		o.hours, o.repeat, end.UTC().Format("2006-01-02"), runtime.NumCPU(), cpu, version)
	fmt.Fprintf(&b, "**Data.** %s.\n", strings.TrimPrefix(summary, "hftsim backfill: "+filepath.Join(o.work, "data.om")+": "))
	fmt.Fprintf(&b, "Every failure scenario runs once for 10 minutes, healthy in between. Converted with `promtool tsdb create-blocks-from openmetrics`; "+
		"the recording rules of `prometheus/rules/` backfilled over the same day with `promtool tsdb create-blocks-from rules` "+
		"(rules that read rules expanded, as promtool evaluates each rule on raw data only). "+
		"Prometheus then holds %.0f series and %.1f million samples in %.0f blocks, after its own compaction.\n\n", st.series, st.samples/1e6, st.blocks)
	fmt.Fprintf(&b, "**Method.** Each panel query of the trading dashboards (every query reading `hft_*` series or rules recorded from them) "+
		"is sent to `/api/v1/query_range` (time series) or `/api/v1/query` (stat) as Grafana sends it on opening the dashboard: "+
		"variables at All, step = max(%v, range / %d), `$__rate_interval` = max(step + %v, 4 × %v). "+
		"One warm-up run, then %d timed runs, one at a time; times are HTTP round trips on loopback. "+
		"**As shipped** is the query in `grafana/dashboards/`; **raw** is the same query with every recorded series replaced by its rule's expression, "+
		"i.e. what the panel would cost without the recording rules. Range queries are timed over the dashboard's default range and over 24 h.\n\n",
		tradingScrapeInterval, maxDataPoints, tradingScrapeInterval, tradingScrapeInterval, o.repeat)

	var worst time.Duration
	var worstName string
	over := 0
	var ratios []float64
	for _, r := range results {
		if r.shipped.p95 > worst {
			worst, worstName = r.shipped.p95, r.q.Name()+" over "+r.rng.name
		}
		if r.shipped.p95 > goal {
			over++
		}
		if r.raw != nil {
			ratios = append(ratios, float64(r.raw.p95)/float64(r.shipped.p95))
		}
	}
	slices.Sort(ratios)
	fmt.Fprintf(&b, "## Result\n\n")
	fmt.Fprintf(&b, "- %d panel queries, %d timings: the slowest p95 as shipped is **%s ms** (%s); %d over the %v goal.\n",
		len(uniqueQueries(results)), len(results), ms(worst), worstName, over, goal)
	if len(ratios) > 0 {
		fmt.Fprintf(&b, "- %d timings read recording rules. Raw p95 / recorded p95: median **%.1f×**, min %.1f×, max %.1f×.\n",
			len(ratios), ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1])
	}
	fmt.Fprintf(&b, "\n| panel query | range (step) | as shipped p50 / p95 ms | raw p50 / p95 ms | raw ÷ shipped (p95) | series | samples read (shipped / raw) |\n")
	fmt.Fprintf(&b, "| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range results {
		rng := "instant"
		if !r.q.Instant {
			rng = fmt.Sprintf("%s (%v)", r.rng.name, r.rng.step)
		}
		raw, ratio, samples := "–", "–", fmt.Sprint(r.shipped.samples)
		if r.raw != nil {
			raw = ms(r.raw.p50) + " / " + ms(r.raw.p95)
			ratio = fmt.Sprintf("%.1f×", float64(r.raw.p95)/float64(r.shipped.p95))
			samples += fmt.Sprintf(" / %d", r.raw.samples)
		}
		fmt.Fprintf(&b, "| %s | %s | %s / %s | %s | %s | %d | %s |\n", strings.ReplaceAll(r.q.Name(), "|", `\|`), rng,
			ms(r.shipped.p50), ms(r.shipped.p95), raw, ratio, r.shipped.series, samples)
	}
	path := o.out
	if !filepath.IsAbs(path) {
		path = filepath.Join(o.root, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "querycost: wrote %s\n", path)
	return nil
}

func uniqueQueries(rs []result) map[string]bool {
	out := map[string]bool{}
	for _, r := range rs {
		out[r.q.Name()] = true
	}
	return out
}
