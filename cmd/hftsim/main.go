// Command hftsim is a synthetic okx-hft-collector or okx-hft-executor: it
// exports the metrics of the hftmetrics contract, at realistic rates, and
// writes the JSON logs the real services would, so the ops node's rules,
// alerts and dashboards can be exercised without OKX. Failure scenarios are
// switched at run time over HTTP.
//
//	hftsim --role collector|executor [--listen 127.0.0.1:8000] [--seed 42]
//	       [--instruments BTC-USDT,ETH-USDT,BTC-USDT-SWAP] [--scenario healthy]
//	       [--tick 100ms] [--log-level info]
//	hftsim probe http://127.0.0.1:8000/healthz
//
// Endpoints: GET /metrics, GET /healthz (503 when the simulation loop has
// stalled), GET /scenario, POST /scenario?name=<name> (400 with the valid
// names on an unknown one).
//
// The simulation advances in batches, once per tick (100 ms): every message,
// order and write of the tick is simulated at once, nothing sleeps per
// event, so the process stays well under 5% of one core. Given the seed,
// the tick times and the scenario switches, everything it records is
// deterministic (math/rand/v2 PCG).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// defaultListen keeps a simulator started by hand on this machine only:
// POST /scenario switches failures on for anyone who reaches it. Inside
// compose, where Prometheus scrapes it over the network, compose.yaml
// passes --listen :8000 and publishes the port on ${OPS_DEBUG_BIND} only.
const defaultListen = "127.0.0.1:8000"

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "probe" {
		return probe(args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "backfill-db" {
		return backfillDB(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "backfill" {
		return backfill(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("hftsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "", "service to simulate: collector or executor")
	listen := fs.String("listen", defaultListen, "HTTP listen address (/metrics, /healthz, /scenario); :8000 for every interface, as in compose.yaml")
	seed := fs.Uint64("seed", 42, "random seed: same seed, same samples")
	instruments := fs.String("instruments", "BTC-USDT,ETH-USDT,BTC-USDT-SWAP", "comma-separated OKX instrument IDs (at most 50)")
	scenario := fs.String("scenario", scHealthy, "initial scenario: "+validScenarioList())
	writeDB := fs.Bool("write-db", false, "also write the data contract's rows (pkg/hftdata) into the database of PGHOST, PGPORT, PGDATABASE, PGUSER and PGPASSWORD, migrating it first")
	tick := fs.Duration("tick", 100*time.Millisecond, "simulation step (10ms to 1s)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hftsim --role collector|executor [flags]\n       hftsim probe URL\n       hftsim backfill --out FILE [--hours 24] [--instruments ...]\n       hftsim backfill-db [--hours 24] [--replace] (database from PGHOST, PGUSER, PGPASSWORD, PGDATABASE)\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hftsim: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "hftsim: --log-level: %v\n", err)
		return 2
	}
	if *tick < 10*time.Millisecond || *tick > time.Second {
		fmt.Fprintf(stderr, "hftsim: --tick %v out of range (10ms to 1s)\n", *tick)
		return 2
	}
	if _, ok := lookupScenario(*scenario); !ok {
		fmt.Fprintf(stderr, "hftsim: --scenario %q unknown; valid: %s\n", *scenario, validScenarioList())
		return 2
	}
	insts := splitInstruments(*instruments)

	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: level})).With("role", *role)
	reg := prometheus.NewRegistry()
	start := time.Now()
	s, err := newSim(config{Role: *role, Seed: *seed, Instruments: insts}, reg, logger, start)
	if err != nil {
		fmt.Fprintf(stderr, "hftsim: %v\n", err)
		return 2
	}
	if err := s.SetScenario(*scenario, start); err != nil {
		fmt.Fprintf(stderr, "hftsim: %v\n", err)
		return 2
	}

	if *writeDB {
		s.enableData(*seed, insts, start)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "hftsim: %v\n", err)
		return 1
	}
	srv := &http.Server{
		Handler:           newHandler(s, reg, time.Now),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("hftsim started", "event", "start", "version", version, "listen", ln.Addr().String(), "seed", *seed,
		"instruments", insts, "scenario", *scenario, "tick", tick.String())

	if *writeDB {
		go writeLoop(ctx, s, newDBWriter(logger), logger)
	}

	t := time.NewTicker(*tick)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			s.Tick(now)
		case err := <-serveErr:
			logger.Error("HTTP server failed", "event", "stop", "error", err.Error())
			return 1
		case <-ctx.Done():
			logger.Info("hftsim stopping", "event", "stop")
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdownCtx); err != nil {
				logger.Error("HTTP shutdown", "event", "stop", "error", err.Error())
				return 1
			}
			return 0
		}
	}
}

// probe is the health check of the FROM-scratch image, which has no shell,
// wget or curl: exit 0 if GET url answers 2xx within 3 s, else 1.
func probe(args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: hftsim probe URL")
		return 2
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "probe: %v\n", err)
		return 1
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "probe: %s: %s\n", args[0], resp.Status)
		return 1
	}
	return 0
}

// splitInstruments reads the comma-separated --instruments flag; blanks
// around and between the IDs are ignored, the IDs are checked by the
// metrics contract.
func splitInstruments(list string) []string {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
