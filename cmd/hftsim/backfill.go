package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// backfill writes what Prometheus would have scraped from a collector and
// an executor over a past period, as OpenMetrics text with timestamps, for
// `promtool tsdb create-blocks-from openmetrics`. Both simulators run in
// simulated time, so a day takes a minute or two; every scrape interval
// their registries are gathered and stamped with the labels the scrape
// config adds (job, instance, stack) plus an up series.
//
// The "failures" schedule runs every failure scenario once for 10 minutes,
// spread over the period, and healthy in between, so that the data holds
// what the dashboards must show on a bad day; "healthy" runs healthy only.
//
// OpenMetrics wants the lines of one metric family together, so each
// family is written to its own temporary file and the files are joined at
// the end.
func backfill(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hftsim backfill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "OpenMetrics file to write (required)")
	hours := fs.Float64("hours", 24, "length of the period, in hours (at most 24*31)")
	endFlag := fs.String("end", "", "end of the period, RFC 3339 (default: now, rounded down to the interval)")
	interval := fs.Duration("interval", 5*time.Second, "scrape interval of the trading jobs")
	tick := fs.Duration("tick", 100*time.Millisecond, "simulation step (10ms to 1s)")
	seed := fs.Uint64("seed", 42, "random seed")
	instruments := fs.String("instruments", "BTC-USDT,ETH-USDT,BTC-USDT-SWAP", "comma-separated OKX instrument IDs (at most 50)")
	schedule := fs.String("schedule", "failures", "failures (every failure scenario once, healthy in between) or healthy")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hftsim backfill --out FILE [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hftsim backfill: "+format+"\n", a...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected argument %q", fs.Arg(0))
	case *out == "":
		return fail("--out is required")
	case *hours <= 0 || *hours > 24*31:
		return fail("--hours %v out of range (0 to 744)", *hours)
	case *interval < time.Second || *interval > 5*time.Minute:
		return fail("--interval %v out of range (1s to 5m)", *interval)
	case *tick < 10*time.Millisecond || *tick > time.Second || *interval%*tick != 0:
		return fail("--tick %v must be 10ms to 1s and divide --interval %v", *tick, *interval)
	case *schedule != "failures" && *schedule != "healthy":
		return fail("--schedule %q unknown; valid: failures, healthy", *schedule)
	}
	end := time.Now().Truncate(*interval)
	if *endFlag != "" {
		t, err := time.Parse(time.RFC3339, *endFlag)
		if err != nil {
			return fail("--end: %v", err)
		}
		end = t.Truncate(*interval)
	}
	start := end.Add(-time.Duration(*hours * float64(time.Hour))).Truncate(*interval)
	insts := splitInstruments(*instruments)

	type target struct {
		role   string
		sim    *sim
		reg    *prometheus.Registry
		labels []*dto.LabelPair
	}
	var targets []*target
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for i, role := range []string{roleCollector, roleExecutor} {
		reg := prometheus.NewRegistry()
		// The simulators start one interval early: the first scrape then
		// sees a simulated interval, not the values set at construction.
		s, err := newSim(config{Role: role, Seed: *seed + uint64(i), Instruments: insts}, reg, quiet, start.Add(-*interval))
		if err != nil {
			return fail("%v", err)
		}
		targets = append(targets, &target{role: role, sim: s, reg: reg, labels: []*dto.LabelPair{
			{Name: proto.String("instance"), Value: proto.String(role + ":8000")},
			{Name: proto.String("job"), Value: proto.String(role)},
			{Name: proto.String("stack"), Value: proto.String("trading")},
		}})
	}
	plan := backfillPlan(*schedule, start, end)

	tmp, err := os.MkdirTemp(filepath.Dir(*out), ".hftsim-backfill-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(tmp)
	w := &familyFiles{dir: tmp, files: map[string]*bufio.Writer{}, closers: map[string]*os.File{}}
	defer w.close()

	began := time.Now()
	samples := 0
	up := "up"
	gauge := dto.MetricType_GAUGE
	next := 0 // the first step of plan not applied yet
	for now := start; !now.After(end); now = now.Add(*interval) {
		ts := now.UnixMilli()
		for _, t := range targets {
			for at := t.sim.LastTick().Add(*tick); !at.After(now); at = at.Add(*tick) {
				t.sim.Tick(at)
			}
		}
		// Scenario switches fall due between scrapes, after the tick
		// before them; the executor and collector switch together.
		for ; next < len(plan) && !plan[next].at.After(now); next++ {
			for _, t := range targets {
				if err := t.sim.SetScenario(plan[next].scenario, now); err != nil {
					return fail("%v", err)
				}
			}
		}
		for _, t := range targets {
			mfs, err := t.reg.Gather()
			if err != nil {
				return fail("gathering the %s metrics: %v", t.role, err)
			}
			mfs = append(mfs, &dto.MetricFamily{Name: &up, Help: proto.String("1 if the instance is healthy, i.e. reachable, or 0 if the scrape failed."), Type: &gauge,
				Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(1)}}}})
			for _, mf := range mfs {
				for _, m := range mf.Metric {
					m.Label = append(m.Label, t.labels...)
					slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
					m.TimestampMs = &ts
					samples += sampleCount(mf.GetType(), m)
				}
				if err := w.write(mf); err != nil {
					return fail("%v", err)
				}
			}
		}
	}
	if err := w.join(*out); err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stdout, "hftsim backfill: %s: %s to %s every %v, %d instruments, %d samples, schedule %s, in %.1fs\n",
		*out, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), *interval, len(insts), samples, *schedule, time.Since(began).Seconds())
	for _, p := range plan {
		fmt.Fprintf(stdout, "  %s %s\n", p.at.UTC().Format(time.RFC3339), p.scenario)
	}
	return 0
}

