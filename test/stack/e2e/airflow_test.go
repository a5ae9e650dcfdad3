package e2e

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/s3store"
)

// readExport reads the export back with pyarrow inside the scheduler's
// container (the environment of the DAGs: their S3 connection, their
// pyarrow) and prints rows per table, day and instrument, and each table's
// schema, as JSON.
//
//go:embed testdata/read_export.py
var readExport []byte

// The two days of history the pipelines run on, far from the demo's live
// rows and from the day of history the Superset measurement writes.
var airflowDays = []struct {
	day, end string
	seed     int
}{
	{"2026-01-05", "2026-01-06T00:00:00Z", 42},
	{"2026-01-06", "2026-01-07T00:00:00Z", 43},
}

var exportTables = []string{"trades", "book_top", "orders", "fills"}

// dagRunFinished is the line `airflow dags test` logs at the end of a run.
var dagRunFinished = regexp.MustCompile(`DagRun Finished: dag_id=(\S+), .*? state=(\w+),`)

// dagsTest runs one DAG end to end with `airflow dags test` in the
// scheduler's container, against the stack's PostgreSQL, S3 and MLflow,
// and returns its log. A task that fails waits for its retries (minutes):
// the deadline ends that wait.
func (s *Stack) dagsTest(t *testing.T, dag, logicalDate string, conf string) string {
	t.Helper()
	args := []string{"compose", "exec", "-T", "airflow-scheduler", "airflow", "dags", "test", dag, logicalDate}
	if conf != "" {
		args = append(args, "--conf", conf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Dir, cmd.Env = s.Dir, s.environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	log := out.String()
	m := dagRunFinished.FindStringSubmatch(log)
	if err != nil || m == nil || m[2] != "success" {
		t.Fatalf("airflow dags test %s %s %s: %v, run %v; the log's end:\n%s", dag, logicalDate, conf, err, m, tail(log, 60))
	}
	t.Logf("airflow dags test %s %s %s: success in %s", dag, logicalDate, conf, time.Since(start).Round(time.Second))
	return log
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// backfillDay writes one UTC day of the contract's rows for two
// instruments (hftsim backfill-db, healthy schedule), replacing any.
func (s *Stack) backfillDay(t *testing.T, end string, seed int) {
	t.Helper()
	cmd := exec.Command("docker", "run", "--rm", "--network", "hft_network",
		"-e", "PGHOST", "-e", "PGPORT", "-e", "PGDATABASE", "-e", "PGUSER", "-e", "PGPASSWORD", "-e", "PGSSLMODE",
		"okx-hft-ops/hftsim:0.1.0", "backfill-db", "--hours", "24", "--end", end, "--schedule", "healthy",
		"--seed", strconv.Itoa(seed), "--instruments", "BTC-USDT,ETH-USDT", "--replace")
	cmd.Env = append(os.Environ(),
		"PGHOST="+s.Env["TIMESCALEDB_HOST"], "PGPORT="+s.Env["TIMESCALEDB_PORT"], "PGDATABASE="+s.Env["TIMESCALEDB_DB"],
		"PGUSER="+s.Env["TIMESCALEDB_USER"], "PGPASSWORD="+s.Env["TIMESCALEDB_PASSWORD"], "PGSSLMODE=disable")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hftsim backfill-db --end %s: %v\n%s", end, err, out)
	}
}

// sourceCounts are the source's rows per "table day/inst" over the days.
func (s *Stack) sourceCounts(t *testing.T) map[string]int {
	t.Helper()
	timeCol := map[string]string{"trades": "ts", "book_top": "ts", "orders": "created_ts", "fills": "ts"}
	counts := map[string]int{}
	for _, tb := range exportTables {
		c := timeCol[tb]
		out := s.sidecarSQL(t, fmt.Sprintf(
			"SELECT (%s AT TIME ZONE 'UTC')::date || '/' || inst_id, count(*) FROM hft.%s WHERE %s >= '2026-01-05T00:00:00Z' AND %s < '2026-01-07T00:00:00Z' GROUP BY 1", c, tb, c, c))
		for _, line := range strings.Split(out, "\n") {
			k, n, ok := strings.Cut(line, "|")
			if ok {
				counts[tb+" "+k], _ = strconv.Atoi(n)
			}
		}
	}
	return counts
}

type exportReadBack struct {
	Counts  map[string]map[string]int `json:"counts"`  // table -> "day/inst" -> rows
	Schemas map[string][][2]string    `json:"schemas"` // table -> [name, arrow type]
}

func (s *Stack) readBackExport(t *testing.T) exportReadBack {
	t.Helper()
	cmd := exec.Command("docker", "compose", "exec", "-T", "airflow-scheduler", "python3", "-")
	cmd.Dir, cmd.Env = s.Dir, s.environ()
	cmd.Stdin = bytes.NewReader(readExport)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("reading the export back with pyarrow: %v\n%s", err, tail(stderr.String(), 30))
	}
	var r exportReadBack
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("pyarrow's read-back: %v: %s", err, stdout.String())
	}
	return r
}

