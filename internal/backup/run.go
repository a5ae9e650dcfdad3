package backup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// Engine runs backups, restores and drills, one at a time.
type Engine struct {
	Cfg *Config
	Log func(format string, args ...any)
	mu  sync.Mutex
}

// lock makes backups and drills one at a time across processes: the
// agent's schedule and an `opsctl backup` (a second backup-agent process
// in the same container) share the work directory, and restic's own locks
// do not serialise them: a backup started while the other's forget holds
// the exclusive lock fails at once. The second waits for the first, up to
// ctx's end.
func (e *Engine) lock(ctx context.Context, what string) (func(), error) {
	e.mu.Lock()
	if err := os.MkdirAll(e.Cfg.Work, 0o700); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	fl := flock.New(filepath.Join(e.Cfg.Work, "engine.lock"))
	ok, err := fl.TryLock()
	if err == nil && !ok {
		e.logf("%s: waiting for the backup or drill that is running to end", what)
		ok, err = fl.TryLockContext(ctx, 500*time.Millisecond)
	}
	if err != nil || !ok {
		e.mu.Unlock()
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("%s: another backup or drill holds %s: %w", what, fl.Path(), err)
	}
	return func() {
		_ = fl.Unlock()
		e.mu.Unlock()
	}, nil
}

// Result is what one backup did.
type Result struct {
	Snapshot   string                      `json:"snapshot"`
	Started    time.Time                   `json:"started"`
	Duration   time.Duration               `json:"duration_ns"`
	TotalBytes int64                       `json:"total_bytes"`
	AddedBytes int64                       `json:"added_bytes"`
	Snapshots  int                         `json:"snapshots"`
	Components []string                    `json:"components"`
	Counts     map[string]map[string]int64 `json:"counts"`
}

func (e *Engine) logf(format string, args ...any) {
	if e.Log != nil {
		e.Log(format, args...)
	}
}

func (e *Engine) prepareDirs(dirs ...string) error {
	for _, d := range append([]string{e.Cfg.Restic.CacheDir, e.Cfg.Restic.TempDir}, dirs...) {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// Backup takes one snapshot of every configured component, then applies
// the retention policy (forget; the prune runs with the drill).
func (e *Engine) Backup(ctx context.Context) (Result, error) {
	res := Result{Started: time.Now(), Counts: map[string]map[string]int64{}}
	unlock, err := e.lock(ctx, "backup")
	if err != nil {
		return res, err
	}
	defer unlock()
	res.Started = time.Now()
	cfg := e.Cfg
	if !cfg.Configured() {
		return res, errors.New("no backup target: set BACKUP_REPOSITORY (and BACKUP_S3_ACCESS_KEY, BACKUP_S3_SECRET_KEY) in .env, then `opsctl up`")
	}
	if err := e.prepareDirs(cfg.ObjectsDir()); err != nil {
		return res, err
	}
	r := &cfg.Restic
	if err := r.Open(ctx); err != nil {
		if !errors.Is(err, ErrNoRepository) {
			return res, err
		}
		e.logf("no repository at the target yet: restic init")
		if err := r.Init(ctx); err != nil {
			return res, err
		}
	}
	// A fresh stage each time: a component left out must not leave an old copy.
	if err := os.RemoveAll(cfg.StageDir()); err != nil {
		return res, err
	}
	if err := os.MkdirAll(cfg.StageDir(), 0o700); err != nil {
		return res, err
	}
	col := &collector{cfg: cfg, start: res.Started, http: &http.Client{Timeout: 2 * time.Minute}, log: e.logf}
	man := Manifest{Format: ManifestFormat, Created: res.Started.UTC()}
	paths := []string{cfg.StageDir()}
	for _, comp := range cfg.Selected() {
		t := time.Now()
		cm, err := col.collect(ctx, comp)
		if err != nil {
			return res, err
		}
		if root := volumeRoot(comp); root != "" {
			if d, err := describe(root, false); err == nil {
				d.Path = root
				cm.Dir = &d
			}
		}
		man.Components = append(man.Components, cm)
		res.Components = append(res.Components, comp.Name)
		res.Counts[comp.Name] = cm.Counts
		if !within(cm.Path, cfg.StageDir()) {
			paths = append(paths, cm.Path)
		}
		e.logf("%s: %s, %d files, %v, in %s", comp.Name, cm.Method, len(cm.Files), cm.Counts, time.Since(t).Round(time.Millisecond))
	}
	if err := writeJSON(filepath.Join(cfg.StageDir(), ManifestName), man); err != nil {
		return res, err
	}
	sum, err := r.Backup(ctx, paths)
	if prom := filepath.Join(cfg.State, "prometheus", snapshotDir); slices.Contains(paths, prom) {
		os.RemoveAll(prom) // the hard links would keep deleted blocks on disk
	}
	if err != nil {
		return res, err
	}
	res.Snapshot, res.TotalBytes, res.AddedBytes = sum.SnapshotID, sum.TotalBytesProcessed, sum.DataAdded
	if err := r.Forget(ctx, cfg.Keep, false); err != nil {
		return res, fmt.Errorf("the snapshot %s is stored, but the retention policy failed: %w", short(sum.SnapshotID), err)
	}
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return res, err
	}
	res.Snapshots = len(snaps)
	res.Duration = time.Since(res.Started)
	return res, nil
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// volumeRoot is the directory of a component's volume.
func volumeRoot(c Component) string {
	switch c.Kind {
	case KindSQLite:
		return filepath.Dir(c.Source)
	case KindObjects:
		return ""
	}
	return c.Source
}
