package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Staged is a snapshot restored into a directory and verified.
type Staged struct {
	Snapshot Snapshot
	Root     string
	Manifest *Manifest
	// Restored are counts read from the restored data itself (Prometheus'
	// blocks and samples), beside the manifest's, which the backup recorded.
	Restored map[string]map[string]int64
}

// Stage restores snapshot id ("" = the newest) into dir, which is emptied
// first, and verifies it: restic checks every blob's MAC while reading and
// every restored file's content (--verify); then the manifest must list
// every configured component and every file must have its size and hash,
// every SQLite copy must pass its integrity check and every Prometheus
// block must have its meta.json. Nothing outside dir is written.
func (e *Engine) Stage(ctx context.Context, id, dir string) (*Staged, error) {
	return e.stage(ctx, id, dir, false)
}

// stage with light restores only the stage directory (databases,
// Alertmanager's files, the manifest) to disk and reads the large parts
// (Prometheus, Loki, the objects) through `restic dump` instead, checking
// the same sizes and hashes without a second copy of them on the disk.
func (e *Engine) stage(ctx context.Context, id, dir string, light bool) (*Staged, error) {
	cfg := e.Cfg
	if !cfg.Configured() {
		return nil, errors.New("no backup target: set BACKUP_REPOSITORY, BACKUP_S3_ACCESS_KEY, BACKUP_S3_SECRET_KEY and BACKUP_RESTIC_PASSWORD in .env to those of the node whose backups you restore")
	}
	if err := e.prepareDirs(); err != nil {
		return nil, err
	}
	r := &cfg.Restic
	if err := r.Open(ctx); err != nil {
		return nil, err
	}
	snap, err := r.Find(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	e.logf("restoring snapshot %s of %s into %s", snap.ShortID, snap.Time.UTC().Format("2006-01-02 15:04:05Z"), dir)
	if light {
		err = r.RestoreOnly(ctx, snap.ID, dir, cfg.StageDir())
	} else {
		err = r.Restore(ctx, snap.ID, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot %s does not restore: the repository's data is damaged or incomplete: %w", snap.ShortID, err)
	}
	man, err := cfg.RestoredManifest(dir)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", snap.ShortID, err)
	}
	problems := man.missing(cfg.Components)
	restored := map[string]map[string]int64{}
	for i := range man.Components {
		c := &man.Components[i]
		var got map[string]seen
		if light && !within(c.Path, cfg.StageDir()) {
			var counts map[string]int64
			got, counts, err = e.dumpFiles(ctx, snap.ID, c)
			if err != nil {
				return nil, fmt.Errorf("snapshot %s does not restore: %s: %w", snap.ShortID, c.Name, err)
			}
			if counts != nil {
				restored[c.Name] = counts
			}
		} else {
			got = diskFiles(filepath.Join(dir, c.Path), c)
			if c.Name == "prometheus" {
				if b, n, err := tsdbBlocks(filepath.Join(dir, c.Path)); err != nil {
					problems = append(problems, err.Error())
				} else {
					restored[c.Name] = map[string]int64{"blocks": b, "samples": n}
				}
			}
		}
		problems = append(problems, c.verify(got)...)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("snapshot %s is incomplete or damaged (%d problems): %s", snap.ShortID, len(problems), strings.Join(first(problems, 8), "; "))
	}
	for _, c := range man.Components {
		for _, f := range c.Files {
			if strings.HasSuffix(f.Path, ".db") && within(c.Path, cfg.StageDir()) {
				if err := integrityCheck(ctx, filepath.Join(dir, c.Path, f.Path)); err != nil {
					return nil, fmt.Errorf("snapshot %s: %s: %w", snap.ShortID, c.Name, err)
				}
			}
		}
	}
	return &Staged{Snapshot: snap, Root: dir, Manifest: man, Restored: restored}, nil
}

// dumpFiles reads component c of snapshot id as restic dump's tar stream
// and returns each regular file's size and SHA-256, relative to c.Path;
// for Prometheus also the blocks and samples its meta.json files count.
func (e *Engine) dumpFiles(ctx context.Context, id string, c *ComponentManifest) (map[string]seen, map[string]int64, error) {
	got := map[string]seen{}
	var counts map[string]int64
	if c.Name == "prometheus" {
		counts = map[string]int64{"blocks": 0, "samples": 0}
	}
	prefix := strings.TrimPrefix(c.Path, "/") + "/"
	err := e.Cfg.Restic.Dump(ctx, id, c.Path, func(r io.Reader) error {
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading restic dump's archive: %w", err)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			name := strings.TrimPrefix(strings.TrimPrefix(h.Name, "/"), prefix)
			hash := sha256.New()
			var meta bytes.Buffer
			w := io.Writer(hash)
			isMeta := counts != nil && path.Base(name) == "meta.json" && strings.Count(name, "/") == 1
			if isMeta {
				w = io.MultiWriter(hash, &meta)
			}
			n, err := io.Copy(w, tr)
			if err != nil {
				return fmt.Errorf("reading %s from restic dump: %w", name, err)
			}
			got[name] = seen{size: n, sha: hex.EncodeToString(hash.Sum(nil))}
			if isMeta {
				samples, ok := blockSamples(meta.Bytes())
				if !ok {
					return fmt.Errorf("prometheus: %s is not a TSDB block's meta.json", name)
				}
				counts["blocks"]++
				counts["samples"] += samples
			}
		}
	})
	return got, counts, err
}

