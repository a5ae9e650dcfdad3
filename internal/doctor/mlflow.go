package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/s3store"
)

// MLflowClient speaks MLflow's REST API through the proxy.
type MLflowClient struct {
	Base   string // e.g. http://127.0.0.1:8080/mlflow
	User   string // proxy basic auth
	Pass   string
	Client *http.Client
}

func (m *MLflowClient) call(ctx context.Context, method, path string, in, out any) error {
	var body bytes.Buffer
	if in != nil {
		json.NewEncoder(&body).Encode(in)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.Base+path, &body)
	if err != nil {
		return err
	}
	req.SetBasicAuth(m.User, m.Pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var data bytes.Buffer
	data.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, snippet(data.Bytes()))
	}
	if out != nil {
		return json.Unmarshal(data.Bytes(), out)
	}
	return nil
}

// runInfo and runEnvelope are the part of MLflow's run JSON read here.
type runInfo struct {
	RunID       string `json:"run_id"`
	ArtifactURI string `json:"artifact_uri"`
}

type runEnvelope struct {
	Run struct {
		Info runInfo `json:"info"`
	} `json:"run"`
}

// MLflowRun is what a logged run created.
type MLflowRun struct {
	ExperimentID, RunID, ArtifactURI string
}

// ExperimentID returns the id of the named experiment, creating it.
func (m *MLflowClient) ExperimentID(ctx context.Context, name string) (string, error) {
	var got struct {
		Experiment struct {
			ID string `json:"experiment_id"`
		} `json:"experiment"`
	}
	if err := m.call(ctx, http.MethodGet, "/api/2.0/mlflow/experiments/get-by-name?experiment_name="+url.QueryEscape(name), nil, &got); err == nil {
		return got.Experiment.ID, nil
	}
	var created struct {
		ID string `json:"experiment_id"`
	}
	if err := m.call(ctx, http.MethodPost, "/api/2.0/mlflow/experiments/create", map[string]string{"name": name}, &created); err != nil {
		return "", err
	}
	return created.ID, nil
}

// LogRun creates a run with params, a metric and an artifact file.
func (m *MLflowClient) LogRun(ctx context.Context, experimentID string, params map[string]string, metric string, value float64, artifactName string, artifact []byte) (MLflowRun, error) {
	var created runEnvelope
	now := time.Now().UnixMilli()
	if err := m.call(ctx, http.MethodPost, "/api/2.0/mlflow/runs/create", map[string]any{"experiment_id": experimentID, "start_time": now}, &created); err != nil {
		return MLflowRun{}, err
	}
	run := MLflowRun{ExperimentID: experimentID, RunID: created.Run.Info.RunID, ArtifactURI: created.Run.Info.ArtifactURI}
	var ps []map[string]string
	for k, v := range params {
		ps = append(ps, map[string]string{"key": k, "value": v})
	}
	batch := map[string]any{"run_id": run.RunID, "params": ps, "metrics": []map[string]any{{"key": metric, "value": value, "timestamp": now, "step": 0}}}
	if err := m.call(ctx, http.MethodPost, "/api/2.0/mlflow/runs/log-batch", batch, nil); err != nil {
		return run, err
	}
	if err := m.PutArtifact(ctx, run, artifactName, artifact); err != nil {
		return run, err
	}
	return run, m.call(ctx, http.MethodPost, "/api/2.0/mlflow/runs/update", map[string]any{"run_id": run.RunID, "status": "FINISHED", "end_time": time.Now().UnixMilli()}, nil)
}

// ArtifactKey is the object key of an artifact of the run, relative to the
// artifact destination (bucket mlflow).
func (r MLflowRun) ArtifactKey(name string) (string, error) {
	rest, ok := strings.CutPrefix(r.ArtifactURI, "mlflow-artifacts:/")
	if !ok {
		return "", fmt.Errorf("run artifact_uri %q is not proxied (mlflow-artifacts:/): start mlflow with --serve-artifacts", r.ArtifactURI)
	}
	return strings.TrimPrefix(rest, "/") + "/" + name, nil
}

