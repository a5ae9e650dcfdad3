// Package scripts tests the shell scripts the stack mounts into images,
// each run by sh with the programs it calls replaced by recorders: the
// image itself (Grafana's) cannot be had on this machine. What Grafana's
// CLI does with the call is read from its source (see grafana/admin-password.sh).
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okx-hft/okx-hft-ops/internal/repotree"
)

const password = "Rotated-Passw0rd-from-env-123"

// fakeGrafana writes a `grafana` that records its arguments and stdin and
// answers as Grafana's CLI does: the success line, or (fail) an error and
// exit 0, as reset-admin-password does when the database is locked.
func fakeGrafana(t *testing.T, dir string, failures int) {
	t.Helper()
	script := `#!/bin/sh
echo "$@" >> "$REC/args"
cat >> "$REC/stdin"
n=$(cat "$REC/calls" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$REC/calls"
if [ "$n" -le "$FAILURES" ]; then echo "Error: ✗ database is locked"; exit 0; fi
echo "New Password: "
echo "Admin password changed successfully ✔"
`
	if err := os.WriteFile(filepath.Join(dir, "grafana"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, withDB bool, failures int) (out string, exit int, rec string) {
	t.Helper()
	root, err := repotree.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	bin, rec, data := t.TempDir(), t.TempDir(), t.TempDir()
	fakeGrafana(t, bin, failures)
	if withDB {
		os.WriteFile(filepath.Join(data, "grafana.db"), nil, 0o644)
	}
	cmd := exec.Command("sh", filepath.Join(root, "grafana/admin-password.sh"))
	cmd.Env = []string{
		"PATH=" + bin + ":/usr/bin:/bin", "REC=" + rec, "FAILURES=" + string(rune('0'+failures)),
		"GF_PATHS_DATA=" + data, "GF_PATHS_HOME=/usr/share/grafana", "GF_PATHS_CONFIG=/etc/grafana/grafana.ini",
		"GF_SECURITY_ADMIN_PASSWORD=" + password, "GRAFANA_INIT_RETRY_SECONDS=0",
	}
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		exit = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(b), exit, rec
}

func read(rec, name string) string {
	b, _ := os.ReadFile(filepath.Join(rec, name))
	return string(b)
}

func TestAdminPasswordFromStdin(t *testing.T) {
	out, exit, rec := run(t, true, 0)
	if exit != 0 {
		t.Fatalf("exit %d:\n%s", exit, out)
	}
	args := read(rec, "args")
	if want := "cli --homepath /usr/share/grafana --config /etc/grafana/grafana.ini admin reset-admin-password --password-from-stdin\n"; args != want {
		t.Errorf("grafana was called with %q, want %q", args, want)
	}
	if strings.Contains(args, password) {
		t.Error("the password is an argument: every user of the host sees it in ps")
	}
	if got := read(rec, "stdin"); got != password+"\n" {
		t.Errorf("stdin %q, want the password and a newline", got)
	}
	if strings.Contains(out, password) {
		t.Errorf("the password is in the job's log:\n%s", out)
	}
}

func TestAdminPasswordFirstStart(t *testing.T) {
	out, exit, rec := run(t, false, 0)
	if exit != 0 || read(rec, "calls") != "" {
		t.Fatalf("with no grafana.db: exit %d, calls %q, want 0 and none (Grafana creates the admin itself):\n%s", exit, read(rec, "calls"), out)
	}
}

func TestAdminPasswordRetriesALockedDatabase(t *testing.T) {
	out, exit, rec := run(t, true, 2)
	if exit != 0 || strings.TrimSpace(read(rec, "calls")) != "3" {
		t.Fatalf("two failures then success: exit %d after %q calls, want 0 after 3:\n%s", exit, read(rec, "calls"), out)
	}
}

// The CLI exits 0 when it did not change the password; the job must not.
func TestAdminPasswordFailsWithoutTheSuccessLine(t *testing.T) {
	out, exit, rec := run(t, true, 9)
	if exit != 1 || strings.TrimSpace(read(rec, "calls")) != "5" {
		t.Fatalf("always failing: exit %d after %q calls, want 1 after 5:\n%s", exit, read(rec, "calls"), out)
	}
	if !strings.Contains(out, "database is locked") || !strings.Contains(out, "did not succeed") {
		t.Errorf("the failure does not show Grafana's error:\n%s", out)
	}
}
