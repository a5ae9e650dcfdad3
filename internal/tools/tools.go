// Package tools runs the upstream programs opsctl check delegates to
// (promtool, amtool, nginx, loki, alloy): from the pinned image when a
// Docker engine answers and the image is present, else from what this
// machine has (a promtool built once from the Go module pinned in go.mod,
// the distribution's nginx). Every Tool says which program ran and at which
// version, so a report can never hide what was or was not checked. It also
// builds the pinned restic the backups run (BuildRestic).
package tools

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Mount is a file or directory of the host as a container sees it.
type Mount struct {
	Host, Container string
}

// Tool is one way to run an upstream validator.
type Tool struct {
	Name    string // promtool, amtool, nginx, loki, alloy
	Via     string // a person's words for where it comes from
	Version string // the version it runs at
	Image   string // run inside this image; "" runs Bin on this host
	ImageID string // the image's content id, when known (keys the result cache)
	Bin     string // entrypoint inside the image ("" = the image's own), or the host binary
	// Remembered counts the answers RunCached gave from its cache.
	Remembered int
}

// Local reports whether the tool runs on this host rather than in an image.
func (t *Tool) Local() bool { return t.Image == "" }

// ErrNotRun wraps every failure to start a tool: the program did not get to
// look at the input, so nothing was checked.
var ErrNotRun = errors.New("could not run")

// Run runs the tool with args, which name files by their container paths;
// mounts say where those are on the host. On the host the paths are mapped
// back through the mounts. It returns the combined output and the exit code;
// err is only for a tool that could not be started (wrapping ErrNotRun).
func (t *Tool) Run(ctx context.Context, mounts []Mount, env map[string]string, args ...string) (string, int, error) {
	var cmd *exec.Cmd
	if t.Local() {
		local := make([]string, len(args))
		for i, a := range args {
			local[i] = hostPath(a, mounts)
		}
		cmd = exec.CommandContext(ctx, t.Bin, local...)
		cmd.Env = os.Environ()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	} else {
		dargs := []string{"run", "--rm", "--network", "none", "--pull", "never"}
		if t.Bin != "" {
			dargs = append(dargs, "--entrypoint", t.Bin)
		}
		for _, m := range mounts {
			dargs = append(dargs, "-v", m.Host+":"+m.Container+":ro")
		}
		keys := make([]string, 0, len(env))
		for k := range env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			dargs = append(dargs, "-e", k+"="+env[k])
		}
		dargs = append(append(dargs, t.Image), args...)
		cmd = exec.CommandContext(ctx, "docker", dargs...)
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	out := &buf
	if t.Local() {
		// The output names container paths in both modes.
		text := buf.String()
		for _, m := range mounts {
			text = strings.ReplaceAll(text, m.Host, m.Container)
		}
		out = bytes.NewBufferString(text)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0, nil
	case ctx.Err() != nil:
		return out.String(), -1, fmt.Errorf("%s %w: %v", t.Name, ErrNotRun, ctx.Err())
	case errors.As(err, &exit) && !t.Local() && exit.ExitCode() >= 125:
		// 125: docker itself failed; 126/127: the command in the image
		// could not be invoked (docker run's documented exit codes).
		return out.String(), exit.ExitCode(), fmt.Errorf("%s %w in %s: %s", t.Name, ErrNotRun, t.Image, lastLines(out.String(), 3))
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode(), nil
	default:
		return out.String(), -1, fmt.Errorf("%s %w: %v", t.Name, ErrNotRun, err)
	}
}

// hostPath maps a container path inside arg (a path, or a flag ending in
// one) back to the host through the longest matching mount.
func hostPath(arg string, mounts []Mount) string {
	best := -1
	at := -1
	for i, m := range mounts {
		j := strings.Index(arg, m.Container)
		if j < 0 {
			continue
		}
		rest := arg[j+len(m.Container):]
		if rest != "" && !strings.HasPrefix(rest, "/") {
			continue
		}
		if best < 0 || len(m.Container) > len(mounts[best].Container) {
			best, at = i, j
		}
	}
	if best < 0 {
		return arg
	}
	m := mounts[best]
	return arg[:at] + m.Host + arg[at+len(m.Container):]
}

// Docker reports whether a Docker engine answers, within a few seconds.
func Docker(ctx context.Context) bool {
	if _, err := exec.LookPath("docker"); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").Run() == nil
}

// ImageID returns the content id of the image ref, and whether the engine
// holds it.
func ImageID(ctx context.Context, ref string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", ref).Output()
	return strings.TrimSpace(string(out)), err == nil
}

// PromtoolModule is the Go module promtool is built from.
const PromtoolModule = "github.com/prometheus/prometheus"

