// Package atomicfile replaces a file by writing a temporary one beside it
// and renaming it over the old: a reader sees the old file or the new one,
// never a part, and a crash leaves the old one.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data of the given mode. With gid >= 0 and when
// running as root, the file belongs to root and that group.
func Write(path string, data []byte, mode os.FileMode, gid int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if gid >= 0 && os.Geteuid() == 0 {
		if err := tmp.Chown(0, gid); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
