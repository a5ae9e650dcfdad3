package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/backup"
	"github.com/okx-hft/okx-hft-ops/internal/stack"
)

// backupService is the compose service that runs `opsctl backup-agent`.
const backupService = "backup"

// cmdBackup (on the host) asks the running backup service for a backup
// now, a drill now, or the list of snapshots.
func cmdBackup(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("backup", stderr)
	dir := fs.String("dir", ".", "repository root")
	list := fs.Bool("list", false, "list the snapshots in the repository instead")
	drill := fs.Bool("drill", false, "run the restore drill now instead (restore the newest snapshot into scratch space and verify it)")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	ctx := context.Background()
	r := &stack.Runner{Dir: *dir, Stdout: stdout}
	if err := r.Preflight(ctx); err != nil {
		fmt.Fprintln(stderr, "opsctl backup:", err)
		return 1
	}
	running, err := r.Running(ctx)
	if err != nil || !running[backupService] {
		fmt.Fprintln(stderr, "opsctl backup: the backup service is not running: start the stack with `opsctl up`")
		return 1
	}
	what := "now"
	switch {
	case *list:
		what = "snapshots"
	case *drill:
		what = "drill"
	}
	if err := r.Compose(ctx, stdout, "exec", "-T", backupService, "/opsctl", "backup-agent", what); err != nil {
		fmt.Fprintf(stderr, "opsctl backup: %s failed (its reason is above)\n", what)
		return 1
	}
	return 0
}

// cmdRestore (on the host) restores a snapshot onto the stack: it restores
// and verifies the snapshot into the backup service's own volume first,
// then stops the stack, puts the files back, starts S3 and uploads the
// objects, and starts the whole stack.
func cmdRestore(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("restore", stderr)
	dir := fs.String("dir", ".", "repository root")
	snapshot := fs.String("snapshot", "latest", "the snapshot to restore (an id from `opsctl backup --list`)")
	force := fs.Bool("force", false, "replace the data of a stack that has some (without it, restore only onto an empty stack)")
	timeout := fs.Duration("timeout", 15*time.Minute, "how long to wait for the stack to become healthy afterwards")
	build := fs.Bool("build", true, "build the repository's images before starting the stack afterwards (as opsctl up)")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	ctx := context.Background()
	r := &stack.Runner{Dir: *dir, Stdout: stdout}
	fail := func(err error) int { fmt.Fprintln(stderr, "opsctl restore:", err); return 1 }
	if err := r.Preflight(ctx); err != nil {
		return fail(err)
	}
	if _, err := loadEnv(*dir); err != nil {
		return fail(err)
	}
	if _, err := r.EnsureNetwork(ctx); err != nil {
		return fail(err)
	}
	run := func(step string, args ...string) error {
		argv := append([]string{"run", "--rm", "--no-deps", "-T", backupService, "backup-agent", "restore"}, args...)
		if err := r.Compose(ctx, stdout, argv...); err != nil {
			return fmt.Errorf("%s failed (its reason is above); nothing after it was done", step)
		}
		return nil
	}
	start := time.Now()
	stageArgs := []string{"--stage", "--snapshot", *snapshot}
	if *force {
		stageArgs = append(stageArgs, "--force")
	}
	fmt.Fprintln(stdout, "== restoring and verifying the snapshot (the stack's data is not touched yet)")
	if err := run("verifying the snapshot", stageArgs...); err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, "== stopping the stack")
	if err := r.Compose(ctx, stdout, "stop"); err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, "== putting the files back into the volumes")
	if err := run("putting the files back", "--apply"); err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, "== starting object storage and uploading the objects")
	if err := r.Compose(ctx, stdout, "up", "-d", "--wait", "seaweedfs", "seaweedfs-s3"); err != nil {
		return fail(err)
	}
	if err := run("uploading the objects", "--objects"); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "== restored in %s; starting the stack\n", time.Since(start).Round(time.Second))
	return cmdUp([]string{"--dir", *dir, "--timeout", timeout.String(), "--build=" + fmt.Sprint(*build)}, stdout, stderr)
}

