// Package backup takes consistent backups of every stateful part of the
// node while it runs, keeps them encrypted and deduplicated in a restic
// repository on an S3 target, restores them onto an empty stack after
// verifying them, and proves on a schedule (the restore drill) that they
// restore.
//
// restic does the storage: repository encryption, content-defined
// deduplication, retention (forget --keep-*), `check --read-data-subset`.
// It is run as a program because it offers no Go API (its packages are
// internal/). This package decides what goes into a snapshot and how each
// part is read consistently: SQLite through VACUUM INTO, Prometheus through
// its TSDB snapshot API, Alertmanager's state files after its next
// maintenance write, Loki after a flush, the buckets through the S3 API.
package backup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/s3store"
)

// Restic runs the restic binary against one repository.
type Restic struct {
	Bin        string // path of the restic binary
	Repository string // RESTIC_REPOSITORY: s3:https://host/bucket/prefix, or a directory
	Password   string
	AccessKey  string // of the S3 target (AWS_ACCESS_KEY_ID for restic)
	SecretKey  string
	CacheDir   string // restic's cache (index and tree blobs), "" = --no-cache
	TempDir    string // TMPDIR for restic's temporary pack files
	// Host and Tag select this node's snapshots in a shared repository.
	Host, Tag string
}

// Exit codes of restic 0.17+ (doc/075_scripting.rst).
const (
	exitRepoMissing   = 10
	exitLockFailed    = 11
	exitWrongPassword = 12
)

// ErrNoRepository means the target holds no restic repository.
var ErrNoRepository = errors.New("no restic repository")

// Error is a restic command that failed, with what restic said.
type Error struct {
	Args   []string
	Code   int
	Stderr string
	Signal string // the signal that ended restic, when one did
}

func (e *Error) Error() string {
	what := "restic " + e.Args[0]
	if e.Signal == "killed" {
		return fmt.Sprintf("%s was killed (SIGKILL): most likely by the kernel, out of memory at the backup service's limit (deploy.resources.limits.memory in compose.yaml; `opsctl doctor` lists OOM kills)", what)
	}
	if e.Signal != "" {
		return fmt.Sprintf("%s ended on the signal %q: %s", what, e.Signal, lastLines(e.Stderr, 6))
	}
	switch e.Code {
	case exitRepoMissing:
		return fmt.Sprintf("%s: there is no restic repository at the target (BACKUP_REPOSITORY): check the URL and bucket; `opsctl backup` creates one on its first run", what)
	case exitWrongPassword:
		return fmt.Sprintf("%s: the repository refuses the key: BACKUP_RESTIC_PASSWORD is not the password this repository was created with", what)
	case exitLockFailed:
		return fmt.Sprintf("%s: the repository is locked by another restic (a backup or prune still running?): %s", what, lastLine(e.Stderr))
	}
	return fmt.Sprintf("%s failed (exit %d): %s", what, e.Code, lastLines(e.Stderr, 6))
}

// Is lets errors.Is(err, ErrNoRepository) match a missing repository.
func (e *Error) Is(target error) bool { return target == ErrNoRepository && e.Code == exitRepoMissing }

func (r *Restic) env() []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"RESTIC_REPOSITORY=" + r.Repository,
		"RESTIC_PASSWORD=" + r.Password,
		"AWS_ACCESS_KEY_ID=" + r.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + r.SecretKey,
		"RESTIC_PROGRESS_FPS=0.016",
	}
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		env = append(env, "GOMEMLIMIT="+v) // the container's memory is restic's
	}
	if r.CacheDir != "" {
		env = append(env, "RESTIC_CACHE_DIR="+r.CacheDir)
	}
	if r.TempDir != "" {
		env = append(env, "TMPDIR="+r.TempDir)
	}
	return env
}

// run runs restic with args; stdout is returned, stderr goes into the error.
// lines, when set, receives each stdout line as it comes (--json progress).
func (r *Restic) run(ctx context.Context, lines func(string), args ...string) ([]byte, error) {
	var stdout bytes.Buffer
	err := r.stream(ctx, args, func(out io.Reader) error {
		if lines == nil {
			_, err := io.Copy(&stdout, out)
			return err
		}
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			stdout.Write(sc.Bytes())
			stdout.WriteByte('\n')
			lines(sc.Text())
		}
		return sc.Err()
	})
	return stdout.Bytes(), err
}

