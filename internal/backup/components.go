package backup

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/s3store"

	_ "modernc.org/sqlite" // pure-Go SQLite (no cgo in the static image): VACUUM INTO
)

// Kinds of component: how each is read consistently while it runs.
const (
	KindSQLite       = "sqlite"
	KindAlertmanager = "alertmanager"
	KindPrometheus   = "prometheus"
	KindLoki         = "loki"
	KindObjects      = "objects"
)

// Component is one stateful part of the node. Paths are those of the
// backup container, where compose.yaml mounts each service's volume under
// /state.
type Component struct {
	Name string
	Kind string
	// Source is the file (sqlite) or directory the service keeps its state
	// in; Restore is where it goes back (the same, for all but objects).
	Source string
	// Counts are SQL counts taken from a SQLite copy: item name -> table.
	Counts map[string]string
}

// Components are every stateful part of the node, in backup order.
func Components(state string) []Component {
	return []Component{
		{Name: "mlflow", Kind: KindSQLite, Source: filepath.Join(state, "mlflow/mlflow.db"),
			Counts: map[string]string{"experiments": "experiments", "runs": "runs", "registered_models": "registered_models", "model_versions": "model_versions"}},
		{Name: "superset", Kind: KindSQLite, Source: filepath.Join(state, "superset/superset.db"),
			Counts: map[string]string{"dashboards": "dashboards", "charts": "slices", "saved_queries": "saved_query", "databases": "dbs"}},
		{Name: "grafana", Kind: KindSQLite, Source: filepath.Join(state, "grafana/grafana.db"),
			Counts: map[string]string{"dashboards": "dashboard", "annotations": "annotation", "preferences": "preferences", "users": "user"}},
		{Name: "alertmanager", Kind: KindAlertmanager, Source: filepath.Join(state, "alertmanager")},
		{Name: "prometheus", Kind: KindPrometheus, Source: filepath.Join(state, "prometheus")},
		{Name: "loki", Kind: KindLoki, Source: filepath.Join(state, "loki")},
		{Name: "objects", Kind: KindObjects},
	}
}

// ComponentNames are the names of Components, in order.
func ComponentNames() []string {
	var n []string
	for _, c := range Components("/") {
		n = append(n, c.Name)
	}
	return n
}

// collector reads components into the stage directory (or names the
// directory restic reads directly) and describes them in the manifest.
type collector struct {
	cfg   *Config
	start time.Time
	http  *http.Client
	log   func(string, ...any)
}

// collect reads one component; it returns its manifest entry.
func (c *collector) collect(ctx context.Context, comp Component) (ComponentManifest, error) {
	switch comp.Kind {
	case KindSQLite:
		return c.sqlite(ctx, comp)
	case KindAlertmanager:
		return c.alertmanager(ctx, comp)
	case KindPrometheus:
		return c.prometheus(ctx, comp)
	case KindLoki:
		return c.loki(ctx, comp)
	case KindObjects:
		return c.objects(ctx, comp)
	}
	return ComponentManifest{}, fmt.Errorf("unknown kind %q", comp.Kind)
}

func (c *collector) stageDir(name string) (string, error) {
	dir := filepath.Join(c.cfg.StageDir(), name)
	return dir, os.MkdirAll(dir, 0o700)
}

