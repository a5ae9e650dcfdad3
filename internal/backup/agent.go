package backup

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Agent is the backup service: it runs a backup every Interval and a
// restore drill every DrillInterval, serves their results as metrics, and
// runs one on request (opsctl backup on the host asks it through
// `docker compose exec`).
type Agent struct {
	Engine *Engine
	reg    *prometheus.Registry
	m      agentMetrics
	// mu guards the lazily registered gauges: a scheduled run and one asked
	// for through Control can end at the same time.
	mu sync.Mutex
}

type agentMetrics struct {
	configured, interval, drillInterval                            prometheus.Gauge
	lastRun, lastRunOK, lastSuccess, lastDuration, lastSize, added prometheus.Gauge
	snapshots                                                      prometheus.Gauge
	runs                                                           *prometheus.CounterVec
	drillLastRun, drillOK, drillLastSuccess, drillDuration         prometheus.Gauge
}

func gauge(reg *prometheus.Registry, name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	reg.MustRegister(g)
	return g
}

// NewAgent registers the agent's metrics.
func NewAgent(e *Engine) *Agent {
	reg := prometheus.NewRegistry()
	a := &Agent{Engine: e, reg: reg}
	a.m = agentMetrics{
		configured:       gauge(reg, "ops_backup_configured", "1 when a backup repository (BACKUP_REPOSITORY) is configured."),
		interval:         gauge(reg, "ops_backup_interval_seconds", "Configured interval between backups."),
		drillInterval:    gauge(reg, "ops_restore_drill_interval_seconds", "Configured interval between restore drills."),
		lastRun:          gauge(reg, "ops_backup_last_run_timestamp_seconds", "When the last backup ended."),
		lastSuccess:      gauge(reg, "ops_backup_last_success_timestamp_seconds", "When the newest snapshot in the repository was taken (0: none)."),
		lastDuration:     gauge(reg, "ops_backup_last_duration_seconds", "Wall time of the last successful backup."),
		lastSize:         gauge(reg, "ops_backup_last_size_bytes", "Bytes of data in the last snapshot."),
		added:            gauge(reg, "ops_backup_last_added_bytes", "Bytes the last snapshot added to the repository."),
		snapshots:        gauge(reg, "ops_backup_snapshots", "Snapshots of this node in the repository."),
		drillDuration:    gauge(reg, "ops_restore_drill_last_duration_seconds", "Wall time of the last successful restore drill."),
		drillLastRun:     gauge(reg, "ops_restore_drill_last_run_timestamp_seconds", "When the last restore drill ended."),
		drillLastSuccess: gauge(reg, "ops_restore_drill_last_success_timestamp_seconds", "When the last restore drill passed (0: never)."),
		runs:             prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ops_backup_runs_total", Help: "Backups run, by result."}, []string{"result"}),
	}
	reg.MustRegister(a.m.runs)
	a.m.runs.WithLabelValues("success")
	a.m.runs.WithLabelValues("failure")
	cfg := e.Cfg
	a.m.interval.Set(cfg.Interval.Seconds())
	a.m.drillInterval.Set(cfg.DrillInterval.Seconds())
	if cfg.Configured() {
		a.m.configured.Set(1)
	}
	return a
}

// lazily registered: absent until the first run ended, so an alert on == 0
// cannot fire before anything ran.
func (a *Agent) runOK(ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m.lastRunOK == nil {
		a.m.lastRunOK = gauge(a.reg, "ops_backup_last_run_success", "1 when the last backup succeeded, 0 when it failed.")
	}
	a.m.lastRunOK.Set(b2f(ok))
	a.m.lastRun.SetToCurrentTime()
}