// stream runs restic with args and hands its stdout to read, which must
// consume it; stderr goes into the error, which restic's exit decides
// before read's.
func (r *Restic) stream(ctx context.Context, args []string, read func(io.Reader) error) error {
	if r.CacheDir == "" {
		args = append(args[:len(args):len(args)], "--no-cache")
	}
	cmd := exec.CommandContext(ctx, r.Bin, args...)
	cmd.Env = r.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return r.wrap(args, err, "")
	}
	rerr := read(out)
	io.Copy(io.Discard, out) // what read left: Wait needs the pipe drained
	if err := r.wrap(args, cmd.Wait(), stderr.String()); err != nil {
		return err
	}
	return rerr
}

func (r *Restic) wrap(args []string, err error, stderr string) error {
	if err == nil {
		return nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		e := &Error{Args: args, Code: exit.ExitCode(), Stderr: stderr}
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Signal = ws.Signal().String()
		}
		return e
	}
	return fmt.Errorf("restic %s could not run (%s): %w", args[0], r.Bin, err)
}

// Open checks that the repository exists and the key opens it. An S3
// target is asked first, briefly, whether its bucket exists: restic
// retries a missing bucket and an endpoint that does not answer for many
// minutes before it gives up.
func (r *Restic) Open(ctx context.Context) error {
	if err := r.probeS3(ctx); err != nil {
		return err
	}
	_, err := r.run(ctx, nil, "cat", "config", "--no-lock")
	return err
}

// s3Target splits restic's s3:[scheme://]host/bucket[/prefix] into the
// endpoint and the bucket.
func s3Target(repo string) (endpoint, bucket string, ok bool) {
	rest, ok := strings.CutPrefix(repo, "s3:")
	if !ok {
		return "", "", false
	}
	scheme := "https"
	if i := strings.Index(rest, "://"); i >= 0 {
		scheme, rest = rest[:i], rest[i+3:]
	}
	host, path, _ := strings.Cut(rest, "/")
	bucket, _, _ = strings.Cut(path, "/")
	if host == "" || bucket == "" {
		return "", "", false
	}
	return scheme + "://" + host, bucket, true
}