// GetRun returns the run's params and metrics.
func (m *MLflowClient) GetRun(ctx context.Context, runID string) (params map[string]string, metrics map[string]float64, err error) {
	var out struct {
		Run struct {
			Data struct {
				Params  []struct{ Key, Value string } `json:"params"`
				Metrics []struct {
					Key   string  `json:"key"`
					Value float64 `json:"value"`
				} `json:"metrics"`
			} `json:"data"`
		} `json:"run"`
	}
	if err := m.call(ctx, http.MethodGet, "/api/2.0/mlflow/runs/get?run_id="+url.QueryEscape(runID), nil, &out); err != nil {
		return nil, nil, err
	}
	params, metrics = map[string]string{}, map[string]float64{}
	for _, p := range out.Run.Data.Params {
		params[p.Key] = p.Value
	}
	for _, mt := range out.Run.Data.Metrics {
		metrics[mt.Key] = mt.Value
	}
	return params, metrics, nil
}

// DeleteRun soft-deletes a run.
func (m *MLflowClient) DeleteRun(ctx context.Context, runID string) error {
	return m.call(ctx, http.MethodPost, "/api/2.0/mlflow/runs/delete", map[string]string{"run_id": runID}, nil)
}

// doctorExperiment holds doctor's one probe run, reused by every doctor
// run: nothing of doctor's piles up in MLflow or in the bucket.
const (
	doctorExperiment = "opsctl-doctor"
	doctorRunTag     = "opsctl.doctor.probe"
	doctorArtifact   = "doctor.txt"
)

// ProbeRun returns doctor's probe run in the experiment, creating it once.
func (m *MLflowClient) ProbeRun(ctx context.Context, experimentID string) (MLflowRun, error) {
	var found struct {
		Runs []struct {
			Info runInfo `json:"info"`
		} `json:"runs"`
	}
	search := map[string]any{"experiment_ids": []string{experimentID}, "filter": "tags.`" + doctorRunTag + "` = 'true'", "run_view_type": "ACTIVE_ONLY", "max_results": 1}
	if err := m.call(ctx, http.MethodPost, "/api/2.0/mlflow/runs/search", search, &found); err != nil {
		return MLflowRun{}, err
	}
	if len(found.Runs) > 0 {
		r := found.Runs[0].Info
		return MLflowRun{ExperimentID: experimentID, RunID: r.RunID, ArtifactURI: r.ArtifactURI}, nil
	}
	var created runEnvelope
	body := map[string]any{"experiment_id": experimentID, "start_time": time.Now().UnixMilli(), "run_name": "opsctl doctor probe",
		"tags": []map[string]string{{"key": doctorRunTag, "value": "true"}}}
	if err := m.call(ctx, http.MethodPost, "/api/2.0/mlflow/runs/create", body, &created); err != nil {
		return MLflowRun{}, err
	}
	return MLflowRun{ExperimentID: experimentID, RunID: created.Run.Info.RunID, ArtifactURI: created.Run.Info.ArtifactURI}, nil
}

// SetTag sets (overwrites) a tag of a run.
func (m *MLflowClient) SetTag(ctx context.Context, runID, key, value string) error {
	return m.call(ctx, http.MethodPost, "/api/2.0/mlflow/runs/set-tag", map[string]string{"run_id": runID, "key": key, "value": value}, nil)
}

// Tags returns a run's tags.
func (m *MLflowClient) Tags(ctx context.Context, runID string) (map[string]string, error) {
	var out struct {
		Run struct {
			Data struct {
				Tags []struct{ Key, Value string } `json:"tags"`
			} `json:"data"`
		} `json:"run"`
	}
	if err := m.call(ctx, http.MethodGet, "/api/2.0/mlflow/runs/get?run_id="+url.QueryEscape(runID), nil, &out); err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, t := range out.Run.Data.Tags {
		tags[t.Key] = t.Value
	}
	return tags, nil
}