// sqlite copies a live SQLite database with VACUUM INTO, which reads it in
// one transaction (a consistent copy while the service writes; sqlite.org
// lang_vacuum.html#vacuuminto), then gives the copy the original's owner
// and mode so that a restore puts back what the service expects.
func (c *collector) sqlite(ctx context.Context, comp Component) (ComponentManifest, error) {
	m := ComponentManifest{Name: comp.Name, Method: "SQLite VACUUM INTO", Notes: map[string]string{"restore_to": comp.Source}}
	src, err := os.Stat(comp.Source)
	if err != nil {
		return m, fmt.Errorf("%s: its database %s is not there (has the service ever started? is its volume mounted into the backup service?): %v", comp.Name, comp.Source, err)
	}
	dir, err := c.stageDir(comp.Name)
	if err != nil {
		return m, err
	}
	dst := filepath.Join(dir, filepath.Base(comp.Source))
	os.Remove(dst)
	if err := vacuumInto(ctx, comp.Source, dst); err != nil {
		return m, fmt.Errorf("%s: copying %s: %w", comp.Name, comp.Source, err)
	}
	if err := copyOwner(dst, src); err != nil {
		return m, err
	}
	if m.Counts, err = countRows(ctx, dst, comp.Counts); err != nil {
		return m, fmt.Errorf("%s: %w", comp.Name, err)
	}
	m.Path = dir
	m.Files, err = listFiles(dir, true)
	return m, err
}

func openSQLite(path string, readOnly bool) (*sql.DB, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(30000)"
	if readOnly {
		dsn += "&mode=ro"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := openSQLite(src, false)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", dst)
	return err
}

// countRows counts the rows of each table in a SQLite file.
func countRows(ctx context.Context, file string, tables map[string]string) (map[string]int64, error) {
	db, err := openSQLite(file, true)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out := map[string]int64{}
	for item, table := range tables {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+table+`"`).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting %s (table %s) in %s: %w", item, table, file, err)
		}
		out[item] = n
	}
	return out, nil
}

// integrityCheck runs SQLite's own check of every page and index.
func integrityCheck(ctx context.Context, file string) error {
	db, err := openSQLite(file, true)
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("%s is not a readable SQLite database: %w", file, err)
	}
	if res != "ok" {
		return fmt.Errorf("%s fails SQLite's integrity check: %s", file, res)
	}
	return nil
}

func copyOwner(dst string, src os.FileInfo) error {
	f, err := describeInfo(src)
	if err != nil {
		return err
	}
	if err := os.Chmod(dst, f.Mode); err != nil {
		return err
	}
	return os.Lchown(dst, f.UID, f.GID)
}

// alertmanagerFiles are the state Alertmanager snapshots to its storage
// path at every maintenance (--data.maintenance-interval), by writing a new
// file and renaming it over the old one (silence/silence.go openReplace).
var alertmanagerFiles = []string{"silences", "nflog"}

// alertmanager waits until Alertmanager has written both state files since
// this backup started, so every silence made before the backup is in the
// copy, then copies them.
func (c *collector) alertmanager(ctx context.Context, comp Component) (ComponentManifest, error) {
	m := ComponentManifest{Name: comp.Name, Method: "state files after their next maintenance write", Notes: map[string]string{"restore_to": comp.Source}}
	deadline := time.Now().Add(c.cfg.AlertmanagerMaintenance + 30*time.Second)
	for {
		fresh := 0
		for _, f := range alertmanagerFiles {
			if st, err := os.Stat(filepath.Join(comp.Source, f)); err == nil && !st.ModTime().Before(c.start) {
				fresh++
			}
		}
		if fresh == len(alertmanagerFiles) {
			break
		}
		if time.Now().After(deadline) {
			return m, fmt.Errorf("alertmanager: %s in %s were not written since the backup started %s ago: is Alertmanager running with --data.maintenance-interval=%s (compose.yaml)?", strings.Join(alertmanagerFiles, " and "), comp.Source, time.Since(c.start).Round(time.Second), c.cfg.AlertmanagerMaintenance)
		}
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	dir, err := c.stageDir(comp.Name)
	if err != nil {
		return m, err
	}
	for _, f := range alertmanagerFiles {
		if err := copyFile(filepath.Join(comp.Source, f), filepath.Join(dir, f)); err != nil {
			return m, fmt.Errorf("alertmanager: %w", err)
		}
	}
	m.Path = dir
	m.Files, err = listFiles(dir, true)
	return m, err
}

// copyFile copies src to dst (through a temporary file and a rename) with
// src's mode and owner.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := copyOwner(tmp, st); err != nil {
		return err
	}
	os.Chtimes(tmp, st.ModTime(), st.ModTime())
	return os.Rename(tmp, dst)
}

