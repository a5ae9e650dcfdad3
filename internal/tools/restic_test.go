package tools

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestResticPath(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("OKX_HFT_OPS_CACHE", cache)
	want := filepath.Join(cache, "tools", "restic-"+ResticVersion+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	if got := ResticPath(); got != want {
		t.Fatalf("ResticPath() = %s, want %s", got, want)
	}
	if path, ok := CachedRestic(); ok || path != want {
		t.Fatalf("an empty cache: CachedRestic() = %s, %v; want %s, false", path, ok, want)
	}
	os.MkdirAll(filepath.Dir(want), 0o755)
	os.WriteFile(want, nil, 0o755)
	if path, ok := CachedRestic(); !ok || path != want {
		t.Fatalf("a built restic: CachedRestic() = %s, %v; want %s, true", path, ok, want)
	}
}

func TestResticBuildArgs(t *testing.T) {
	args := ResticBuildArgs()
	if args[0] != "install" || args[len(args)-1] != "github.com/restic/restic/cmd/restic@"+ResticVersion {
		t.Errorf("not go install of the pinned module@version: %q", args)
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{"-X main.version=" + strings.TrimPrefix(ResticVersion, "v"), "-tags disable_grpc_modules", "-trimpath"} {
		if !strings.Contains(joined, want) {
			t.Errorf("%q lacks %q", joined, want)
		}
	}
}

// The Dockerfile builds restic into the opsctl image, build-images.sh into
// its stand-in of the stack test, `opsctl tools` for the host's tests: all
// three at one version, so what the tests run is what the node runs.
func TestResticVersionEverywhere(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, c := range []struct {
		file string
		pin  *regexp.Regexp // the one line that sets the version
		use  string         // the build's use of it
	}{
		{"Dockerfile", regexp.MustCompile(`(?m)^ARG RESTIC_VERSION=(\S+)$`), ResticModule + "/cmd/restic@${RESTIC_VERSION}"},
		{"test/stack/build-images.sh", regexp.MustCompile(`(?m)^RESTIC_VERSION=(\S+)`), ResticModule + "/cmd/restic@$RESTIC_VERSION"},
	} {
		data, err := os.ReadFile(filepath.Join(root, c.file))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		pins := c.pin.FindAllStringSubmatch(text, -1)
		if len(pins) != 1 {
			t.Errorf("%s: %d lines set RESTIC_VERSION (%s), want 1", c.file, len(pins), c.pin)
			continue
		}
		if pins[0][1] != ResticVersion {
			t.Errorf("%s pins restic %s, tools.ResticVersion is %s", c.file, pins[0][1], ResticVersion)
		}
		if !strings.Contains(text, c.use) {
			t.Errorf("%s does not build %s", c.file, c.use)
		}
		// A version written into the build instead of the variable.
		if m := regexp.MustCompile(`restic/restic(/cmd/restic)?@v\d`).FindString(text); m != "" {
			t.Errorf("%s names a restic version literally (%s...): use RESTIC_VERSION", c.file, m)
		}
	}
}