// PromtoolModuleVersion reads the version of the Prometheus module that
// go.mod in moduleDir pins (v0.315.0 is Prometheus 3.15.0).
func PromtoolModuleVersion(moduleDir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(moduleDir, "go.mod"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(PromtoolModule) + `\s+(v\S+)`).FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("go.mod does not require %s", PromtoolModule)
	}
	return string(m[1]), nil
}

// ReleaseOf turns the Go module version of Prometheus into its release:
// v0.315.0 → 3.15.0 (Prometheus 3.x tags its Go module v0.3xy.z).
func ReleaseOf(moduleVersion string) string {
	v := strings.TrimPrefix(moduleVersion, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) == 3 && parts[0] == "0" && len(parts[1]) == 3 {
		if minor, err := strconv.Atoi(parts[1][1:]); err == nil {
			return fmt.Sprintf("%s.%d.%s", parts[1][:1], minor, parts[2])
		}
	}
	return v
}

// CacheDir is where built tools are kept between runs:
// $OKX_HFT_OPS_CACHE/tools, else the user cache dir.
func CacheDir() string {
	if d := os.Getenv("OKX_HFT_OPS_CACHE"); d != "" {
		return filepath.Join(d, "tools")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "okx-hft-ops", "tools")
	}
	return filepath.Join(os.TempDir(), "okx-hft-ops-tools")
}

// PromtoolPath is where the promtool of the pinned module version is kept.
func PromtoolPath(moduleVersion string) string {
	return filepath.Join(CacheDir(), fmt.Sprintf("promtool-%s-%s-%s", moduleVersion, runtime.GOOS, runtime.GOARCH))
}

// BuildPromtool builds promtool at the version go.mod pins into the cache,
// once: later calls find the binary. It needs Go and the module proxy (or
// the module cache) and takes minutes the first time.
func BuildPromtool(ctx context.Context, moduleDir string) (string, error) {
	version, err := PromtoolModuleVersion(moduleDir)
	if err != nil {
		return "", err
	}
	path := PromtoolPath(version)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("promtool %s is not built and Go is not installed to build it", ReleaseOf(version))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	defer os.Remove(tmp)
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", tmp, PromtoolModule+"/cmd/promtool")
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building promtool %s: %v: %s", ReleaseOf(version), err, lastLines(string(out), 5))
	}
	return path, os.Rename(tmp, path)
}

// CachedPromtool returns the promtool built for go.mod's pinned version, if
// it has been built (by BuildPromtool or `make tools`). Tests use it: none
// builds promtool inside its own timeout.
func CachedPromtool(moduleDir string) (string, string, bool) {
	version, err := PromtoolModuleVersion(moduleDir)
	if err != nil {
		return "", "", false
	}
	path := PromtoolPath(version)
	_, err = os.Stat(path)
	return path, version, err == nil
}

// ResticModule is the Go module restic is built from, and ResticVersion the
// release the backups run: `opsctl tools` builds it for the host, the
// Dockerfile into the opsctl image and test/stack/build-images.sh into its
// stand-in, each at this version (a test holds the three to the same string).
const (
	ResticModule  = "github.com/restic/restic"
	ResticVersion = "v0.18.1"
)

// ResticPath is where the restic of ResticVersion is kept.
func ResticPath() string {
	return filepath.Join(CacheDir(), fmt.Sprintf("restic-%s-%s-%s", ResticVersion, runtime.GOOS, runtime.GOARCH))
}

// ResticBuildArgs are the arguments of the `go install` that builds restic:
// its release's flags (restic's build.go: -tags disable_grpc_modules, the
// version through -X main.version, stripped) without selfupdate, since the
// version is pinned here and nothing may replace the binary.
func ResticBuildArgs() []string {
	return []string{"install", "-trimpath", "-tags", "disable_grpc_modules",
		"-ldflags", "-s -w -X main.version=" + strings.TrimPrefix(ResticVersion, "v"),
		ResticModule + "/cmd/restic@" + ResticVersion}
}