// snapshotDir is where the backup keeps the TSDB snapshot it reads, inside
// Prometheus' own volume: a snapshot is hard links to the blocks, so it
// must be on that file system.
const snapshotDir = "snapshots/ops-backup"

// prometheus asks Prometheus for a TSDB snapshot (POST
// /api/v1/admin/tsdb/snapshot: hard links to every block plus the head
// written as a block), moves it to a fixed path so restic sees unchanged
// blocks as unchanged, and describes it.
func (c *collector) prometheus(ctx context.Context, comp Component) (ComponentManifest, error) {
	m := ComponentManifest{Name: comp.Name, Method: "TSDB snapshot API", Notes: map[string]string{"restore_to": comp.Source}}
	u := strings.TrimSuffix(c.cfg.PrometheusURL, "/") + "/api/v1/admin/tsdb/snapshot"
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	resp, err := c.http.Do(req)
	if err != nil {
		return m, fmt.Errorf("prometheus: snapshot API %s: %w", u, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	var ans struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Status != "success" || ans.Data.Name == "" {
		return m, fmt.Errorf("prometheus: snapshot API %s answered %s %s: is --web.enable-admin-api set (compose.yaml)?", u, resp.Status, strings.TrimSpace(string(body)))
	}
	made := filepath.Join(comp.Source, "snapshots", ans.Data.Name)
	fixed := filepath.Join(comp.Source, snapshotDir)
	if err := os.RemoveAll(fixed); err != nil {
		return m, err
	}
	if err := os.Rename(made, fixed); err != nil {
		return m, fmt.Errorf("prometheus: the snapshot %s is not in the volume mounted at %s: %w", ans.Data.Name, comp.Source, err)
	}
	m.Path = fixed
	m.Files, err = listFiles(fixed, false)
	if err != nil {
		return m, err
	}
	blocks, samples, err := tsdbBlocks(fixed)
	if err != nil {
		return m, err
	}
	m.Counts = map[string]int64{"blocks": blocks, "samples": samples}
	return m, nil
}

// tsdbBlocks reads the meta.json of every block in dir.
func tsdbBlocks(dir string) (blocks, samples int64, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name(), "meta.json"))
		if err != nil {
			return 0, 0, fmt.Errorf("prometheus: block %s has no readable meta.json: %w", e.Name(), err)
		}
		n, ok := blockSamples(data)
		if !ok {
			return 0, 0, fmt.Errorf("prometheus: block %s: meta.json is not a TSDB block's", e.Name())
		}
		blocks++
		samples += n
	}
	return blocks, samples, nil
}

