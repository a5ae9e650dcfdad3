package backup

import (
	"context"
	"database/sql"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/tools"
)

// The tests run the real restic of the pinned version (built by `make
// tools`) against a local repository, and real SQLite files.

func resticBin(t *testing.T) string {
	t.Helper()
	bin, ok := tools.CachedRestic()
	if !ok {
		t.Fatal("restic of the pinned version is not built: run `make tools` first")
	}
	return bin
}

// fixture is a node's state with three SQLite databases and Alertmanager's
// files, owned like the services own them.
type fixture struct {
	state, work, repo string
	cfg               *Config
	engine            *Engine
}

var fixtureRows = map[string]map[string]int{
	"mlflow/mlflow.db":     {"experiments": 2, "runs": 5, "registered_models": 1, "model_versions": 3},
	"superset/superset.db": {"dashboards": 3, "slices": 16, "saved_query": 1, "dbs": 1},
	"grafana/grafana.db":   {"dashboard": 7, "annotation": 2, "preferences": 1, "user": 1},
}

func newFixture(t *testing.T, components ...string) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{state: filepath.Join(root, "state"), work: filepath.Join(root, "work"), repo: filepath.Join(root, "repo")}
	for file, tables := range fixtureRows {
		writeDB(t, filepath.Join(f.state, file), tables)
	}
	if err := os.MkdirAll(filepath.Join(f.state, "alertmanager"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"RESTIC_BIN":                      resticBin(t),
		"BACKUP_REPOSITORY":               f.repo,
		"BACKUP_RESTIC_PASSWORD":          "correct horse battery staple",
		"BACKUP_WORK_DIR":                 f.work,
		"BACKUP_STATE_DIR":                f.state,
		"BACKUP_COMPONENTS":               strings.Join(components, ","),
		"BACKUP_ALERTMANAGER_MAINTENANCE": "5s",
		"BACKUP_DRILL_READ_DATA":          "100%",
	}
	cfg, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	f.cfg = cfg
	f.engine = &Engine{Cfg: cfg, Log: t.Logf}
	return f
}

func writeDB(t *testing.T, path string, tables map[string]int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for table, n := range tables {
		if _, err := db.Exec(`CREATE TABLE "` + table + `" (id INTEGER PRIMARY KEY, name TEXT)`); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if _, err := db.Exec(`INSERT INTO "`+table+`" (name) VALUES (?)`, strings.Repeat(table, 50)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if os.Geteuid() == 0 {
		os.Chown(path, 1000, 1000) // as Superset's and MLflow's users own theirs
		os.Chown(filepath.Dir(path), 1000, 1000)
	}
	os.Chmod(path, 0o640)
	os.Chmod(filepath.Dir(path), 0o750)
}

// maintain writes Alertmanager's state files the way its maintenance does,
// every period, until the test ends.
func (f *fixture) maintain(t *testing.T, silences string) {
	dir := filepath.Join(f.state, "alertmanager")
	write := func() {
		for _, name := range alertmanagerFiles {
			p := filepath.Join(dir, name)
			os.WriteFile(p+".tmp", []byte(name+":"+silences), 0o644)
			os.Rename(p+".tmp", p)
			if os.Geteuid() == 0 {
				os.Chown(p, 65534, 65534)
			}
		}
	}
	write()
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
				write()
			}
		}
	}()
}

func (f *fixture) backup(t *testing.T) Result {
	t.Helper()
	res, err := f.engine.Backup(context.Background())
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	return res
}

func TestBackupRestoresEveryItemOntoAnEmptyNode(t *testing.T) {
	f := newFixture(t, "mlflow", "superset", "grafana", "alertmanager")
	f.maintain(t, "silence-1")
	res := f.backup(t)
	if res.Snapshot == "" || res.Snapshots != 1 || res.TotalBytes == 0 {
		t.Fatalf("backup result %+v", res)
	}
	if got := res.Counts["mlflow"]["runs"]; got != 5 {
		t.Fatalf("the backup counted %d MLflow runs, want 5", got)
	}
	before := readState(t, f.state)

	// A new server: the volumes are empty.
	if err := os.RemoveAll(f.state); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"mlflow", "superset", "grafana", "alertmanager"} {
		os.MkdirAll(filepath.Join(f.state, d), 0o755)
	}
	if occ := f.engine.Occupied(); len(occ) != 0 {
		t.Fatalf("an empty node is occupied: %v", occ)
	}
	st, err := f.engine.Stage(context.Background(), "", f.cfg.RestoreDir())
	if err != nil {
		t.Fatalf("stage: %v", err)
	}
	if err := f.engine.Apply(st); err != nil {
		t.Fatalf("apply: %v", err)
	}
	// The volumes' roots are the new server's (root's, 0755); the services
	// write there, so they get their owner and mode back.
	if d, err := describe(filepath.Join(f.state, "mlflow"), false); err != nil || d.Mode != 0o750 || (os.Geteuid() == 0 && d.UID != 1000) {
		t.Errorf("the restored volume root of mlflow is %+v (%v), want 0750 and uid 1000", d, err)
	}
	after := readState(t, f.state)
	for path, want := range before {
		if got, ok := after[path]; !ok {
			t.Errorf("%s is not restored", path)
		} else if got != want {
			t.Errorf("%s restored as %s, backed up as %s", path, got, want)
		}
	}
	if len(after) != len(before) {
		t.Errorf("restored %d files, backed up %d", len(after), len(before))
	}
	if occ := f.engine.Occupied(); len(occ) != 4 {
		t.Errorf("after the restore, occupied = %v, want the 3 databases and Alertmanager", occ)
	}
}

