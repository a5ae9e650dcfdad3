package setup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okx-hft/okx-hft-ops/internal/envfile"
	"github.com/okx-hft/okx-hft-ops/internal/htpasswd"
	"github.com/okx-hft/okx-hft-ops/internal/secrets"
)

func repoExample(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", ExampleFile))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestInitTwiceChangesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ExampleFile), repoExample(t), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !res.HtpasswdNew {
		t.Fatalf("first run: %+v", res)
	}
	env1, _ := os.ReadFile(filepath.Join(dir, EnvFile))
	ht1, _ := os.ReadFile(filepath.Join(dir, HtpasswdFile))
	st, _ := os.Stat(filepath.Join(dir, EnvFile))
	if st.Mode().Perm() != 0o600 {
		t.Errorf(".env mode %v, want 0600", st.Mode().Perm())
	}

	f, errs := envfile.Parse(EnvFile, env1)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, s := range secrets.Specs {
		v, _ := f.Get(s.Key)
		if s.Optional {
			if v != "" {
				t.Errorf("optional %s was filled: %q", s.Key, v)
			}
			continue
		}
		if w := secrets.Weakness(s, v); w != "" {
			t.Errorf("%s %s", s.Key, w)
		}
	}
	user, hash, _ := strings.Cut(strings.TrimSpace(string(ht1)), ":")
	pw, _ := f.Get("PROXY_BASIC_AUTH_PASSWORD")
	if u, _ := f.Get("PROXY_BASIC_AUTH_USER"); user != u || !htpasswd.Verify(hash, pw) {
		t.Errorf("htpasswd %q does not match the proxy credentials in .env", ht1)
	}

	res2, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	env2, _ := os.ReadFile(filepath.Join(dir, EnvFile))
	ht2, _ := os.ReadFile(filepath.Join(dir, HtpasswdFile))
	if string(env1) != string(env2) || string(ht1) != string(ht2) {
		t.Error("second init changed .env or htpasswd")
	}
	if res2.Created || len(res2.Generated) != 0 || res2.HtpasswdNew {
		t.Errorf("second run reported changes: %+v", res2)
	}
}

func TestInitKeepsValuesAndAddsMissingKeys(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ExampleFile), repoExample(t), 0o644)
	os.WriteFile(filepath.Join(dir, EnvFile), []byte("# mine\nGRAFANA_ADMIN_PASSWORD=admin\nOPS_HTTP_PORT=9999\n"), 0o644)
	res, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, EnvFile))
	f, _ := envfile.Parse(EnvFile, data)
	if v, _ := f.Get("OPS_HTTP_PORT"); v != "9999" {
		t.Errorf("OPS_HTTP_PORT overwritten: %q", v)
	}
	if v, _ := f.Get("GRAFANA_ADMIN_PASSWORD"); v != "admin" {
		t.Errorf("existing password replaced: %q", v)
	}
	if len(res.WeakExisting) != 1 || !strings.HasPrefix(res.WeakExisting[0], "GRAFANA_ADMIN_PASSWORD") {
		t.Errorf("weak existing secret not reported: %v", res.WeakExisting)
	}
	if v, _ := f.Get("SUPERSET_SECRET_KEY"); len(v) < 32 {
		t.Errorf("missing secret not generated: %q", v)
	}
	if !strings.HasPrefix(string(data), "# mine\n") {
		t.Error("user's comment lost")
	}
}

func TestInitRefusesMalformedEnv(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ExampleFile), repoExample(t), 0o644)
	bad := []byte("A=1\nthis is not valid\n")
	os.WriteFile(filepath.Join(dir, EnvFile), bad, 0o600)
	_, err := Init(dir)
	if err == nil || !strings.Contains(err.Error(), ".env:2") {
		t.Fatalf("want an error naming .env:2, got %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, EnvFile))
	if string(after) != string(bad) {
		t.Error("malformed .env was modified")
	}
}

// Users an operator added to secrets/htpasswd survive opsctl init, also
// when the proxy's own password changes; only the proxy user's line moves.
func TestInitKeepsExtraHtpasswdUsers(t *testing.T) {
	dir := t.TempDir()
	copyExample(t, dir)
	if _, err := Init(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, HtpasswdFile)
	alice, err := htpasswd.Line("alice", "alice-password-123")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(data, []byte(alice+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	// A rotated proxy password.
	envPath := filepath.Join(dir, EnvFile)
	env, _ := os.ReadFile(envPath)
	f, errs := envfile.Parse(EnvFile, env)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	f.Set("PROXY_BASIC_AUTH_PASSWORD", "Rotated0PasswordForTheProxy")
	os.WriteFile(envPath, f.Bytes(), 0o600)
	res, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.HtpasswdNew {
		t.Error("a rotated password did not rewrite the proxy user's line")
	}
	got, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 2 || lines[1] != alice {
		t.Fatalf("want the proxy user then alice unchanged, got:\n%s", got)
	}
	user, _ := f.Get("PROXY_BASIC_AUTH_USER")
	u, hash, _ := strings.Cut(lines[0], ":")
	if u != user || !htpasswd.Verify(hash, "Rotated0PasswordForTheProxy") {
		t.Errorf("the proxy user's line does not hold the rotated password: %q", lines[0])
	}
}

// A directory where the password file belongs (docker compose up before
// opsctl init) is refused with what to do.
func TestInitRefusesHtpasswdDirectory(t *testing.T) {
	dir := t.TempDir()
	copyExample(t, dir)
	os.MkdirAll(filepath.Join(dir, HtpasswdFile), 0o755)
	_, err := Init(dir)
	if err == nil || !strings.Contains(err.Error(), "is a directory") || !strings.Contains(err.Error(), "rmdir") {
		t.Fatalf("want an error saying to remove the directory, got %v", err)
	}
}

func copyExample(t *testing.T, dir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, ExampleFile), repoExample(t), 0o644); err != nil {
		t.Fatal(err)
	}
}
