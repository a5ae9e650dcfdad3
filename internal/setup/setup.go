// Package setup prepares a checkout to run: .env with fresh secrets and the
// proxy's basic-auth file. Running it again changes nothing.
package setup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/okx-hft/okx-hft-ops/internal/atomicfile"
	"github.com/okx-hft/okx-hft-ops/internal/envfile"
	"github.com/okx-hft/okx-hft-ops/internal/htpasswd"
	"github.com/okx-hft/okx-hft-ops/internal/secrets"
)

const (
	ExampleFile  = ".env.example"
	EnvFile      = ".env"
	HtpasswdFile = "secrets/htpasswd"
)

// Result says what Init did.
type Result struct {
	Created      bool     // .env did not exist
	Generated    []string // secrets given fresh values
	Added        []string // keys copied from .env.example into an existing .env
	HtpasswdNew  bool     // secrets/htpasswd written
	WeakExisting []string // secrets kept as found although weak: "KEY: reason"
	Env          map[string]string
}

// Init creates or completes dir/.env from dir/.env.example and writes
// dir/secrets/htpasswd.
func Init(dir string) (*Result, error) {
	examplePath := filepath.Join(dir, ExampleFile)
	exampleData, err := os.ReadFile(examplePath)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w (run opsctl in the repository root, or pass --dir)", ExampleFile, err)
	}
	example, perrs := envfile.Parse(ExampleFile, exampleData)
	if len(perrs) > 0 {
		return nil, fmt.Errorf("%s is malformed: %w", ExampleFile, perrs[0])
	}

	res := &Result{}
	envPath := filepath.Join(dir, EnvFile)
	var env *envfile.File
	var before []byte
	switch data, err := os.ReadFile(envPath); {
	case errors.Is(err, fs.ErrNotExist):
		env, _ = envfile.Parse(EnvFile, exampleData)
		res.Created = true
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", EnvFile, err)
	default:
		before = data
		var perrs []*envfile.ParseError
		env, perrs = envfile.Parse(EnvFile, data)
		if len(perrs) > 0 {
			return nil, fmt.Errorf("%s is malformed, fix it by hand first (nothing was changed): %w", EnvFile, perrs[0])
		}
		for _, l := range example.Lines {
			if l.Key == "" {
				continue
			}
			if _, ok := env.Get(l.Key); !ok {
				if err := env.Set(l.Key, l.Value); err != nil {
					return nil, err
				}
				res.Added = append(res.Added, l.Key)
			}
		}
	}

	for _, spec := range secrets.Specs {
		value, ok := env.Get(spec.Key)
		if !ok || spec.Optional {
			continue
		}
		if value != "" {
			if w := secrets.Weakness(spec, value); w != "" {
				res.WeakExisting = append(res.WeakExisting, spec.Key+" "+w)
			}
			continue
		}
		fresh, err := secrets.Generate(spec)
		if err != nil {
			return nil, err
		}
		if err := env.Set(spec.Key, fresh); err != nil {
			return nil, err
		}
		res.Generated = append(res.Generated, spec.Key)
	}

	if out := env.Bytes(); !bytes.Equal(out, before) {
		if err := atomicfile.Write(envPath, out, 0o600, -1); err != nil {
			return nil, err
		}
	} else if err := os.Chmod(envPath, 0o600); err != nil {
		return nil, err
	}
	res.Env = env.Map()

	written, err := ensureHtpasswd(filepath.Join(dir, HtpasswdFile), res.Env["PROXY_BASIC_AUTH_USER"], res.Env["PROXY_BASIC_AUTH_PASSWORD"])
	if err != nil {
		return nil, err
	}
	res.HtpasswdNew = written
	return res, nil
}

// ensureHtpasswd makes the file hold this user with a hash of this
// password, and keeps every other line: users an operator added by hand
// (htpasswd -B secrets/htpasswd alice) stay. The user's line is rewritten
// only when its hash does not match the password (the salt is random, so
// rewriting it would change the file on every run).
func ensureHtpasswd(path, user, password string) (bool, error) {
	if user == "" || password == "" {
		return false, fmt.Errorf("PROXY_BASIC_AUTH_USER and PROXY_BASIC_AUTH_PASSWORD must be set in %s", EnvFile)
	}
	var lines []string
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return false, fmt.Errorf("%s is a directory, not the proxy's password file: Docker creates one when `docker compose up` runs before `opsctl init`; remove it (rmdir %s, as root if Docker made it) and run opsctl init again", HtpasswdFile, path)
	}
	if data, err := os.ReadFile(path); err == nil {
		lines = strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) == 1 && lines[0] == "" {
			lines = nil
		}
	} else if !os.IsNotExist(err) {
		return false, err
	}
	mine := -1
	for i, l := range lines {
		if u, hash, ok := strings.Cut(l, ":"); ok && u == user {
			if htpasswd.Verify(hash, password) {
				return false, nil
			}
			mine = i
			break
		}
	}
	line, err := htpasswd.Line(user, password)
	if err != nil {
		return false, fmt.Errorf("PROXY_BASIC_AUTH_USER: %w", err)
	}
	if mine >= 0 {
		lines[mine] = line
	} else {
		lines = append(lines, line)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	// nginx workers read the file as an unprivileged user: it holds salted
	// hashes, not passwords.
	return true, atomicfile.Write(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644, -1)
}