// cmdBackupAgent runs inside the backup service's container.
func cmdBackupAgent(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: opsctl backup-agent serve|now|drill|snapshots|restore ...")
		return 2
	}
	logger := log.New(stderr, "", log.LstdFlags|log.LUTC)
	cfg, err := backup.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "opsctl backup-agent:", err)
		return 1
	}
	engine := &backup.Engine{Cfg: cfg, Log: logger.Printf}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		fs := newFlags("backup-agent", stderr)
		listen := fs.String("listen", ":9108", "address of /metrics and /-/healthy")
		if code, done := parseFlags(fs, args[1:], stdout); done {
			return code
		}
		logger.Printf("backup agent: every %s, drill every %s, keep %s, components %s, target %s", cfg.Interval, cfg.DrillInterval, cfg.Keep, strings.Join(cfg.Components, ","), redact(cfg.Restic.Repository))
		if err := backup.NewAgent(engine).Serve(ctx, *listen); err != nil {
			fmt.Fprintln(stderr, "opsctl backup-agent:", err)
			return 1
		}
		return 0
	case "now", "drill":
		path := map[string]string{"now": "/backup", "drill": "/drill"}[args[0]]
		return controlCall(path, stdout, stderr)
	case "snapshots":
		snaps, err := cfg.Restic.Snapshots(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "opsctl backup:", err)
			return 1
		}
		for _, s := range snaps {
			size := ""
			if s.Summary != nil {
				size = fmt.Sprintf("%d bytes", s.Summary.TotalBytesProcessed)
			}
			fmt.Fprintf(stdout, "%s  %s  %s\n", s.ShortID, s.Time.UTC().Format(time.RFC3339), size)
		}
		fmt.Fprintf(stdout, "%d snapshots in %s\n", len(snaps), redact(cfg.Restic.Repository))
		return 0
	case "restore":
		return agentRestore(ctx, engine, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "opsctl backup-agent: unknown command %q\n", args[0])
	return 2
}

// redact drops credentials a repository URL may carry.
func redact(repo string) string {
	if i := strings.Index(repo, "@"); i >= 0 {
		if j := strings.Index(repo, "://"); j >= 0 && j < i {
			return repo[:j+3] + "***" + repo[i:]
		}
	}
	return repo
}

func controlCall(path string, stdout, stderr io.Writer) int {
	client := &http.Client{Timeout: 6 * time.Hour}
	resp, err := client.Post("http://"+backup.ControlAddr+path, "application/json", nil)
	if err != nil {
		fmt.Fprintln(stderr, "opsctl backup: the backup agent does not answer:", err)
		return 1
	}
	defer resp.Body.Close()
	var ans struct {
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		fmt.Fprintln(stderr, "opsctl backup: unreadable answer:", err)
		return 1
	}
	if ans.Error != "" {
		fmt.Fprintln(stderr, "opsctl backup:", ans.Error)
		return 1
	}
	fmt.Fprintln(stdout, string(ans.Result))
	return 0
}

// verifiedMark records in the restore directory which snapshot passed
// verification; --apply and --objects refuse to run without it.
const verifiedMark = ".verified"

func agentRestore(ctx context.Context, e *backup.Engine, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("backup-agent", stderr)
	stage := fs.Bool("stage", false, "restore and verify the snapshot into the restore directory")
	apply := fs.Bool("apply", false, "put the verified snapshot's files back into the volumes")
	objects := fs.Bool("objects", false, "upload the verified snapshot's objects into S3")
	snapshot := fs.String("snapshot", "latest", "snapshot id")
	force := fs.Bool("force", false, "replace existing data")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "opsctl restore:", err); return 1 }
	dir := e.Cfg.RestoreDir()
	mark := filepath.Join(dir, verifiedMark)
	switch {
	case *stage:
		if occ := e.Occupied(); len(occ) > 0 && !*force {
			return fail(fmt.Errorf("the stack already has data: %s. Restore onto an empty stack (`opsctl down --volumes` deletes every volume), or pass --force to replace it", strings.Join(occ, ", ")))
		}
		st, err := e.Stage(ctx, *snapshot, dir)
		if err != nil {
			os.RemoveAll(dir)
			return fail(err)
		}
		if err := os.WriteFile(mark, []byte(st.Snapshot.ID+"\n"), 0o600); err != nil {
			return fail(err)
		}
		var parts []string
		for _, c := range st.Manifest.Components {
			parts = append(parts, fmt.Sprintf("%s %d files %v", c.Name, len(c.Files), c.Counts))
		}
		fmt.Fprintf(stdout, "snapshot %s of %s verified: %s\n", st.Snapshot.ShortID, st.Snapshot.Time.UTC().Format(time.RFC3339), strings.Join(parts, "; "))
		return 0
	case *apply, *objects:
		id, err := os.ReadFile(mark)
		if err != nil {
			return fail(errors.New("no verified snapshot in the restore directory: run the restore from the start (opsctl restore)"))
		}
		man, err := e.Cfg.RestoredManifest(dir)
		if err != nil {
			return fail(err)
		}
		st := &backup.Staged{Snapshot: backup.Snapshot{ID: strings.TrimSpace(string(id))}, Root: dir, Manifest: man}
		if *apply {
			if err := e.Apply(st); err != nil {
				return fail(err)
			}
			return 0
		}
		n, err := e.ApplyObjects(ctx, st)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "objects: %d uploaded\n", n)
		os.RemoveAll(dir) // done: the restore directory would double the disk used
		return 0
	}
	return fail(errors.New("one of --stage, --apply, --objects"))
}
