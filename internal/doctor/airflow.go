package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// checkAirflow logs in to Airflow's API as the admin of .env (the FAB auth
// manager's POST /auth/token) and checks what makes its pipelines run: the
// scheduler, triggerer and DAG processor healthy by their heartbeats, every
// DAG file imported, and the DAGs it lists.
func (d *doctor) checkAirflow(ctx context.Context, base string) (string, error) {
	api := base + "/airflow"
	var health map[string]struct {
		Status string `json:"status"`
	}
	if err := d.getJSON(ctx, api+"/api/v2/monitor/health", "", &health); err != nil {
		return "", err
	}
	var sick []string
	for _, c := range []string{"metadatabase", "scheduler", "triggerer", "dag_processor"} {
		if health[c].Status != "healthy" {
			sick = append(sick, fmt.Sprintf("%s %q", c, health[c].Status))
		}
	}
	if len(sick) > 0 {
		return "", fmt.Errorf("monitor/health: %s", strings.Join(sick, ", "))
	}
	token, err := AirflowToken(ctx, d.client, base, d.cfg.Env["AIRFLOW_ADMIN_USER"], d.cfg.Env["AIRFLOW_ADMIN_PASSWORD"])
	if err != nil {
		return "", err
	}
	auth := map[string]string{"Authorization": "Bearer " + token}
	var errs struct {
		ImportErrors []struct {
			Filename string `json:"filename"`
		} `json:"import_errors"`
		Total int `json:"total_entries"`
	}
	if err := d.getJSONHeader(ctx, api+"/api/v2/importErrors", "", auth, &errs); err != nil {
		return "", err
	}
	if errs.Total > 0 {
		var files []string
		for _, e := range errs.ImportErrors {
			files = append(files, e.Filename)
		}
		return "", fmt.Errorf("%d DAG file(s) do not import: %s (airflow dags list-import-errors)", errs.Total, strings.Join(files, ", "))
	}
	var dags struct {
		Dags []struct {
			ID string `json:"dag_id"`
		} `json:"dags"`
		Total int `json:"total_entries"`
	}
	if err := d.getJSONHeader(ctx, api+"/api/v2/dags?limit=100", "", auth, &dags); err != nil {
		return "", err
	}
	if dags.Total == 0 {
		return "", fmt.Errorf("Airflow lists no DAG: the DAG processor has not parsed airflow/dags (docker compose logs airflow-dag-processor)")
	}
	var ids []string
	for _, g := range dags.Dags {
		ids = append(ids, g.ID)
	}
	sort.Strings(ids)
	return fmt.Sprintf("logged in; scheduler, triggerer and DAG processor healthy; %d DAGs, none failing to import (%s)", dags.Total, strings.Join(ids, ", ")), nil
}

// AirflowToken is an access token of Airflow's API for user, from the FAB
// auth manager's POST /airflow/auth/token.
func AirflowToken(ctx context.Context, client *http.Client, base, user, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/airflow/auth/token", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("login as %s answered %s (wrong AIRFLOW_ADMIN_PASSWORD, or airflow-init did not run?)", user, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("login as %s: no access_token in the answer (%v)", user, err)
	}
	return out.AccessToken, nil
}