func (a *Agent) drillResult(ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m.drillOK == nil {
		a.m.drillOK = gauge(a.reg, "ops_restore_drill_last_success", "1 when the last restore drill passed, 0 when it failed.")
	}
	a.m.drillOK.Set(b2f(ok))
	a.m.drillLastRun.SetToCurrentTime()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Seed sets the last success from the repository's newest snapshot, so a
// restarted agent does not report backups missing that exist.
func (a *Agent) Seed(ctx context.Context) {
	if !a.Engine.Cfg.Configured() {
		return
	}
	snaps, err := a.Engine.Cfg.Restic.Snapshots(ctx)
	if err != nil {
		a.Engine.logf("reading the repository's snapshots at start: %v", err)
		return
	}
	a.m.snapshots.Set(float64(len(snaps)))
	if len(snaps) > 0 {
		a.m.lastSuccess.Set(float64(snaps[len(snaps)-1].Time.Unix()))
	}
}

// RunBackup runs one backup and records its result.
func (a *Agent) RunBackup(ctx context.Context) (Result, error) {
	res, err := a.Engine.Backup(ctx)
	a.runOK(err == nil)
	if err != nil {
		a.m.runs.WithLabelValues("failure").Inc()
		a.Engine.logf("backup failed: %v", err)
		return res, err
	}
	a.m.runs.WithLabelValues("success").Inc()
	a.m.lastSuccess.Set(float64(res.Started.Unix()))
	a.m.lastDuration.Set(res.Duration.Seconds())
	a.m.lastSize.Set(float64(res.TotalBytes))
	a.m.added.Set(float64(res.AddedBytes))
	a.m.snapshots.Set(float64(res.Snapshots))
	a.Engine.logf("backup %s: %d bytes, %d added, %d snapshots kept, in %s", short(res.Snapshot), res.TotalBytes, res.AddedBytes, res.Snapshots, res.Duration.Round(time.Millisecond))
	return res, nil
}

// RunDrill runs one restore drill and records its result.
func (a *Agent) RunDrill(ctx context.Context) (DrillResult, error) {
	res, err := a.Engine.Drill(ctx)
	a.drillResult(err == nil)
	if err != nil {
		a.Engine.logf("restore drill failed: %v", err)
		return res, err
	}
	a.m.drillLastSuccess.SetToCurrentTime()
	a.m.drillDuration.Set(res.Duration.Seconds())
	a.Engine.logf("restore drill of %s passed in %s: restored %v, live %v", res.Snapshot, res.Duration.Round(time.Millisecond), res.Restored, res.Live)
	return res, nil
}

// Schedule runs backups and drills until ctx ends: the first backup
// FirstDelay after the start, then one every Interval; the first drill
// after the first successful backup, then one every DrillInterval.
func (a *Agent) Schedule(ctx context.Context) {
	cfg := a.Engine.Cfg
	if !cfg.Configured() {
		a.Engine.logf("no backup target (BACKUP_REPOSITORY is empty): nothing is backed up; BackupMissing fires")
		<-ctx.Done()
		return
	}
	nextBackup := time.Now().Add(cfg.FirstDelay)
	var nextDrill time.Time
	for {
		wait := time.Until(nextBackup)
		if !nextDrill.IsZero() && time.Until(nextDrill) < wait {
			wait = time.Until(nextDrill)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
		now := time.Now()
		if !now.Before(nextBackup) {
			nextBackup = now.Add(cfg.Interval)
			if _, err := a.RunBackup(ctx); err == nil && nextDrill.IsZero() {
				nextDrill = time.Now()
			}
		}
		if !nextDrill.IsZero() && !time.Now().Before(nextDrill) {
			nextDrill = time.Now().Add(cfg.DrillInterval)
			a.RunDrill(ctx)
		}
	}
}

// Handler serves /metrics and /-/healthy (on the network, for Prometheus
// and the health check).
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

// Control serves POST /backup and POST /drill, which run one now and
// answer its result as JSON (500 with the error). It listens on loopback
// only: `opsctl backup` reaches it through `docker compose exec`, no other
// container can start a backup.
func (a *Agent) Control() http.Handler {
	mux := http.NewServeMux()
	answer := func(w http.ResponseWriter, v any, err error) {
		w.Header().Set("Content-Type", "application/json")
		out := map[string]any{"result": v}
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			out["error"] = err.Error()
		}
		json.NewEncoder(w).Encode(out)
	}
	mux.HandleFunc("POST /backup", func(w http.ResponseWriter, r *http.Request) {
		res, err := a.RunBackup(context.WithoutCancel(r.Context()))
		answer(w, res, err)
	})
	mux.HandleFunc("POST /drill", func(w http.ResponseWriter, r *http.Request) {
		res, err := a.RunDrill(context.WithoutCancel(r.Context()))
		answer(w, res, err)
	})
	return mux
}

// ControlAddr is where Control listens inside the backup container.
const ControlAddr = "127.0.0.1:9109"

// Serve serves metrics on addr and Control on ControlAddr, and schedules
// until ctx ends.
func (a *Agent) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	cln, err := net.Listen("tcp", ControlAddr)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctl := &http.Server{Handler: a.Control(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		// Before the first run, but never holding up /metrics or the health
		// check: restic retries an unreachable target for minutes.
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		a.Seed(sctx)
		cancel()
		a.Schedule(ctx)
	}()
	go ctl.Serve(cln)
	go func() { <-ctx.Done(); srv.Close(); ctl.Close() }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}
