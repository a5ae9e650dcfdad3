package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// ManifestFormat is the version of manifest.json; a restore refuses others.
const ManifestFormat = 1

// ManifestName is the manifest's file name inside the stage directory.
const ManifestName = "manifest.json"

// Manifest describes one snapshot: what each component holds, written
// before restic reads the files, so a restore can tell a complete snapshot
// from a partial one and a file restored whole from a truncated one.
type Manifest struct {
	Format     int                 `json:"format"`
	Created    time.Time           `json:"created"`
	Components []ComponentManifest `json:"components"`
}

// ComponentManifest is one stateful part in a snapshot.
type ComponentManifest struct {
	Name   string `json:"name"`
	Method string `json:"method"`
	// Path is where the component's files are in the snapshot (an absolute
	// path of the backup container); restored under a target T they are
	// at T+Path.
	Path  string `json:"path"`
	Files []File `json:"files"`
	// Dir is the owner and mode of the service's volume root, which a
	// restore onto a new volume gives back (the service writes there).
	Dir    *File             `json:"dir,omitempty"`
	Counts map[string]int64  `json:"counts,omitempty"`
	Notes  map[string]string `json:"notes,omitempty"`
}

// File is one file of a component, relative to its Path.
type File struct {
	Path   string      `json:"path"`
	Size   int64       `json:"size"`
	Mode   fs.FileMode `json:"mode"`
	UID    int         `json:"uid"`
	GID    int         `json:"gid"`
	SHA256 string      `json:"sha256,omitempty"`
	// Bucket and Key name the object a file of the objects component is.
	Bucket string `json:"bucket,omitempty"`
	Key    string `json:"key,omitempty"`
}

// Component returns the named component's manifest, or nil.
func (m *Manifest) Component(name string) *ComponentManifest {
	for i := range m.Components {
		if m.Components[i].Name == name {
			return &m.Components[i]
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadManifest reads the manifest of a restored snapshot.
func ReadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("the snapshot has no %s: it was not made by opsctl backup, or is partial", ManifestName)
		}
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s of the snapshot is unreadable: %v", ManifestName, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("%s has format %d; this opsctl reads format %d: restore with the opsctl version that made it", ManifestName, m.Format, ManifestFormat)
	}
	return &m, nil
}

// listFiles walks dir and describes every regular file in it; with hash,
// each file's SHA-256 too.
func listFiles(dir string, hash bool) ([]File, error) {
	var files []File
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		f, err := describe(path, hash)
		if err != nil {
			return err
		}
		f.Path = filepath.ToSlash(rel)
		files = append(files, f)
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, err
}

func describe(path string, hash bool) (File, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return File{}, err
	}
	f, err := describeInfo(st)
	if err == nil && hash {
		if f.SHA256, err = sha256File(path); err != nil {
			return File{}, err
		}
	}
	return f, err
}

// describeInfo is a file's size, permissions and owner.
func describeInfo(st os.FileInfo) (File, error) {
	f := File{Size: st.Size(), Mode: st.Mode().Perm()}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return f, fmt.Errorf("%s: no owner in its file information", st.Name())
	}
	f.UID, f.GID = int(sys.Uid), int(sys.Gid)
	return f, nil
}

func sha256File(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// seen is a restored file's size and SHA-256.
type seen struct {
	size int64
	sha  string
}

// missing names each wanted component the manifest lacks.
func (m *Manifest) missing(want []string) []string {
	var problems []string
	for _, name := range want {
		if m.Component(name) == nil {
			problems = append(problems, fmt.Sprintf("component %s is not in the snapshot (it holds %s)", name, strings.Join(m.names(), ", ")))
		}
	}
	return problems
}

// diskFiles describes the restored files of c under base; hashes only
// where the manifest has one.
func diskFiles(base string, c *ComponentManifest) map[string]seen {
	got := map[string]seen{}
	for _, f := range c.Files {
		p := filepath.Join(base, filepath.FromSlash(f.Path))
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		s := seen{size: st.Size()}
		if f.SHA256 != "" {
			s.sha, _ = sha256File(p)
		}
		got[f.Path] = s
	}
	return got
}

// verify compares the files found with the manifest's: every file there,
// with its size and, where recorded, its hash.
func (c *ComponentManifest) verify(got map[string]seen) []string {
	var problems []string
	for _, f := range c.Files {
		g, ok := got[f.Path]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: %s is missing from the restored snapshot", c.Name, f.Path))
		case g.size != f.Size:
			problems = append(problems, fmt.Sprintf("%s: %s has %d bytes, the manifest says %d (truncated or changed)", c.Name, f.Path, g.size, f.Size))
		case f.SHA256 != "" && g.sha != f.SHA256:
			problems = append(problems, fmt.Sprintf("%s: %s does not match its SHA-256 in the manifest", c.Name, f.Path))
		}
	}
	return problems
}

func (m *Manifest) names() []string {
	var n []string
	for _, c := range m.Components {
		n = append(n, c.Name)
	}
	return n
}