// RestoredManifest reads the manifest of a snapshot restored under root:
// restic puts each path back under root, the stage directory's too.
func (c *Config) RestoredManifest(root string) (*Manifest, error) {
	return ReadManifest(filepath.Join(root, c.StageDir(), ManifestName))
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

// Occupied names the configured components whose live state is not empty:
// a restore onto them replaces data.
func (e *Engine) Occupied() []string {
	var out []string
	for _, comp := range e.Cfg.Selected() {
		switch comp.Kind {
		case KindSQLite:
			if _, err := os.Stat(comp.Source); err == nil {
				out = append(out, fmt.Sprintf("%s (%s)", comp.Name, comp.Source))
			}
		case KindObjects:
		default:
			if !emptyDir(comp.Source, "snapshots") {
				out = append(out, fmt.Sprintf("%s (%s)", comp.Name, comp.Source))
			}
		}
	}
	return out
}

func emptyDir(dir string, ignore ...string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return true
	}
	for _, e := range entries {
		if !slices.Contains(ignore, e.Name()) {
			return false
		}
	}
	return true
}

// Apply puts a verified snapshot's files back into the services' volumes
// (the services must be stopped): each SQLite database, Alertmanager's
// files, Prometheus' blocks and Loki's directory replace what is there.
// Objects go back through the S3 API with ApplyObjects, once S3 runs.
func (e *Engine) Apply(s *Staged) error {
	comps := map[string]Component{}
	for _, c := range e.Cfg.Selected() {
		comps[c.Name] = c
	}
	for _, cm := range s.Manifest.Components {
		comp, ok := comps[cm.Name]
		if !ok || comp.Kind == KindObjects {
			continue
		}
		src := filepath.Join(s.Root, cm.Path)
		switch comp.Kind {
		case KindSQLite:
			dst := comp.Source
			for _, suffix := range []string{"-wal", "-shm", "-journal"} {
				os.Remove(dst + suffix)
			}
			if err := copyFile(filepath.Join(src, filepath.Base(dst)), dst); err != nil {
				return fmt.Errorf("%s: %w", cm.Name, err)
			}
		case KindAlertmanager:
			for _, f := range alertmanagerFiles {
				if err := copyFile(filepath.Join(src, f), filepath.Join(comp.Source, f)); err != nil {
					return fmt.Errorf("%s: %w", cm.Name, err)
				}
			}
		case KindPrometheus, KindLoki:
			if err := clearDir(comp.Source); err != nil {
				return fmt.Errorf("%s: %w", cm.Name, err)
			}
			if err := copyTree(src, comp.Source); err != nil {
				return fmt.Errorf("%s: %w", cm.Name, err)
			}
		}
		if d := cm.Dir; d != nil {
			root := volumeRoot(comp)
			if err := os.Chmod(root, d.Mode); err != nil {
				return fmt.Errorf("%s: %w", cm.Name, err)
			}
			if err := os.Lchown(root, d.UID, d.GID); err != nil {
				return fmt.Errorf("%s: %w", cm.Name, err)
			}
		}
		e.logf("%s: %d files put back into %s", cm.Name, len(cm.Files), comp.Source)
	}
	return nil
}

// clearDir removes everything inside dir, keeping dir (a volume's root).
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return os.MkdirAll(dir, 0o755)
		}
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// copyTree copies src's files and directories into dst, with their modes,
// owners and modification times.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if rel == "." {
				f, err := describeInfo(info)
				if err != nil {
					return err
				}
				return os.Lchown(dst, f.UID, f.GID)
			}
			if err := os.MkdirAll(target, info.Mode().Perm()); err != nil {
				return err
			}
			return copyOwner(target, info)
		case d.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil // sockets, links: none in these volumes
	})
}

// ApplyObjects uploads every object of the snapshot into the node's S3
// (buckets must exist: s3-init creates them). Existing keys are replaced;
// other objects are left.
func (e *Engine) ApplyObjects(ctx context.Context, s *Staged) (int, error) {
	cm := s.Manifest.Component("objects")
	if cm == nil {
		return 0, nil
	}
	store, err := e.Cfg.Store()
	if err != nil {
		return 0, err
	}
	have, err := store.ListBuckets(ctx)
	if err != nil {
		return 0, fmt.Errorf("objects: listing the buckets of %s: %w", e.Cfg.S3Endpoint, err)
	}
	n := 0
	for _, f := range cm.Files {
		if !slices.Contains(have, f.Bucket) {
			if err := store.EnsureBuckets(ctx, []string{f.Bucket}, func(string) {}); err != nil {
				return n, fmt.Errorf("objects: bucket %s: %w", f.Bucket, err)
			}
			have = append(have, f.Bucket)
		}
		fh, err := os.Open(filepath.Join(s.Root, cm.Path, filepath.FromSlash(f.Path)))
		if err != nil {
			return n, err
		}
		err = store.Upload(ctx, f.Bucket, f.Key, fh, f.Size)
		fh.Close()
		if err != nil {
			return n, fmt.Errorf("objects: %w", err)
		}
		n++
	}
	return n, nil
}
