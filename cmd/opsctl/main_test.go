package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/okx-hft/okx-hft-ops/internal/tools"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"opsctl": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// The scripts run opsctl as a user would. $REPO is the repository root;
// scripts that write copy what they need into their own work directory.
func TestScripts(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", root)
			// The promtool `make tools` built, wherever this user keeps
			// it: a script never builds it inside the test's timeout.
			env.Setenv("OKX_HFT_OPS_CACHE", filepath.Dir(tools.CacheDir()))
			return nil
		},
	})
}

func TestDoctorS3URL(t *testing.T) {
	for _, c := range []struct {
		endpoint, want string
		external       bool
	}{
		{"http://minio:9000", "http://127.0.0.1:9000", false},
		{"http://seaweedfs:9000", "http://127.0.0.1:9000", false},
		{"https://fsn1.your-objectstorage.com", "https://fsn1.your-objectstorage.com", true},
		{"https://fsn1.your-objectstorage.com/", "https://fsn1.your-objectstorage.com", true},
		{"", "http://127.0.0.1:9000", false},
	} {
		got, ext := doctorS3URL(c.endpoint, "127.0.0.1")
		if got != c.want || ext != c.external {
			t.Errorf("doctorS3URL(%q) = %q, %v; want %q, %v", c.endpoint, got, ext, c.want, c.external)
		}
	}
}
