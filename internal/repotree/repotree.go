// Package repotree finds the repository root and copies parts of it, for
// tests that run opsctl or the stack on a copy instead of the working tree.
package repotree

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Root walks up from dir to the directory holding go.mod.
func Root(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above " + dir)
		}
		dir = parent
	}
}

// Copy copies the files and directories rels (relative to root) into dst,
// keeping their permission bits (scripts stay executable).
func Copy(root, dst string, rels []string) error {
	for _, rel := range rels {
		err := filepath.WalkDir(filepath.Join(root, rel), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			r, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			target := filepath.Join(dst, r)
			if d.IsDir() {
				return os.MkdirAll(target, 0o755)
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		})
		if err != nil {
			return err
		}
	}
	return nil
}
