package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"
)

// doctorFootprint counts what doctor can leave behind: runs of its MLflow
// experiment (deleted ones too) and objects in every bucket. Loki is not in
// this stack test (no local image); doctor writes it one line a day.
func (s *Stack) doctorFootprint(t *testing.T) (runs, versions int, objects map[string]int) {
	t.Helper()
	ctx := context.Background()
	m := s.mlflow()
	exp, err := m.ExperimentID(ctx, "opsctl-doctor")
	if err != nil {
		t.Fatalf("doctor's experiment: %v", err)
	}
	var out struct {
		Runs []struct{} `json:"runs"`
	}
	body := map[string]any{"experiment_ids": []string{exp}, "run_view_type": "ALL", "max_results": 1000}
	if err := s.mlflowCall(ctx, m.Base+"/api/2.0/mlflow/runs/search", body, &out); err != nil {
		t.Fatalf("searching doctor's runs: %v", err)
	}
	// The model registry: doctor's model keeps its one version.
	var found struct {
		ModelVersions []struct {
			Version string `json:"version"`
		} `json:"model_versions"`
	}
	if code, body := httpGet(t, m.Base+"/api/2.0/mlflow/model-versions/search?filter="+url.QueryEscape("name='opsctl-doctor'"), s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"]); code != 200 {
		t.Fatalf("searching doctor's model versions: %d %s", code, body)
	} else if err := json.Unmarshal(body, &found); err != nil {
		t.Fatal(err)
	}
	st := s.store(t, s.Env["AWS_SECRET_ACCESS_KEY"])
	objects = map[string]int{}
	for _, b := range []string{"mlflow", "backups"} {
		keys, err := st.ListKeys(ctx, b, "")
		if err != nil {
			t.Fatalf("listing bucket %s: %v", b, err)
		}
		objects[b] = len(keys)
	}
	return len(out.Runs), len(found.ModelVersions), objects
}

// checkDoctorLeavesNothing: doctor run many times holds MLflow and the
// buckets where one run left them.
func (s *Stack) checkDoctorLeavesNothing(t *testing.T) {
	n := 10
	if v, err := strconv.Atoi(os.Getenv("OPS_DOCTOR_RUNS")); err == nil && v > 1 {
		n = v
	}
	if out, err := s.run(s.Opsctl, "doctor"); err != nil {
		t.Fatalf("doctor: %v\n%s", err, out)
	}
	runs, versions, objects := s.doctorFootprint(t)
	if runs != 1 {
		t.Errorf("after a doctor run its experiment holds %d runs, want its one probe run", runs)
	}
	if versions != 1 {
		t.Errorf("after a doctor run its registered model has %d versions, want one", versions)
	}
	for i := 1; i < n; i++ {
		if out, err := s.run(s.Opsctl, "doctor"); err != nil {
			t.Fatalf("doctor run %d: %v\n%s", i+1, err, out)
		}
	}
	runsAfter, versionsAfter, objectsAfter := s.doctorFootprint(t)
	if runsAfter != runs {
		t.Errorf("MLflow: %d doctor runs after %d doctor calls, %d after one", runsAfter, n, runs)
	}
	if versionsAfter != versions {
		t.Errorf("model registry: %d versions after %d doctor calls, %d after one", versionsAfter, n, versions)
	}
	for b, c := range objects {
		if objectsAfter[b] != c {
			t.Errorf("bucket %s: %d objects after %d doctor calls, %d after one", b, objectsAfter[b], n, c)
		}
	}
	t.Logf("%d doctor runs: MLflow %d run(s), %d model version(s), objects %v, unchanged", n, runsAfter, versionsAfter, objectsAfter)
}

func (s *Stack) mlflowCall(ctx context.Context, url string, in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.SetBasicAuth(s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, body)
	}
	return json.Unmarshal(body, out)
}