// PutArtifact uploads (overwrites) an artifact of a run through the
// tracking server's artifact proxy; GetArtifact reads it back.
func (m *MLflowClient) PutArtifact(ctx context.Context, run MLflowRun, name string, content []byte) error {
	key, err := run.ArtifactKey(name)
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, m.Base+"/api/2.0/mlflow-artifacts/artifacts/"+key, bytes.NewReader(content))
	req.SetBasicAuth(m.User, m.Pass)
	resp, err := m.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("artifact upload answered %s", resp.Status)
	}
	return nil
}

func (m *MLflowClient) GetArtifact(ctx context.Context, run MLflowRun, name string) ([]byte, error) {
	key, err := run.ArtifactKey(name)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.Base+"/api/2.0/mlflow-artifacts/artifacts/"+key, nil)
	req.SetBasicAuth(m.User, m.Pass)
	resp, err := m.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("artifact download answered %s: %s", resp.Status, snippet(b.Bytes()))
	}
	return b.Bytes(), nil
}

// doctorModel is doctor's one registered model, with one version made
// from the probe run, which every doctor run points the alias at again.
const (
	doctorModel = "opsctl-doctor"
	doctorAlias = "doctor"
)

// modelVersion is the part of MLflow's model version JSON read here.
type modelVersion struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Source  string `json:"source"`
	RunID   string `json:"run_id"`
	Status  string `json:"status"`
}

// ProbeModelVersion returns the version of doctor's registered model made
// from run, registering the model and the version once.
func (m *MLflowClient) ProbeModelVersion(ctx context.Context, run MLflowRun) (modelVersion, error) {
	err := m.call(ctx, http.MethodPost, "/api/2.0/mlflow/registered-models/create", map[string]string{"name": doctorModel}, nil)
	if err != nil && !strings.Contains(err.Error(), "RESOURCE_ALREADY_EXISTS") {
		return modelVersion{}, err
	}
	var found struct {
		ModelVersions []modelVersion `json:"model_versions"`
	}
	filter := url.QueryEscape("name='" + doctorModel + "' and run_id='" + run.RunID + "'")
	if err := m.call(ctx, http.MethodGet, "/api/2.0/mlflow/model-versions/search?filter="+filter, nil, &found); err != nil {
		return modelVersion{}, err
	}
	if len(found.ModelVersions) > 0 {
		return found.ModelVersions[0], nil
	}
	var created struct {
		ModelVersion modelVersion `json:"model_version"`
	}
	body := map[string]string{"name": doctorModel, "source": run.ArtifactURI, "run_id": run.RunID, "description": "opsctl doctor's probe: registered once, resolved by alias on every doctor run"}
	if err := m.call(ctx, http.MethodPost, "/api/2.0/mlflow/model-versions/create", body, &created); err != nil {
		return modelVersion{}, err
	}
	return created.ModelVersion, nil
}

// SetAlias points alias of doctor's model at version; ByAlias resolves it.
func (m *MLflowClient) SetAlias(ctx context.Context, alias, version string) error {
	return m.call(ctx, http.MethodPost, "/api/2.0/mlflow/registered-models/alias", map[string]string{"name": doctorModel, "alias": alias, "version": version}, nil)
}

func (m *MLflowClient) ByAlias(ctx context.Context, alias string) (modelVersion, error) {
	var out struct {
		ModelVersion modelVersion `json:"model_version"`
	}
	err := m.call(ctx, http.MethodGet, "/api/2.0/mlflow/registered-models/alias?name="+url.QueryEscape(doctorModel)+"&alias="+url.QueryEscape(alias), nil, &out)
	return out.ModelVersion, err
}

