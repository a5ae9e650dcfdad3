package backup

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Two engines over one work directory, as the agent's schedule and an
// `opsctl backup` are two processes in one container: the second waits for
// the first and then runs, and gives up with a clear error when its
// context ends first.
func TestEngineLockIsSharedAcrossEngines(t *testing.T) {
	work := t.TempDir()
	scheduled := &Engine{Cfg: &Config{Work: work}}
	var logged []string
	manual := &Engine{Cfg: &Config{Work: work}, Log: func(f string, a ...any) { logged = append(logged, f) }}

	unlock, err := scheduled.lock(context.Background(), "backup")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := manual.lock(ctx, "backup"); err == nil {
		t.Fatal("a second engine took the lock while the first held it")
	} else if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "another backup or drill holds") {
		t.Fatalf("the error does not say what holds it: %v", err)
	}
	if len(logged) == 0 || !strings.Contains(logged[0], "waiting for the backup or drill that is running") {
		t.Errorf("the waiting engine did not say why it waits: %q", logged)
	}

	got := make(chan error, 1)
	go func() {
		u, err := manual.lock(context.Background(), "drill")
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the second engine did not wait for the first: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second engine did not run after the first released the lock")
	}
}