// exportKeys lists the export's objects (key -> size, through the S3 API).
func (s *Stack) exportKeys(t *testing.T, st *s3store.Store) []string {
	t.Helper()
	keys, err := st.ListKeys(context.Background(), s.Env["AIRFLOW_EXPORT_BUCKET"], "exports/")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

// watchAirflow samples the Airflow containers every 2 s with doctor's own
// sampler (stack.Runner.ContainerUsage) until stop is called; stop returns
// each one's peak memory in MiB and whether it was OOM-killed meanwhile.
func (s *Stack) watchAirflow() (stop func() (peaks map[string]float64, oomKilled map[string]bool)) {
	names := map[string]string{}
	for svc, c := range s.containers() {
		if strings.HasPrefix(svc, "airflow") && c.State == "running" {
			names[c.ID] = svc
		}
	}
	peaks, oom := map[string]float64{}, map[string]bool{}
	var mu sync.Mutex
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Second):
			}
			sample, err := s.runner().ContainerUsage(context.Background(), names)
			if err != nil {
				continue
			}
			mu.Lock()
			for _, u := range sample {
				peaks[u.Service] = max(peaks[u.Service], u.MemBytes/(1<<20))
				oom[u.Service] = oom[u.Service] || u.OOMKilled
			}
			mu.Unlock()
		}
	}()
	return func() (map[string]float64, map[string]bool) {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return peaks, oom
	}
}