// readState maps each file of the state to its owner, mode and content
// hash, SQLite files to their row counts (a VACUUM INTO copy is not
// byte-identical to its source).
func readState(t *testing.T, state string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(state, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(state, p)
		d, err := describe(p, !strings.HasSuffix(p, ".db"))
		if err != nil {
			t.Fatal(err)
		}
		val := d.Mode.String() + " " + strconv.Itoa(d.UID) + ":" + strconv.Itoa(d.GID) + " " + d.SHA256
		if tables, ok := fixtureRows[filepath.ToSlash(rel)]; ok {
			m := map[string]string{}
			for table := range tables {
				m[table] = table
			}
			counts, err := countRows(context.Background(), p, m)
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for k, v := range counts {
				parts = append(parts, k+"="+strconv.Itoa(int(v)))
			}
			sort.Strings(parts)
			val += strings.Join(parts, ",")
		}
		out[rel] = val
		return nil
	})
	return out
}

// damage applies how to every pack file of the repository: the packs of
// tree blobs are also in restic's local cache, which a restore reads
// instead, so only damage to a pack of file data is seen there (the drill's
// restic check reads the repository itself).
func (f *fixture) damage(t *testing.T, how func(path string, size int64)) {
	t.Helper()
	n := 0
	filepath.Walk(filepath.Join(f.repo, "data"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			os.Chmod(p, 0o644)
			how(p, info.Size())
			n++
		}
		return nil
	})
	if n == 0 {
		t.Fatal("no pack file in the repository")
	}
}

func TestRestoreRefusesADamagedSnapshotAndTouchesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, f *fixture)
		want   string
	}{
		{"flipped byte", func(t *testing.T, f *fixture) {
			f.damage(t, func(p string, size int64) {
				fh, err := os.OpenFile(p, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer fh.Close()
				b := make([]byte, 1)
				fh.ReadAt(b, size/3)
				b[0] ^= 0x40
				fh.WriteAt(b, size/3)
			})
		}, "does not restore"},
		{"truncated upload", func(t *testing.T, f *fixture) {
			f.damage(t, func(p string, size int64) { os.Truncate(p, size/2) })
		}, "does not restore"},
		{"wrong key", func(t *testing.T, f *fixture) { f.cfg.Restic.Password = "not the password" }, "BACKUP_RESTIC_PASSWORD is not the password"},
		{"wrong target", func(t *testing.T, f *fixture) { f.cfg.Restic.Repository = f.repo + "-elsewhere" }, "no restic repository at the target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "mlflow", "superset", "grafana", "alertmanager")
			f.maintain(t, "silence-1")
			f.backup(t)
			// The live node has moved on since: that data must survive.
			writeDB(t, filepath.Join(f.state, "mlflow/extra.db"), map[string]int{"runs": 1})
			before := readState(t, f.state)
			tc.damage(t, f)
			st, err := f.engine.Stage(context.Background(), "", f.cfg.RestoreDir())
			if err == nil {
				f.engine.Apply(st)
				t.Fatalf("a snapshot with a %s was accepted", tc.name)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			after := readState(t, f.state)
			// Alertmanager's files keep being rewritten (same content).
			if len(after) != len(before) {
				t.Errorf("the state changed: %d files before, %d after", len(before), len(after))
			}
			for p, v := range before {
				if after[p] != v {
					t.Errorf("%s changed: %s -> %s", p, v, after[p])
				}
			}
		})
	}
}