// checkRegistry registers the probe run as a version of doctor's model
// (once), points the alias at it, resolves the alias and loads the
// version's artifact back through its run: content, the one just written.
func (m *MLflowClient) checkRegistry(ctx context.Context, run MLflowRun, content []byte) (string, error) {
	v, err := m.ProbeModelVersion(ctx, run)
	if err != nil {
		return "", fmt.Errorf("model registry: %w", err)
	}
	if err := m.SetAlias(ctx, doctorAlias, v.Version); err != nil {
		return "", fmt.Errorf("model registry: %w", err)
	}
	got, err := m.ByAlias(ctx, doctorAlias)
	if err != nil {
		return "", fmt.Errorf("model registry: %w", err)
	}
	if got.Version != v.Version || got.RunID != run.RunID {
		return "", fmt.Errorf("model registry: alias %s resolves to version %s of run %s, want version %s of run %s", doctorAlias, got.Version, got.RunID, v.Version, run.RunID)
	}
	loaded, err := m.GetArtifact(ctx, MLflowRun{RunID: got.RunID, ArtifactURI: got.Source}, doctorArtifact)
	if err != nil {
		return "", fmt.Errorf("model registry: loading %s@%s: %w", doctorModel, doctorAlias, err)
	}
	if !bytes.Equal(loaded, content) {
		return "", fmt.Errorf("model registry: %s@%s loaded %d bytes, not the %d just written", doctorModel, doctorAlias, len(loaded), len(content))
	}
	return fmt.Sprintf("model %s version %s registered, loaded back by alias @%s", doctorModel, v.Version, doctorAlias), nil
}

// checkMLflow writes through MLflow and reads back, always into the same
// probe run: a tag overwritten and an artifact overwritten at the same key,
// so fifty doctor runs leave what one leaves.
func (d *doctor) checkMLflow(ctx context.Context, base string) (string, error) {
	user, pass := d.user()
	m := &MLflowClient{Base: base + "/mlflow", User: user, Pass: pass, Client: &http.Client{Timeout: d.cfg.Timeout}}
	page, body, err := d.request(ctx, http.MethodGet, base+"/mlflow/", "proxy", nil, nil)
	if err != nil {
		return "", err
	}
	if page.StatusCode != 200 || !bytes.Contains(bytes.ToLower(body), []byte("<html")) {
		return "", fmt.Errorf("/mlflow/ answered %s without the UI page", page.Status)
	}
	exp, err := m.ExperimentID(ctx, doctorExperiment)
	if err != nil {
		return "", err
	}
	run, err := m.ProbeRun(ctx, exp)
	if err != nil {
		return "", err
	}
	stamp := fmt.Sprint(time.Now().UnixNano())
	if err := m.SetTag(ctx, run.RunID, "opsctl.doctor.checked_at", stamp); err != nil {
		return "", err
	}
	content := []byte("opsctl doctor " + stamp + "\n")
	if err := m.PutArtifact(ctx, run, doctorArtifact, content); err != nil {
		return "", err
	}
	tags, err := m.Tags(ctx, run.RunID)
	if err != nil {
		return "", err
	}
	if tags["opsctl.doctor.checked_at"] != stamp {
		return "", fmt.Errorf("run %s came back with tag %q, want %q", run.RunID, tags["opsctl.doctor.checked_at"], stamp)
	}
	got, err := m.GetArtifact(ctx, run, doctorArtifact)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(got, content) {
		return "", fmt.Errorf("the artifact read back differs from what was written (%d bytes, want %d)", len(got), len(content))
	}
	registry, err := m.checkRegistry(ctx, run, content)
	if err != nil {
		return "", err
	}
	detail := "probe run " + run.RunID + ": tag and artifact written and read back through /mlflow/; " + registry
	if d.running("seaweedfs") || d.cfg.S3External {
		key, _ := run.ArtifactKey(doctorArtifact)
		store, err := s3store.New(d.cfg.S3URL, d.cfg.Env["AWS_ACCESS_KEY_ID"], d.cfg.Env["AWS_SECRET_ACCESS_KEY"])
		if err != nil {
			return "", err
		}
		bucket := strings.TrimSuffix(strings.TrimPrefix(d.cfg.Env["MLFLOW_ARTIFACT_ROOT"], "s3://"), "/")
		if i := strings.IndexByte(bucket, '/'); i >= 0 {
			key = bucket[i+1:] + "/" + key
			bucket = bucket[:i]
		}
		ok, err := store.ObjectExists(ctx, bucket, key)
		if err != nil {
			return "", fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
		}
		if !ok {
			return "", fmt.Errorf("the artifact is not in the object store at s3://%s/%s", bucket, key)
		}
		detail += fmt.Sprintf("; artifact found at s3://%s/%s", bucket, key)
	}
	return detail, nil
}
