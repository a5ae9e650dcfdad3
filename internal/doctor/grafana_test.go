package doctor

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// grafanaAPI replays the answers a real Grafana 12.4 gave for the three
// provisioned datasources (recorded on 2026-12-01 with Prometheus, Loki and
// Alertmanager up). The Alertmanager datasource has no backend: its health
// endpoint answers 500 "Plugin unavailable" while Alertmanager is up, and
// the datasource proxy answers Alertmanager's own status.
func grafanaAPI(t *testing.T, down map[string]bool) *httptest.Server {
	t.Helper()
	datasources := `[
 {"id":1,"uid":"prometheus","orgId":1,"name":"Prometheus","type":"prometheus","access":"proxy","url":"http://prometheus:9090/prometheus","isDefault":true},
 {"id":2,"uid":"loki","orgId":1,"name":"Loki","type":"loki","access":"proxy","url":"http://loki:3100","isDefault":false},
 {"id":3,"uid":"alertmanager","orgId":1,"name":"Alertmanager","type":"alertmanager","access":"proxy","url":"http://alertmanager:9093/alertmanager","isDefault":false}]`
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != "grafana-secret" {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"message":"Invalid username or password","messageId":"password-auth.failed","statusCode":401}`))
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /grafana/api/health", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"database":"ok","version":"12.4.0","commit":"0000000"}`))
	})
	mux.HandleFunc("GET /grafana/api/datasources", auth(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(datasources))
	}))
	mux.HandleFunc("GET /grafana/api/datasources/uid/{uid}/health", auth(func(w http.ResponseWriter, r *http.Request) {
		uid := r.PathValue("uid")
		switch {
		case uid == "alertmanager":
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"message":"Plugin unavailable","messageId":"plugin.unavailable","statusCode":500,"traceID":""}`))
		case down[uid]:
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"message":"Post \"http://` + uid + `/api/v1/query\": dial tcp: lookup ` + uid + ` on 127.0.0.11:53: no such host","status":"ERROR"}`))
		case uid == "prometheus":
			w.Write([]byte(`{"message":"Successfully queried the Prometheus API.","status":"OK"}`))
		case uid == "loki":
			w.Write([]byte(`{"message":"Data source successfully connected.","status":"OK"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"Data source not found"}`))
		}
	}))
	mux.HandleFunc("GET /grafana/api/datasources/proxy/uid/alertmanager/api/v2/status", auth(func(w http.ResponseWriter, r *http.Request) {
		if down["alertmanager"] {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"cluster":{"status":"disabled","peers":[]},"versionInfo":{"version":"0.34.1"},"config":{"original":"global: {}"},"uptime":"2026-12-01T08:00:00.000Z"}`))
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func testDoctor(base string, env map[string]string) *doctor {
	return &doctor{cfg: Config{BaseURL: base, Env: env, Timeout: 5 * time.Second}, client: &http.Client{Timeout: 5 * time.Second}}
}

var grafanaEnv = map[string]string{"GRAFANA_ADMIN_USER": "admin", "GRAFANA_ADMIN_PASSWORD": "grafana-secret"}

func TestGrafanaDatasourcesHealthy(t *testing.T) {
	srv := grafanaAPI(t, nil)
	detail, err := testDoctor(srv.URL, grafanaEnv).checkGrafana(context.Background(), srv.URL)
	if err != nil {
		t.Fatalf("a healthy Grafana failed the check: %v", err)
	}
	for _, want := range []string{"prometheus", "loki", "alertmanager"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail %q does not name datasource %s", detail, want)
		}
	}
}

func TestGrafanaDatasourceDown(t *testing.T) {
	for _, uid := range []string{"prometheus", "loki", "alertmanager"} {
		t.Run(uid, func(t *testing.T) {
			srv := grafanaAPI(t, map[string]bool{uid: true})
			_, err := testDoctor(srv.URL, grafanaEnv).checkGrafana(context.Background(), srv.URL)
			if err == nil || !strings.Contains(err.Error(), uid) {
				t.Fatalf("datasource %s down: want an error naming it, got %v", uid, err)
			}
		})
	}
}

func TestGrafanaWrongPassword(t *testing.T) {
	srv := grafanaAPI(t, nil)
	env := map[string]string{"GRAFANA_ADMIN_USER": "admin", "GRAFANA_ADMIN_PASSWORD": "old"}
	_, err := testDoctor(srv.URL, env).checkGrafana(context.Background(), srv.URL)
	if err == nil || !strings.Contains(err.Error(), "GRAFANA_ADMIN_PASSWORD") {
		t.Fatalf("want an error that names GRAFANA_ADMIN_PASSWORD, got %v", err)
	}
}

// The recorded answers are what the check parses: keep them valid JSON.
func TestGrafanaRecordingIsJSON(t *testing.T) {
	srv := grafanaAPI(t, nil)
	for _, p := range []string{"/grafana/api/datasources", "/grafana/api/datasources/uid/prometheus/health", "/grafana/api/datasources/proxy/uid/alertmanager/api/v2/status"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+p, nil)
		req.SetBasicAuth("admin", "grafana-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		resp.Body.Close()
	}
}
