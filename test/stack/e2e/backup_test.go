package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/s3store"
)

// backupBucket is the bucket of the sidecars' S3 the backups go to.
const backupBucket = "okxops-backups"

// backupTargetURL is the sidecars' S3 as the host reaches it.
const backupTargetURL = "http://127.0.0.1:18333"

// promValue is the single value of an instant query through the proxy, or
// an error when the query has no result.
func (s *Stack) promValue(query string) (float64, error) {
	var res queryResult
	if err := getJSON(proxyURL+"/prometheus/api/v1/query?query="+url.QueryEscape(query), s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"], &res); err != nil {
		return 0, err
	}
	if res.Status != "success" || len(res.Data.Result) == 0 {
		return 0, errorf("%s: no result (%s %s)", query, res.Status, res.Error)
	}
	return res.Data.Result[0].number()
}

func (s *Stack) waitMetric(t *testing.T, timeout time.Duration, query string, want float64) {
	t.Helper()
	eventually(t, timeout, 5*time.Second, query+" == "+fmt.Sprint(want), func() error {
		v, err := s.promValue(query)
		if err != nil {
			return err
		}
		if v != want {
			return errorf("%s = %v", query, v)
		}
		return nil
	})
}

func (s *Stack) backupTarget(t *testing.T) *s3store.Store {
	st, err := s3store.New(backupTargetURL, s.Env["BACKUP_S3_ACCESS_KEY"], s.Env["BACKUP_S3_SECRET_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// registeredModels counts MLflow's registered models and their versions.
func (s *Stack) registeredModels(t *testing.T) (models, versions int) {
	t.Helper()
	var out struct {
		RegisteredModels []struct {
			Name           string `json:"name"`
			LatestVersions []struct {
				Version string `json:"version"`
			} `json:"latest_versions"`
		} `json:"registered_models"`
	}
	if err := getJSON(proxyURL+"/mlflow/api/2.0/mlflow/registered-models/search?max_results=100", s.Env["PROXY_BASIC_AUTH_USER"], s.Env["PROXY_BASIC_AUTH_PASSWORD"], &out); err != nil {
		t.Fatalf("MLflow registered models: %v", err)
	}
	for _, m := range out.RegisteredModels {
		versions += len(m.LatestVersions)
	}
	return len(out.RegisteredModels), versions
}

// nodeObjects lists every object of the node's S3 as bucket/key size.
func (s *Stack) nodeObjects(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	st := s.store(t, s.Env["AWS_SECRET_ACCESS_KEY"])
	buckets, err := st.ListBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range buckets {
		objs, err := st.ListObjects(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			out = append(out, fmt.Sprintf("%s/%s %d", b, o.Key, o.Size))
		}
	}
	sort.Strings(out)
	return out
}

// checkBackupRestore: the scheduled backup ran and Prometheus has its
// result; `opsctl backup` and the drill pass; every volume is destroyed
// and `opsctl restore` brings every item back; damaged snapshots and a
// wrong key are refused with the stack untouched; a drill on a damaged
// repository fails and raises RestoreDrillFailing.
func (s *Stack) checkBackupRestore(t *testing.T, p persisted) {
	// The scheduled backup (BACKUP_FIRST_DELAY=20s in compose.test.yaml)
	// ran long ago; Prometheus scrapes its result.
	s.waitMetric(t, 3*time.Minute, `ops_backup_last_run_success`, 1)
	s.waitMetric(t, time.Minute, `ops_backup_configured`, 1)

	models, versions := s.registeredModels(t)
	if models == 0 || versions == 0 {
		t.Fatalf("no registered model to back up (doctor registers one): %d models, %d versions", models, versions)
	}
	objects := s.nodeObjects(t)
	assets := s.supersetSession(t).counts(t)

	start := time.Now()
	out, err := s.run(s.Opsctl, "backup")
	backupTime := time.Since(start)
	if err != nil {
		t.Fatalf("opsctl backup: %v\n%s", err, out)
	}
	var res struct {
		Snapshot   string                      `json:"snapshot"`
		TotalBytes int64                       `json:"total_bytes"`
		AddedBytes int64                       `json:"added_bytes"`
		Counts     map[string]map[string]int64 `json:"counts"`
	}
	if err := json.Unmarshal([]byte(lastJSONLine(out)), &res); err != nil || res.Snapshot == "" {
		t.Fatalf("opsctl backup printed no result: %v\n%s", err, out)
	}
	if got := res.Counts["objects"]["objects"]; got != int64(len(objects)) {
		t.Errorf("the backup holds %d objects, the node's S3 %d", got, len(objects))
	}
	if res.Counts["mlflow"]["registered_models"] != int64(models) || res.Counts["superset"]["dashboards"] != int64(assets.dashboards) {
		t.Errorf("the backup's counts %v differ from the live stack: %d models, %d dashboards", res.Counts, models, assets.dashboards)
	}
	t.Logf("opsctl backup: snapshot %s, %d bytes of data, %d added, in %s", short(res.Snapshot), res.TotalBytes, res.AddedBytes, backupTime.Round(time.Millisecond))

	start = time.Now()
	if out, err := s.run(s.Opsctl, "backup", "--drill"); err != nil {
		t.Fatalf("the drill of a good backup failed: %v\n%s", err, out)
	}
	t.Logf("restore drill passed in %s", time.Since(start).Round(time.Millisecond))
	s.waitMetric(t, time.Minute, `ops_restore_drill_last_success`, 1)

	// A new server: every volume gone.
	s.leaveStub()
	if out, err := s.run(s.Opsctl, "down", "--volumes"); err != nil {
		t.Fatalf("opsctl down --volumes: %v\n%s", err, out)
	}
	if vols := strings.Fields(s.must("docker", "volume", "ls", "-q", "--filter", "label=com.docker.compose.project="+project)); len(vols) > 0 {
		t.Fatalf("volumes left after down --volumes: %v", vols)
	}
	start = time.Now()
	out, err = s.run(s.Opsctl, "restore", "--build=false", "--timeout", "15m")
	rto := time.Since(start)
	t.Logf("opsctl restore onto an empty stack, up and doctor included, took %s:\n%s", rto.Round(time.Second), out)
	if err != nil {
		t.Fatalf("opsctl restore: %v", err)
	}
	s.joinStub()
	s.checkPersisted(t, p)
	if m, v := s.registeredModels(t); m != models || v != versions {
		t.Errorf("after the restore MLflow has %d registered models with %d versions, before %d and %d", m, v, models, versions)
	}
	if got := s.nodeObjects(t); strings.Join(got, "\n") != strings.Join(objects, "\n") {
		t.Errorf("after the restore the node's S3 holds %d objects, before %d:\nafter:  %v\nbefore: %v", len(got), len(objects), got, objects)
	}
	if got := s.supersetSession(t).counts(t); got != assets {
		t.Errorf("after the restore Superset holds %+v, before %+v", got, assets)
	}

	t.Run("a damaged snapshot or a wrong key is refused and the stack is untouched", func(t *testing.T) { s.in(t).checkRestoreRefusals(t, p) })
}

// checkRestoreRefusals damages the target's data packs (a flipped byte in
// each, then each truncated: every pack, since which ones the newest
// snapshot needs is restic's business) and the key, and asks `opsctl
// restore --force` for the newest snapshot each time.
func (s *Stack) checkRestoreRefusals(t *testing.T, p persisted) {
	ctx := context.Background()
	target := s.backupTarget(t)
	objs, err := target.ListObjects(ctx, backupBucket)
	if err != nil {
		t.Fatal(err)
	}
	orig := map[string][]byte{}
	for _, o := range objs {
		if !strings.Contains(o.Key, "/data/") {
			continue
		}
		var b bytes.Buffer
		if _, err := target.Download(ctx, backupBucket, o.Key, &b); err != nil {
			t.Fatal(err)
		}
		orig[o.Key] = b.Bytes()
	}
	if len(orig) == 0 {
		t.Fatalf("no data pack in %s: %d objects", backupBucket, len(objs))
	}
	// putAll uploads each pack as f makes it from the original.
	putAll := func(f func([]byte) []byte) {
		for key, b := range orig {
			nb := f(bytes.Clone(b))
			if err := target.Upload(ctx, backupBucket, key, bytes.NewReader(nb), int64(len(nb))); err != nil {
				t.Fatal(err)
			}
		}
	}
	same := func(b []byte) []byte { return b }
	flip := func(b []byte) []byte { b[len(b)/3] ^= 0x40; return b }
	truncate := func(b []byte) []byte { return b[:len(b)/2] }
	before := s.containers()
	cases := []struct {
		name, want string
		damage     func()
	}{
		{"flipped byte", "does not restore", func() { putAll(flip) }},
		{"truncated upload", "does not restore", func() { putAll(truncate) }},
		{"wrong key", "BACKUP_RESTIC_PASSWORD is not the password", func() {
			putAll(same)
			s.setEnv(map[string]string{"BACKUP_RESTIC_PASSWORD": "NotTheKeyOfThisRepository0000000000000000"})
		}},
	}
	key := s.Env["BACKUP_RESTIC_PASSWORD"]
	for _, c := range cases {
		c.damage()
		out, err := s.run(s.Opsctl, "restore", "--force", "--build=false")
		if err == nil {
			t.Errorf("%s: opsctl restore succeeded:\n%s", c.name, out)
		} else if !strings.Contains(out, c.want) {
			t.Errorf("%s: opsctl restore's output does not say %q:\n%s", c.name, c.want, out)
		} else {
			t.Logf("%s (%d packs): refused: %s", c.name, len(orig), lastLineWith(out, c.want))
		}
	}
	s.setEnv(map[string]string{"BACKUP_RESTIC_PASSWORD": key})
	after := s.containers()
	for svc, b := range before {
		if b.State == "running" && (after[svc].ID != b.ID || after[svc].StartedAt != b.StartedAt) {
			t.Errorf("%s was stopped or recreated by a refused restore", svc)
		}
	}
	s.checkPersisted(t, p)

	// The drill on a damaged repository fails, and the alert follows.
	putAll(flip)
	if out, err := s.run(s.Opsctl, "backup", "--drill"); err == nil {
		t.Errorf("the drill passed on a repository with a flipped byte in each pack:\n%s", out)
	}
	s.waitMetric(t, time.Minute, `ops_restore_drill_last_success`, 0)
	eventually(t, 3*time.Minute, 5*time.Second, "RestoreDrillFailing firing", func() error {
		v, err := s.promValue(`ALERTS{alertname="RestoreDrillFailing",alertstate="firing"}`)
		if err != nil || v != 1 {
			return errorf("not firing yet: %v %v", v, err)
		}
		return nil
	})
	putAll(same)
	if out, err := s.run(s.Opsctl, "backup", "--drill"); err != nil {
		t.Errorf("the drill after the repair: %v\n%s", err, out)
	}
}

func lastJSONLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "{") {
			return lines[i]
		}
	}
	return ""
}

func lastLineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return strconv.Quote(id)
}