// checkAirflow runs the node's pipelines end to end on two generated days
// of the data contract: the export to Parquet (layout, counts and schema
// read back with pyarrow, a rerun that replaces and never duplicates),
// training registered in MLflow (a second run that does not beat the first
// leaves the alias), and data quality on a planted gap, up to the alert.
func (s *Stack) checkAirflow(t *testing.T) {
	for _, d := range airflowDays {
		s.backfillDay(t, d.end, d.seed)
	}
	source := s.sourceCounts(t)

	// --- export, and its memory
	stop := s.watchAirflow()
	rowsPerSec := regexp.MustCompile(`exported (\S+): (\d+) rows in ([0-9.]+) s \((\d+) rows/s\)`)
	for _, logical := range []string{"2026-01-06", "2026-01-07"} {
		log := s.dagsTest(t, "ops_export_daily", logical, "")
		if m := rowsPerSec.FindStringSubmatch(log); m != nil {
			t.Logf("export of %s: %s rows in %s s (%s rows/s)", m[1], m[2], m[3], m[4])
		} else {
			t.Errorf("the export's log has no line %q", rowsPerSec)
		}
	}
	peaks, oomKilled := stop()
	if len(peaks) == 0 {
		t.Error("no sample of the Airflow containers' memory was taken during the exports")
	}
	t.Logf("peak memory of the Airflow containers during the two exports (sampled every 2 s): %v MiB", peaks)
	for svc, killed := range oomKilled {
		if killed {
			t.Errorf("%s was OOM-killed during the exports", svc)
		}
	}

	// --- the promised layout, in the bucket
	st, err := s3store.New(s3URL, s.Env["AWS_ACCESS_KEY_ID"], s.Env["AWS_SECRET_ACCESS_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	keys := s.exportKeys(t, st)
	want := map[string]bool{}
	for _, d := range airflowDays {
		want["exports/_manifests/date="+d.day+".json"] = true
		for _, tb := range exportTables {
			for _, inst := range []string{"BTC-USDT", "ETH-USDT"} {
				if source[tb+" "+d.day+"/"+inst] > 0 {
					want[fmt.Sprintf("exports/%s/date=%s/inst_id=%s/part-0.parquet", tb, d.day, inst)] = true
				}
			}
		}
	}
	for _, k := range keys {
		if !want[k] {
			t.Errorf("the bucket holds %s, which the layout does not promise", k)
		}
		delete(want, k)
	}
	for k := range want {
		t.Errorf("the bucket lacks %s", k)
	}
	t.Logf("%d objects under %s/exports/", len(keys), s.Env["AIRFLOW_EXPORT_BUCKET"])

	// --- read back with pyarrow: counts and schema match the source
	rb := s.readBackExport(t)
	compare := func(rb exportReadBack, when string) {
		for k, n := range source {
			tb, part, _ := strings.Cut(k, " ")
			if got := rb.Counts[tb][part]; got != n {
				t.Errorf("%s: %s %s holds %d rows in Parquet, %d in the source", when, tb, part, got, n)
			}
		}
		for tb, parts := range rb.Counts {
			for part := range parts {
				if _, ok := source[tb+" "+part]; !ok {
					t.Errorf("%s: Parquet holds %s %s, which the source has not", when, tb, part)
				}
			}
		}
	}
	compare(rb, "after the export")
	wantSchema := map[string]string{
		"trades":   "ts:timestamp[us, tz=UTC] trade_id:string px:decimal128(38, 18) sz:decimal128(38, 18) side:string date:string inst_id:string",
		"book_top": "ts:timestamp[us, tz=UTC] seq_id:int64 prev_seq_id:int64 bid_px:decimal128(38, 18) bid_sz:decimal128(38, 18) ask_px:decimal128(38, 18) ask_sz:decimal128(38, 18) bid_depth_sz:decimal128(38, 18) ask_depth_sz:decimal128(38, 18) date:string inst_id:string",
		"orders":   "created_ts:timestamp[us, tz=UTC] ord_id:string cl_ord_id:string side:string ord_type:string px:decimal128(38, 18) sz:decimal128(38, 18) date:string inst_id:string",
		"fills":    "ts:timestamp[us, tz=UTC] trade_id:string ord_id:string side:string fill_px:decimal128(38, 18) fill_sz:decimal128(38, 18) fee:decimal128(38, 18) fee_ccy:string exec_type:string mid_px:decimal128(38, 18) date:string inst_id:string",
	}
	for tb, w := range wantSchema {
		var got []string
		for _, f := range rb.Schemas[tb] {
			got = append(got, f[0]+":"+f[1])
		}
		// Every column of the contract's table (pkg/hftdata), with date and
		// inst_id from the hive-style path.
		if g := strings.Join(got, " "); g != w {
			t.Errorf("%s in Parquet has the schema\n  %s\nwant\n  %s", tb, g, w)
		}
	}

	// --- a rerun of a day replaces: same files, same counts
	s.dagsTest(t, "ops_export_daily", "2026-01-07", "")
	if again := s.exportKeys(t, st); strings.Join(again, "\n") != strings.Join(keys, "\n") {
		t.Errorf("after a rerun of the export the bucket holds\n%v\nbefore\n%v", again, keys)
	}
	compare(s.readBackExport(t), "after a rerun of the export")

	// --- train and register; a second run that does not beat the first
	// leaves the alias where it is
	s.dagsTest(t, "ops_train_register", "2026-01-07", "")
	first := s.registeredModel(t)
	if first.champion == "" || first.versions != 1 {
		t.Fatalf("after the first training: %d version(s), champion %q; want 1 and its version", first.versions, first.champion)
	}
	s.dagsTest(t, "ops_train_register", "2026-01-07", "")
	second := s.registeredModel(t)
	if second.versions != 2 || second.champion != first.champion {
		t.Errorf("after a second training on the same days: %d version(s), champion %q; want 2 and still %q", second.versions, second.champion, first.champion)
	}
	t.Logf("MLflow: model okx-hft-mid-direction, %d versions, champion version %s (run %s, held-out accuracy %s)", second.versions, second.champion, first.runID, first.accuracy)

	// --- data quality: a clean day, then a planted gap, up to the alert
	gap := `ops_dq_violations{check="gap",table="trades",inst_id="BTC-USDT"}`
	missing := `ops_dq_violations{check="missing_rows",table="trades",inst_id="BTC-USDT"}`
	s.dagsTest(t, "ops_data_quality", "2026-01-07", `{"day": "2026-01-06"}`)
	s.waitMetric(t, time.Minute, gap, 0)
	s.waitMetric(t, time.Minute, `sum(ops_dq_violations)`, 0)
	deleted := s.sidecarSQL(t, "WITH d AS (DELETE FROM hft.trades WHERE inst_id = 'BTC-USDT' AND ts >= '2026-01-06T10:00:00Z' AND ts < '2026-01-06T10:30:00Z' RETURNING 1) SELECT count(*) FROM d")
	n, _ := strconv.Atoi(deleted)
	if n < 1000 {
		t.Fatalf("planting the gap deleted %s trades, want the half hour's thousands", deleted)
	}
	s.dagsTest(t, "ops_data_quality", "2026-01-07", `{"day": "2026-01-06"}`)
	s.waitMetric(t, time.Minute, gap, 1)
	s.waitMetric(t, time.Minute, missing, float64(n))
	if v, err := s.promValue(`ops_dq_max_gap_seconds{table="trades",inst_id="BTC-USDT"}`); err != nil || v < 1800 {
		t.Errorf("the longest gap of BTC-USDT's trades: %v (%v), want at least the planted 1800 s", v, err)
	}
	eventually(t, 2*time.Minute, 5*time.Second, "TradingDataQuality firing for the planted gap", func() error {
		v, err := s.promValue(`ALERTS{alertname="TradingDataQuality",alertstate="firing",check="gap",table="trades",inst_id="BTC-USDT"}`)
		if err != nil || v != 1 {
			return errorf("not firing: %v %v", v, err)
		}
		return nil
	})
	// The day as it was, checked again: the alert resolves.
	s.backfillDay(t, airflowDays[1].end, airflowDays[1].seed)
	s.dagsTest(t, "ops_data_quality", "2026-01-07", `{"day": "2026-01-06"}`)
	s.waitMetric(t, time.Minute, `sum(ops_dq_violations)`, 0)
}

type modelState struct {
	versions                  int
	champion, runID, accuracy string
}

func (s *Stack) registeredModel(t *testing.T) modelState {
	t.Helper()
	user, pass := s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"]
	var vs struct {
		ModelVersions []struct {
			Version string `json:"version"`
		} `json:"model_versions"`
	}
	q := url.Values{"filter": {"name='okx-hft-mid-direction'"}}
	if err := getJSON(proxyURL+"/mlflow/api/2.0/mlflow/model-versions/search?"+q.Encode(), user, pass, &vs); err != nil {
		t.Fatal(err)
	}
	var m modelState
	m.versions = len(vs.ModelVersions)
	// The search does not return aliases: the alias is read by its name.
	var alias struct {
		ModelVersion struct {
			Version string `json:"version"`
			RunID   string `json:"run_id"`
			Tags    []struct{ Key, Value string }
		} `json:"model_version"`
	}
	q = url.Values{"name": {"okx-hft-mid-direction"}, "alias": {"champion"}}
	if err := getJSON(proxyURL+"/mlflow/api/2.0/mlflow/registered-models/alias?"+q.Encode(), user, pass, &alias); err == nil {
		m.champion, m.runID = alias.ModelVersion.Version, alias.ModelVersion.RunID
		for _, tag := range alias.ModelVersion.Tags {
			if tag.Key == "held_out_accuracy" {
				m.accuracy = tag.Value
			}
		}
	} else {
		t.Logf("no champion alias: %v", err)
	}
	if m.runID != "" {
		params, metrics, err := s.mlflow().GetRun(context.Background(), m.runID)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := metrics["held_out_accuracy"]; !ok || params["held_out_day"] != "2026-01-06" {
			t.Errorf("the champion's run %s: metrics %v, params %v; want held_out_accuracy and held_out_day 2026-01-06", m.runID, metrics, params)
		}
	}
	return m
}