func TestRestoreRefusesPartialAndUnknownSnapshots(t *testing.T) {
	f := newFixture(t, "mlflow", "superset")
	f.backup(t)
	if _, err := f.engine.Stage(context.Background(), "deadbeef", f.cfg.RestoreDir()); err == nil || !strings.Contains(err.Error(), `no snapshot "deadbeef"`) {
		t.Errorf("a missing snapshot: %v", err)
	}
	// The restore expects a component the snapshot lacks.
	f.cfg.Components = append(f.cfg.Components, "grafana")
	if _, err := f.engine.Stage(context.Background(), "", f.cfg.RestoreDir()); err == nil || !strings.Contains(err.Error(), "component grafana is not in the snapshot") {
		t.Errorf("a partial snapshot: %v", err)
	}
	// A snapshot of the right host and tag that opsctl did not make.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "x"), []byte("x"), 0o644)
	if _, err := f.cfg.Restic.Backup(context.Background(), []string{other}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.Stage(context.Background(), "", f.cfg.RestoreDir()); err == nil || !strings.Contains(err.Error(), "has no manifest.json") {
		t.Errorf("a snapshot without a manifest: %v", err)
	}
}

func TestDrillPassesOnAGoodBackupAndFailsOnADamagedOne(t *testing.T) {
	f := newFixture(t, "mlflow", "superset", "grafana")
	f.backup(t)
	res, err := f.engine.Drill(context.Background())
	if err != nil {
		t.Fatalf("drill of a good backup: %v", err)
	}
	if res.Restored["superset"]["dashboards"] != 3 || res.Live["superset"]["dashboards"] != 3 {
		t.Errorf("drill counts: restored %v, live %v", res.Restored, res.Live)
	}
	if _, err := os.Stat(f.cfg.DrillDir()); !os.IsNotExist(err) {
		t.Errorf("the drill left its scratch directory: %v", err)
	}
	f.damage(t, func(p string, size int64) { os.Truncate(p, size/2) })
	if _, err := f.engine.Drill(context.Background()); err == nil {
		t.Fatal("the drill passed on a damaged repository")
	} else if !strings.Contains(err.Error(), "restic check") {
		t.Errorf("drill error %q does not name restic check", err)
	}
}

func TestConfigNamesEveryBadKey(t *testing.T) {
	env := map[string]string{
		"BACKUP_REPOSITORY":      "s3:https://fsn1.example.com/bucket/node",
		"BACKUP_INTERVAL":        "hourly",
		"BACKUP_KEEP_DAILY":      "-1",
		"BACKUP_COMPONENTS":      "mlflow,graphana",
		"BACKUP_DRILL_READ_DATA": "150%",
	}
	_, err := FromEnv(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{`BACKUP_INTERVAL="hourly"`, `BACKUP_KEEP_DAILY="-1"`, `"graphana" is not a component`, `BACKUP_DRILL_READ_DATA="150%"`, "BACKUP_RESTIC_PASSWORD is empty", "BACKUP_S3_ACCESS_KEY or BACKUP_S3_SECRET_KEY is empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	cfg, err := FromEnv(func(string) string { return "" })
	if err != nil || cfg.Configured() || len(cfg.Components) != len(ComponentNames()) || cfg.Interval != time.Hour || cfg.Keep != (Keep{24, 7, 4, 6}) {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
}

func TestObjectPathRefusesKeysThatLeaveTheBucket(t *testing.T) {
	for _, key := range []string{"../etc/passwd", "a/../../b", "/abs", "dir/", "a//b", ""} {
		if _, err := objectPath("mlflow", key); err == nil {
			t.Errorf("key %q accepted", key)
		}
	}
	if p, err := objectPath("mlflow", "1/abc/artifacts/model.pkl"); err != nil || p != filepath.Join("mlflow", "1", "abc", "artifacts", "model.pkl") {
		t.Errorf("a normal key: %q %v", p, err)
	}
}

func TestAgentExportsEachRunsResult(t *testing.T) {
	f := newFixture(t, "mlflow")
	a := NewAgent(f.engine)
	metrics := func() string {
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	if m := metrics(); strings.Contains(m, "ops_backup_last_run_success") || !strings.Contains(m, "ops_backup_configured 1") {
		t.Fatalf("before any run the result must be absent and configured 1:\n%s", m)
	}
	if _, err := a.RunBackup(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := metrics()
	for _, want := range []string{"ops_backup_last_run_success 1", "ops_backup_snapshots 1", `ops_backup_runs_total{result="success"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("after a good backup the metrics lack %q:\n%s", want, m)
		}
	}
	f.cfg.Restic.Password = "wrong"
	if _, err := a.RunBackup(context.Background()); err == nil {
		t.Fatal("a backup with the wrong key passed")
	}
	if _, err := a.RunDrill(context.Background()); err == nil {
		t.Fatal("a drill with the wrong key passed")
	}
	m = metrics()
	for _, want := range []string{"ops_backup_last_run_success 0", `ops_backup_runs_total{result="failure"} 1`, "ops_restore_drill_last_success 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("after a failed backup and drill the metrics lack %q:\n%s", want, m)
		}
	}
	// A restarted agent learns the newest snapshot from the repository.
	f.cfg.Restic.Password = "correct horse battery staple"
	b := NewAgent(f.engine)
	b.Seed(context.Background())
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if strings.Contains(rec.Body.String(), "ops_backup_last_success_timestamp_seconds 0\n") {
		t.Errorf("a restarted agent reports no backup although the repository holds one:\n%s", rec.Body.String())
	}
}

// A restic killed while it held the repository's lock (the backup container
// killed mid-run) leaves the lock behind; the next backup's forget must not
// fail on it.
func TestBackupAfterAKilledRestic(t *testing.T) {
	f := newFixture(t, "mlflow")
	if _, err := f.engine.Backup(context.Background()); err != nil {
		t.Fatal(err)
	}
	// restic backup --stdin holds its lock while it waits for input.
	cmd := exec.Command(f.cfg.Restic.Bin, "backup", "--stdin", "--stdin-filename", "held", "--no-cache")
	cmd.Env = f.cfg.Restic.env()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	locks := filepath.Join(f.repo, "locks")
	if err := poll(10*time.Second, func() bool { e, _ := os.ReadDir(locks); return len(e) > 0 }); err != nil {
		cmd.Process.Kill()
		t.Fatal("restic backup --stdin took no lock")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if e, _ := os.ReadDir(locks); len(e) == 0 {
		t.Fatal("the killed restic left no lock: the test proves nothing")
	}
	if _, err := f.engine.Backup(context.Background()); err != nil {
		t.Fatalf("a backup after a killed restic: %v", err)
	}
}

func poll(timeout time.Duration, ok func() bool) error {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return nil
		}
	}
	return errors.New("timed out")
}

func TestS3TargetSplitsResticsURL(t *testing.T) {
	for repo, want := range map[string][2]string{
		"s3:https://fsn1.your-objectstorage.com/my-bucket/okx-hft-ops": {"https://fsn1.your-objectstorage.com", "my-bucket"},
		"s3:http://backup-s3:8333/okxops-backups/node":                 {"http://backup-s3:8333", "okxops-backups"},
		"s3:s3.amazonaws.com/bucket":                                   {"https://s3.amazonaws.com", "bucket"},
	} {
		ep, b, ok := s3Target(repo)
		if !ok || ep != want[0] || b != want[1] {
			t.Errorf("%s: %q %q %v, want %v", repo, ep, b, ok, want)
		}
	}
	for _, repo := range []string{"/srv/restic", "s3:https://host", "s3:"} {
		if _, _, ok := s3Target(repo); ok {
			t.Errorf("%s taken for an S3 target with a bucket", repo)
		}
	}
}

// A snapshot whose databases hold other counts than the backup recorded
// (here: the manifest edited after the copy) fails the drill.
func TestDrillComparesTheRestoredCountsWithTheBackups(t *testing.T) {
	f := newFixture(t, "mlflow")
	f.backup(t)
	p := filepath.Join(f.cfg.StageDir(), ManifestName)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"runs": 5`, `"runs": 999`, 1)
	if edited == string(data) {
		t.Fatalf("the manifest records no 5 runs:\n%s", data)
	}
	if err := os.WriteFile(p, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cfg.Restic.Backup(context.Background(), []string{f.cfg.StageDir()}); err != nil {
		t.Fatal(err)
	}
	_, err = f.engine.Drill(context.Background())
	if err == nil || !strings.Contains(err.Error(), "mlflow: 5 runs restored, 999 backed up") {
		t.Fatalf("the drill of a snapshot with other counts than recorded: %v", err)
	}
}

// A restic the kernel killed (out of memory at the container's limit) is
// named as such, not as "exit -1" with an empty reason.
func TestAKilledResticSaysSo(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "restic")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nkill -9 $$\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := Restic{Bin: bin, Repository: t.TempDir(), Password: "x"}
	_, err := r.Snapshots(context.Background())
	if err == nil || !strings.Contains(err.Error(), "was killed (SIGKILL)") || !strings.Contains(err.Error(), "out of memory") {
		t.Fatalf("a restic ended by SIGKILL: %v", err)
	}
}
