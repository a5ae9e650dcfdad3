package main

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// staleAfter is how long without a tick /healthz tolerates.
const staleAfter = 5 * time.Second

// newHandler serves /metrics (the contract metrics only; promhttp
// negotiates the protobuf format, which carries the native histograms,
// when Prometheus asks for it), /healthz and /scenario.
func newHandler(s *sim, g prometheus.Gatherer, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		st := s.State()
		if age := now().Sub(s.LastTick()); age > staleAfter {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "stalled", "role": st.Role, "last_tick_age_seconds": age.Seconds()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "role": st.Role, "scenario": st.Scenario})
	})
	mux.HandleFunc("GET /scenario", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("POST /scenario", func(w http.ResponseWriter, r *http.Request) {
		name := r.FormValue("name")
		if name == "" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "missing ?name=; valid: " + validScenarioList(), "valid": scenarioNames()})
			return
		}
		if err := s.SetScenario(name, now()); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "valid": scenarioNames()})
			return
		}
		writeJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("hftsim: GET /metrics, GET /healthz, GET /scenario, POST /scenario?name=<" + validScenarioList() + ">\n"))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
