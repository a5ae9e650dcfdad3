package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/pkg/hftmetrics"
)

// newTestServer serves a sim whose clock is the harness's.
func newTestServer(t *testing.T, role string) (*harness, *httptest.Server) {
	h := newHarness(t, role, 42)
	srv := httptest.NewServer(newHandler(h.s, h.reg, func() time.Time { return h.now }))
	t.Cleanup(srv.Close)
	h.run(time.Second, nil)
	return h, srv
}

func do(t *testing.T, method, u string, body io.Reader, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func decodeState(t *testing.T, body string) scenarioState {
	t.Helper()
	var st scenarioState
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return st
}

func TestScenarioSwitchOverHTTP(t *testing.T) {
	h, srv := newTestServer(t, roleCollector)

	resp, body := do(t, "GET", srv.URL+"/scenario", nil)
	st := decodeState(t, body)
	if resp.StatusCode != 200 || st.Scenario != scHealthy || !st.Applies || st.Role != roleCollector || len(st.Scenarios) != 13 {
		t.Fatalf("GET /scenario: %d %+v", resp.StatusCode, st)
	}

	resp, body = do(t, "POST", srv.URL+"/scenario?name="+scFeedStale, nil)
	st = decodeState(t, body)
	if resp.StatusCode != 200 || st.Scenario != scFeedStale || !st.Applies || st.Detail == "" || !st.Since.Equal(h.now) {
		t.Fatalf("POST feed-stale: %d %+v", resp.StatusCode, st)
	}
	if _, body = do(t, "GET", srv.URL+"/scenario", nil); decodeState(t, body).Scenario != scFeedStale {
		t.Fatalf("GET after POST: %s", body)
	}

	// A scenario of the other role is accepted and reported as not applying.
	resp, body = do(t, "POST", srv.URL+"/scenario", strings.NewReader(url.Values{"name": {scKillSwitch}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	if st = decodeState(t, body); resp.StatusCode != 200 || st.Scenario != scKillSwitch || st.Applies {
		t.Fatalf("POST kill-switch (form) to the collector: %d %+v", resp.StatusCode, st)
	}

	for _, q := range []string{"?name=nope", "", "?name="} {
		resp, body = do(t, "POST", srv.URL+"/scenario"+q, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST /scenario%s: %d, want 400", q, resp.StatusCode)
		}
		for _, name := range scenarioNames() {
			if !strings.Contains(body, `"`+name+`"`) {
				t.Errorf("POST /scenario%s: the 400 does not list %s: %s", q, name, body)
			}
		}
	}
	if _, body = do(t, "GET", srv.URL+"/scenario", nil); decodeState(t, body).Scenario != scKillSwitch {
		t.Errorf("a refused switch changed the scenario: %s", body)
	}
	if resp, _ = do(t, "PUT", srv.URL+"/scenario?name=healthy", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT /scenario: %d, want 405", resp.StatusCode)
	}
}

func TestHealthz(t *testing.T) {
	h, srv := newTestServer(t, roleExecutor)
	resp, body := do(t, "GET", srv.URL+"/healthz", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
	h.now = h.now.Add(10 * time.Second) // the loop stopped ticking
	if resp, body = do(t, "GET", srv.URL+"/healthz", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz with a stalled loop: %d %s", resp.StatusCode, body)
	}
	h.run(time.Second, nil)
	if resp, _ = do(t, "GET", srv.URL+"/healthz", nil); resp.StatusCode != 200 {
		t.Fatalf("healthz after ticking again: %d", resp.StatusCode)
	}
}

// TestMetricsExposeExactlyTheContract: /metrics carries every metric of
// the role's contract with its type, and nothing else (no go_*, process_*,
// promhttp_*).
func TestMetricsExposeExactlyTheContract(t *testing.T) {
	for _, role := range []string{roleCollector, roleExecutor} {
		t.Run(role, func(t *testing.T) {
			_, srv := newTestServer(t, role)
			resp, body := do(t, "GET", srv.URL+"/metrics", nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := map[string]string{}
			sc := bufio.NewScanner(strings.NewReader(body))
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
					got[f[2]] = f[3]
				}
			}
			want := map[string]string{}
			for _, s := range hftmetrics.Contract() {
				if s.ExportedBy(hftmetrics.Source(role)) {
					want[s.Name] = string(s.Type)
				}
			}
			for name, typ := range want {
				if got[name] != typ {
					t.Errorf("%s: exposed as %q, contract %q", name, got[name], typ)
				}
			}
			for name := range got {
				if _, ok := want[name]; !ok {
					t.Errorf("%s is exposed but not in the %s's contract", name, role)
				}
			}

			// Prometheus with scrape_native_histograms asks for protobuf,
			// which is what carries the native histograms.
			resp, _ = do(t, "GET", srv.URL+"/metrics", nil, "Accept",
				"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,text/plain;version=0.0.4;q=0.3")
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/vnd.google.protobuf") {
				t.Errorf("protobuf not negotiated: Content-Type %q", ct)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer bad.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"probe", ok.URL}, 0},
		{[]string{"probe", bad.URL}, 1},
		{[]string{"probe", closed.URL}, 1},
		{[]string{"probe"}, 2},
		{[]string{"probe", ok.URL, "extra"}, 2},
	} {
		var stderr strings.Builder
		if got := run(tc.args, io.Discard, &stderr); got != tc.want {
			t.Errorf("run(%v) = %d, want %d (%s)", tc.args, got, tc.want, stderr.String())
		}
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},                   // no role
		{"--role", "trader"}, // unknown role
		{"--role", "collector", "--scenario", "nope"},
		{"--role", "collector", "--tick", "1ns"},
		{"--role", "collector", "--log-level", "loud"},
		{"--role", "collector", "--instruments", "btc-usdt"},
		{"--role", "collector", "extra"},
		{"--bogus"},
	} {
		var stderr strings.Builder
		if got := run(args, io.Discard, &stderr); got != 2 {
			t.Errorf("run(%v) = %d, want 2 (%s)", args, got, stderr.String())
		} else if stderr.Len() == 0 {
			t.Errorf("run(%v): no message", args)
		}
	}
	if got := run([]string{"--role", "collector", "--listen", "256.0.0.1:0"}, io.Discard, io.Discard); got != 1 {
		t.Errorf("unusable listen address: %d, want 1", got)
	}
}
