package backup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DrillResult is what one restore drill found.
type DrillResult struct {
	Snapshot string        `json:"snapshot"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	// Restored are the counts found in the restored snapshot; Live those
	// of the running stack now (they differ by what changed since).
	Restored map[string]map[string]int64 `json:"restored"`
	Live     map[string]map[string]int64 `json:"live"`
}

// Drill proves the newest snapshot restores: restic check reads a subset of
// the repository's data back, the snapshot is restored into a scratch
// directory and verified like a real restore (Stage), every SQLite copy
// opens and holds the counts the backup recorded, Prometheus' blocks read,
// and the objects are all there; the live stack's counts are reported
// beside them. The scratch directory is removed afterwards. The retention
// policy's prune runs here, once per drill, after the proof.
func (e *Engine) Drill(ctx context.Context) (DrillResult, error) {
	res := DrillResult{Started: time.Now(), Restored: map[string]map[string]int64{}, Live: map[string]map[string]int64{}}
	unlock, err := e.lock(ctx, "drill")
	if err != nil {
		return res, err
	}
	defer unlock()
	res.Started = time.Now()
	r := &e.Cfg.Restic
	if !e.Cfg.Configured() {
		return res, fmt.Errorf("no backup target: set BACKUP_REPOSITORY in .env")
	}
	if err := r.Check(ctx, e.Cfg.DrillReadData); err != nil {
		return res, fmt.Errorf("the repository fails restic check --read-data-subset=%s: %w", e.Cfg.DrillReadData, err)
	}
	dir := e.Cfg.DrillDir()
	defer os.RemoveAll(dir)
	st, err := e.stage(ctx, "latest", dir, true)
	if err != nil {
		return res, err
	}
	res.Snapshot = st.Snapshot.ShortID
	var problems []string
	for _, cm := range st.Manifest.Components {
		comp := componentByName(e.Cfg.State, cm.Name)
		base := filepath.Join(dir, cm.Path)
		switch comp.Kind {
		case KindSQLite:
			file := filepath.Join(base, filepath.Base(comp.Source))
			got, err := countRows(ctx, file, comp.Counts)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			res.Restored[cm.Name] = got
			problems = append(problems, compareCounts(cm.Name, got, cm.Counts)...)
			if live, err := countLive(ctx, comp); err == nil {
				res.Live[cm.Name] = live
			} else {
				e.logf("drill: %s: live counts: %v", cm.Name, err)
			}
		case KindPrometheus:
			got := st.Restored[cm.Name]
			res.Restored[cm.Name] = got
			problems = append(problems, compareCounts(cm.Name, got, cm.Counts)...)
		case KindObjects:
			got := map[string]int64{"objects": int64(len(cm.Files))}
			res.Restored[cm.Name] = got
			if int64(len(cm.Files)) != cm.Counts["objects"] {
				problems = append(problems, fmt.Sprintf("objects: the snapshot holds %d objects, the backup listed %d", len(cm.Files), cm.Counts["objects"]))
			}
			if live, err := e.liveObjects(ctx); err == nil {
				res.Live[cm.Name] = map[string]int64{"objects": live}
			} else {
				e.logf("drill: objects: live count: %v", err)
			}
		}
	}
	if len(problems) > 0 {
		return res, fmt.Errorf("snapshot %s restores but does not hold what was backed up: %s", st.Snapshot.ShortID, strings.Join(first(problems, 8), "; "))
	}
	if err := r.Forget(ctx, e.Cfg.Keep, true); err != nil {
		return res, fmt.Errorf("the drill passed, but the retention policy's prune failed: %w", err)
	}
	res.Duration = time.Since(res.Started)
	return res, nil
}

func componentByName(state, name string) Component {
	for _, c := range Components(state) {
		if c.Name == name {
			return c
		}
	}
	return Component{}
}

func compareCounts(name string, got, want map[string]int64) []string {
	var out []string
	for item, n := range want {
		if got[item] != n {
			out = append(out, fmt.Sprintf("%s: %d %s restored, %d backed up", name, got[item], item, n))
		}
	}
	return out
}

// countLive counts in a fresh copy of the live database, never in the
// live file itself (a reader there could hold the writer up).
func countLive(ctx context.Context, comp Component) (map[string]int64, error) {
	tmp, err := os.MkdirTemp("", "drill-live-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	copy := filepath.Join(tmp, "live.db")
	if err := vacuumInto(ctx, comp.Source, copy); err != nil {
		return nil, err
	}
	return countRows(ctx, copy, comp.Counts)
}

func (e *Engine) liveObjects(ctx context.Context) (int64, error) {
	store, err := e.Cfg.Store()
	if err != nil {
		return 0, err
	}
	buckets, err := store.ListBuckets(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, b := range buckets {
		objs, err := store.ListObjects(ctx, b)
		if err != nil {
			return 0, err
		}
		n += int64(len(objs))
	}
	return n, nil
}