// BuildRestic builds restic at ResticVersion into the cache, once: later
// calls find the binary. It is built as module@version outside this
// repository's module, so restic's own go.mod decides its dependencies and
// this go.mod stays out of it. It needs Go and the module proxy (or the
// module cache) and takes a minute or more the first time.
func BuildRestic(ctx context.Context) (string, error) {
	path := ResticPath()
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("restic %s is not built and Go is not installed to build it", ResticVersion)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	// GOBIN in the cache dir: the rename below stays on one file system.
	gobin, err := os.MkdirTemp(filepath.Dir(path), "restic-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(gobin)
	cmd := exec.CommandContext(ctx, goBin, ResticBuildArgs()...)
	cmd.Dir = gobin
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOBIN="+gobin,
		// go install refuses GOBIN for another platform; the name says this one.
		"GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH,
		// An empty GOFLAGS would fall back to the one of `go env -w`
		// (-mod=vendor there would break a module@version build): a flag
		// the build passes anyway replaces it.
		"GOFLAGS=-trimpath")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building restic %s: %v: %s", ResticVersion, err, lastLines(string(out), 5))
	}
	tmp := filepath.Join(gobin, "restic")
	out, err := exec.CommandContext(ctx, tmp, "version").Output()
	// What it says it is, before it is kept under that name (the module's
	// version and the -X main.version of ResticBuildArgs must agree).
	if want := "restic " + strings.TrimPrefix(ResticVersion, "v") + " "; err != nil || !strings.HasPrefix(string(out), want) {
		return "", fmt.Errorf("restic built from %s@%s: `restic version` printed %q (%v), want %q", ResticModule, ResticVersion, strings.TrimSpace(string(out)), err, want+"...")
	}
	return path, os.Rename(tmp, path)
}

// CachedRestic returns the restic of ResticVersion, if it has been built (by
// BuildRestic or `make tools`). Tests use it: none builds restic inside its
// own timeout.
func CachedRestic() (string, bool) {
	path := ResticPath()
	_, err := os.Stat(path)
	return path, err == nil
}

// NginxBinary finds the host's nginx.
func NginxBinary() string {
	if bin, err := exec.LookPath("nginx"); err == nil {
		return bin
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// NginxVersion asks an nginx binary its version ("1.22.1").
func NginxVersion(ctx context.Context, bin string) string {
	out, _ := exec.CommandContext(ctx, bin, "-v").CombinedOutput()
	if m := regexp.MustCompile(`nginx/(\S+)`).FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return "unknown"
}

// NginxTest runs the host's `nginx -t` on confPath with a scratch prefix, so
// that nothing of the host's own nginx is read or written.
func NginxTest(ctx context.Context, bin, confPath string) (string, bool, error) {
	prefix, err := os.MkdirTemp("", "opsctl-nginx-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(prefix)
	os.MkdirAll(filepath.Join(prefix, "logs"), 0o755)
	abs, _ := filepath.Abs(confPath)
	cmd := exec.CommandContext(ctx, bin, "-t", "-q", "-p", prefix+"/", "-e", "stderr", "-c", abs)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), true, nil
	case errors.As(err, &exit):
		return string(out), false, nil
	default:
		return string(out), false, err
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// RunCached is Run, remembered: the answer of the same program (image id, or
// binary path, size and time) to the same arguments, environment and input
// files (every file under every mount, by content) is kept in
// CacheDir()/results and given again without starting the program. Nothing
// but identical input reuses an answer; a tool that could not run is never
// remembered.
func (t *Tool) RunCached(ctx context.Context, mounts []Mount, env map[string]string, args ...string) (string, int, error) {
	key, err := t.resultKey(mounts, env, args)
	if err != nil {
		return t.Run(ctx, mounts, env, args...)
	}
	path := filepath.Join(CacheDir(), "results", key[:2], key)
	if data, err := os.ReadFile(path); err == nil {
		var r cachedResult
		if json.Unmarshal(data, &r) == nil {
			t.Remembered++
			return r.Output, r.Exit, nil
		}
	}
	out, code, err := t.Run(ctx, mounts, env, args...)
	if err == nil {
		if data, jerr := json.Marshal(cachedResult{Output: out, Exit: code}); jerr == nil {
			os.MkdirAll(filepath.Dir(path), 0o755)
			tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
			if os.WriteFile(tmp, data, 0o644) == nil {
				os.Rename(tmp, path)
			}
		}
	}
	return out, code, err
}

type cachedResult struct {
	Output string `json:"output"`
	Exit   int    `json:"exit"`
}

func (t *Tool) resultKey(mounts []Mount, env map[string]string, args []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "tool %s\x00", t.Name)
	if t.Local() {
		fi, err := os.Stat(t.Bin)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "bin %s %d %d\x00", t.Bin, fi.Size(), fi.ModTime().UnixNano())
	} else {
		if t.ImageID == "" {
			return "", errors.New("no image id")
		}
		fmt.Fprintf(h, "image %s %s\x00", t.ImageID, t.Bin)
	}
	for _, a := range args {
		fmt.Fprintf(h, "arg %s\x00", a)
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "env %s=%s\x00", k, env[k])
	}
	ms := append([]Mount(nil), mounts...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Container < ms[j].Container })
	for _, m := range ms {
		err := filepath.WalkDir(m.Host, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(m.Host, p)
			if d.IsDir() {
				fmt.Fprintf(h, "dir %s/%s\x00", m.Container, rel)
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "file %s/%s %d\x00", m.Container, rel, len(data))
			h.Write(data)
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