// blockSamples reads a TSDB block's meta.json: its sample count, and
// whether it is one (it names the block's ULID).
func blockSamples(metaJSON []byte) (int64, bool) {
	var meta struct {
		ULID  string `json:"ulid"`
		Stats struct {
			NumSamples int64 `json:"numSamples"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(metaJSON, &meta); err != nil || meta.ULID == "" {
		return 0, false
	}
	return meta.Stats.NumSamples, true
}

// loki asks Loki to flush its in-memory chunks to storage (POST /flush),
// then names its data directory for restic to read.
func (c *collector) loki(ctx context.Context, comp Component) (ComponentManifest, error) {
	m := ComponentManifest{Name: comp.Name, Method: "data directory after /flush", Path: comp.Source, Notes: map[string]string{"restore_to": comp.Source}}
	u := strings.TrimSuffix(c.cfg.LokiURL, "/") + "/flush"
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	resp, err := c.http.Do(req)
	if err != nil {
		return m, fmt.Errorf("loki: flush %s: %w", u, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return m, fmt.Errorf("loki: flush %s answered %s", u, resp.Status)
	}
	// The flush is asynchronous: give the ingester a moment to write.
	select {
	case <-ctx.Done():
		return m, ctx.Err()
	case <-time.After(c.cfg.LokiFlushWait):
	}
	m.Files, err = listFiles(comp.Source, false)
	return m, err
}

// objects mirrors every bucket of the node's S3 into the objects
// directory: objects whose size and modification time are unchanged are
// not downloaded again, deleted ones are deleted; restic reads the mirror.
func (c *collector) objects(ctx context.Context, comp Component) (ComponentManifest, error) {
	m := ComponentManifest{Name: comp.Name, Method: "S3 API (every object of every bucket)", Path: c.cfg.ObjectsDir()}
	store, err := c.cfg.Store()
	if err != nil {
		return m, err
	}
	buckets, err := store.ListBuckets(ctx)
	if err != nil {
		return m, fmt.Errorf("objects: listing the buckets of %s: %w", c.cfg.S3Endpoint, err)
	}
	sort.Strings(buckets)
	keep := map[string]bool{}
	m.Counts = map[string]int64{}
	var downloaded int
	for _, b := range buckets {
		objs, err := store.ListObjects(ctx, b)
		if err != nil {
			return m, fmt.Errorf("objects: %w", err)
		}
		m.Counts["objects"] += int64(len(objs))
		m.Counts["buckets"]++
		if err := os.MkdirAll(filepath.Join(m.Path, b), 0o700); err != nil {
			return m, err
		}
		keep[b] = true
		for _, o := range objs {
			rel, err := objectPath(b, o.Key)
			if err != nil {
				return m, fmt.Errorf("objects: %w", err)
			}
			local := filepath.Join(m.Path, rel)
			// The file and every directory above it stay in the mirror.
			for p := rel; p != "." && !keep[p]; p = filepath.Dir(p) {
				keep[p] = true
			}
			if st, err := os.Stat(local); err != nil || st.Size() != o.Size || !st.ModTime().Equal(o.LastModified) {
				if err := download(ctx, store, b, o, local); err != nil {
					return m, fmt.Errorf("objects: %w", err)
				}
				downloaded++
			}
			m.Files = append(m.Files, File{Path: filepath.ToSlash(rel), Size: o.Size, Bucket: b, Key: o.Key, Mode: 0o600})
		}
	}
	// Objects deleted from the buckets since the last backup.
	var gone []string
	filepath.WalkDir(m.Path, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == m.Path {
			return nil
		}
		rel, _ := filepath.Rel(m.Path, p)
		if keep[rel] {
			return nil
		}
		gone = append(gone, p)
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	for _, p := range gone {
		os.RemoveAll(p)
	}
	c.log("objects: %d objects in %d buckets, %d downloaded, %d removed from the mirror", m.Counts["objects"], m.Counts["buckets"], downloaded, len(gone))
	return m, nil
}

// objectPath is where bucket/key is kept in the mirror. A key that would
// leave the bucket's directory (.., absolute) or clash with the file
// system (empty segments) is refused rather than written elsewhere.
func objectPath(bucket, key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return "", fmt.Errorf("object %s/%q: keys that begin or end with / cannot be mirrored to files", bucket, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("object %s/%q: a key with empty, . or .. segments cannot be mirrored to files", bucket, key)
		}
	}
	return filepath.Join(bucket, filepath.FromSlash(path.Clean(key))), nil
}

func download(ctx context.Context, store *s3store.Store, bucket string, o s3store.Object, local string) error {
	if err := os.MkdirAll(filepath.Dir(local), 0o700); err != nil {
		return err
	}
	tmp := local + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	n, err := store.Download(ctx, bucket, o.Key, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != o.Size {
		err = fmt.Errorf("get %s/%s: %d bytes, the listing says %d", bucket, o.Key, n, o.Size)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	os.Chtimes(tmp, o.LastModified, o.LastModified)
	return os.Rename(tmp, local)
}