type planStep struct {
	at       time.Time
	scenario string
}

// backfillPlan is the scenario schedule: for "failures", each failure
// scenario for 10 minutes, evenly spaced, healthy in between.
func backfillPlan(schedule string, start, end time.Time) []planStep {
	if schedule != "failures" {
		return nil
	}
	var failures []string
	for _, n := range scenarioNames() {
		if n != scHealthy {
			failures = append(failures, n)
		}
	}
	slot := end.Sub(start) / time.Duration(len(failures)+1)
	d := min(10*time.Minute, slot/2)
	var plan []planStep
	for i, n := range failures {
		at := start.Add(slot * time.Duration(i+1))
		plan = append(plan, planStep{at, n}, planStep{at.Add(d), scHealthy})
	}
	return plan
}

func sampleCount(t dto.MetricType, m *dto.Metric) int {
	if t == dto.MetricType_HISTOGRAM {
		return len(m.GetHistogram().GetBucket()) + 3 // + the +Inf bucket, _sum and _count
	}
	return 1
}

// familyFiles keeps the samples of each metric family in a file of its own.
type familyFiles struct {
	dir     string
	files   map[string]*bufio.Writer
	closers map[string]*os.File
	order   []string
	header  map[string][]byte
}

func (f *familyFiles) write(mf *dto.MetricFamily) error {
	var buf bytes.Buffer
	if _, err := expfmt.MetricFamilyToOpenMetrics(&buf, mf); err != nil {
		return fmt.Errorf("encoding %s: %v", mf.GetName(), err)
	}
	name := mf.GetName()
	bw, ok := f.files[name]
	if !ok {
		fh, err := os.Create(filepath.Join(f.dir, fmt.Sprintf("%03d", len(f.order))))
		if err != nil {
			return err
		}
		bw = bufio.NewWriterSize(fh, 1<<20)
		f.files[name], f.closers[name] = bw, fh
		f.order = append(f.order, name)
		if f.header == nil {
			f.header = map[string][]byte{}
		}
	}
	// The "# HELP", "# TYPE" and "# UNIT" lines once per family, first.
	var body bytes.Buffer
	for _, line := range bytes.SplitAfter(buf.Bytes(), []byte("\n")) {
		if bytes.HasPrefix(line, []byte("# ")) {
			if !ok {
				f.header[name] = append(f.header[name], line...)
			}
			continue
		}
		body.Write(line)
	}
	_, err := bw.Write(body.Bytes())
	return err
}

// join writes every family, header then samples, and "# EOF" to path,
// atomically.
func (f *familyFiles) join(path string) error {
	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	bw := bufio.NewWriterSize(out, 1<<20)
	for i, name := range f.order {
		if err := f.files[name].Flush(); err != nil {
			return err
		}
		bw.Write(f.header[name])
		in, err := os.Open(filepath.Join(f.dir, fmt.Sprintf("%03d", i)))
		if err != nil {
			return err
		}
		_, err = io.Copy(bw, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	bw.WriteString("# EOF\n")
	if err := bw.Flush(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (f *familyFiles) close() {
	for _, fh := range f.closers {
		fh.Close()
	}
}