func (r *Restic) probeS3(ctx context.Context) error {
	endpoint, bucket, ok := s3Target(r.Repository)
	if !ok {
		if strings.HasPrefix(r.Repository, "s3:") {
			return fmt.Errorf("BACKUP_REPOSITORY=%q: want s3:https://host/bucket/prefix", r.Repository)
		}
		return nil
	}
	st, err := s3store.New(endpoint, r.AccessKey, r.SecretKey)
	if err != nil {
		return fmt.Errorf("BACKUP_REPOSITORY: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	exists, err := st.BucketExists(ctx, bucket)
	switch {
	case s3store.IsAuthError(err):
		return fmt.Errorf("the backup target %s refuses BACKUP_S3_ACCESS_KEY/BACKUP_S3_SECRET_KEY: %v", endpoint, err)
	case err != nil:
		return fmt.Errorf("the backup target %s does not answer (BACKUP_REPOSITORY): %v", endpoint, err)
	case !exists:
		return &Error{Args: []string{"cat"}, Code: exitRepoMissing, Stderr: "bucket " + bucket + " does not exist"}
	}
	return nil
}

// Init creates the repository.
func (r *Restic) Init(ctx context.Context) error {
	_, err := r.run(ctx, nil, "init")
	return err
}

// Snapshot is one restic snapshot of this node.
type Snapshot struct {
	ID      string    `json:"id"`
	ShortID string    `json:"short_id"`
	Time    time.Time `json:"time"`
	Paths   []string  `json:"paths"`
	Tags    []string  `json:"tags"`
	Summary *struct {
		TotalBytesProcessed int64 `json:"total_bytes_processed"`
		DataAdded           int64 `json:"data_added"`
	} `json:"summary"`
}

// Snapshots lists this node's snapshots, oldest first.
func (r *Restic) Snapshots(ctx context.Context) ([]Snapshot, error) {
	out, err := r.run(ctx, nil, "snapshots", "--json", "--no-lock", "--host", r.Host, "--tag", r.Tag)
	if err != nil {
		return nil, err
	}
	var snaps []Snapshot
	if err := json.Unmarshal(out, &snaps); err != nil {
		return nil, fmt.Errorf("restic snapshots: unreadable answer: %v", err)
	}
	return snaps, nil
}

// Find returns the snapshot whose id or short id is id ("latest" or "" =
// the newest), or an error naming what the repository has.
func (r *Restic) Find(ctx context.Context, id string) (Snapshot, error) {
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	if len(snaps) == 0 {
		return Snapshot{}, fmt.Errorf("the repository holds no snapshot of this node (host %s, tag %s): run `opsctl backup` first", r.Host, r.Tag)
	}
	if id == "" || id == "latest" {
		return snaps[len(snaps)-1], nil
	}
	for _, s := range snaps {
		if s.ID == id || s.ShortID == id || (len(id) >= 8 && strings.HasPrefix(s.ID, id)) {
			return s, nil
		}
	}
	var ids []string
	for i := len(snaps) - 1; i >= 0 && len(ids) < 5; i-- {
		ids = append(ids, snaps[i].ShortID+" ("+snaps[i].Time.UTC().Format(time.RFC3339)+")")
	}
	return Snapshot{}, fmt.Errorf("no snapshot %q in the repository; the newest are: %s", id, strings.Join(ids, ", "))
}

// Summary is the last line of `restic backup --json`.
type Summary struct {
	MessageType         string  `json:"message_type"`
	SnapshotID          string  `json:"snapshot_id"`
	FilesNew            int64   `json:"files_new"`
	FilesChanged        int64   `json:"files_changed"`
	DataAdded           int64   `json:"data_added"`
	TotalFilesProcessed int64   `json:"total_files_processed"`
	TotalBytesProcessed int64   `json:"total_bytes_processed"`
	TotalDuration       float64 `json:"total_duration"`
}

// Backup stores paths as one snapshot.
func (r *Restic) Backup(ctx context.Context, paths []string) (Summary, error) {
	var sum Summary
	args := append([]string{"backup", "--json", "--host", r.Host, "--tag", r.Tag}, paths...)
	_, err := r.run(ctx, func(line string) {
		var s Summary
		if json.Unmarshal([]byte(line), &s) == nil && s.MessageType == "summary" {
			sum = s
		}
	}, args...)
	if err != nil {
		return sum, err
	}
	if sum.SnapshotID == "" {
		return sum, errors.New("restic backup ended without a snapshot id")
	}
	return sum, nil
}

// Keep is the retention policy: how many of the newest hourly, daily,
// weekly and monthly snapshots forget keeps.
type Keep struct{ Hourly, Daily, Weekly, Monthly int }

func (k Keep) String() string {
	return fmt.Sprintf("%d hourly, %d daily, %d weekly, %d monthly", k.Hourly, k.Daily, k.Weekly, k.Monthly)
}

// Forget applies the retention policy to this node's snapshots, and with
// prune deletes the data no snapshot refers to any more. It takes restic's
// exclusive lock, which any lock left by a restic that was killed (the
// backup container killed mid-run) refuses until `restic unlock`; unlock
// removes only such stale locks (of processes of this host that no longer
// run, or older than 30 minutes), never a running restic's, whose lock
// forget then waits for (--retry-lock).
func (r *Restic) Forget(ctx context.Context, k Keep, prune bool) error {
	if _, err := r.run(ctx, nil, "unlock"); err != nil {
		return err
	}
	args := []string{"forget", "--retry-lock", "2m", "--host", r.Host, "--tag", r.Tag,
		"--keep-hourly", fmt.Sprint(k.Hourly), "--keep-daily", fmt.Sprint(k.Daily),
		"--keep-weekly", fmt.Sprint(k.Weekly), "--keep-monthly", fmt.Sprint(k.Monthly)}
	if prune {
		args = append(args, "--prune")
	}
	_, err := r.run(ctx, nil, args...)
	return err
}

// Restore writes snapshot id into target, verifying every restored file's
// content against the repository (--verify) after restic checked each
// blob's MAC while reading it.
func (r *Restic) Restore(ctx context.Context, id, target string) error {
	_, err := r.run(ctx, nil, "restore", id, "--target", target, "--verify")
	return err
}

// RestoreOnly is Restore limited to the paths of the snapshot under include.
func (r *Restic) RestoreOnly(ctx context.Context, id, target string, include ...string) error {
	args := []string{"restore", id, "--target", target, "--verify"}
	for _, p := range include {
		args = append(args, "--include", p)
	}
	_, err := r.run(ctx, nil, args...)
	return err
}

// Dump streams the directory path of snapshot id as a tar archive to read,
// which must consume it; restic checks every blob's MAC as it reads it.
func (r *Restic) Dump(ctx context.Context, id, path string, read func(io.Reader) error) error {
	return r.stream(ctx, []string{"dump", "--archive", "tar", id, path}, read)
}

// Check verifies the repository's structure and reads subset (e.g. "10%",
// "1/7") of its data back, checking every blob.
func (r *Restic) Check(ctx context.Context, subset string) error {
	args := []string{"check"}
	if subset != "" {
		args = append(args, "--read-data-subset", subset)
	}
	_, err := r.run(ctx, nil, args...)
	return err
}

func lastLine(s string) string { return lastLines(s, 1) }

func lastLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		l = strings.TrimSpace(l)
		if l != "" {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, " | ")
}
