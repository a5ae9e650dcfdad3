package e2e

import (
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/secrets"
)

// argvWatch samples the host's process list (`ps -eo args`, what every user
// of the host can read) while the stack starts and runs, and keeps every
// line that holds a secret value of .env.
type argvWatch struct {
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	leaks map[string]string // secret's variable → the process line (value masked)
	runs  int
}

func (s *Stack) watchArgv() *argvWatch {
	values := map[string]string{}
	for _, spec := range secrets.Specs {
		if v := s.Env[spec.Key]; len(v) >= 8 {
			values[spec.Key] = v
		}
	}
	w := &argvWatch{stop: make(chan struct{}), done: make(chan struct{}), leaks: map[string]string{}}
	go func() {
		defer close(w.done)
		for {
			out, err := exec.Command("ps", "-eo", "args").Output()
			if err == nil {
				w.mu.Lock()
				w.runs++
				for _, line := range strings.Split(string(out), "\n") {
					for key, v := range values {
						if strings.Contains(line, v) {
							w.leaks[key] = strings.ReplaceAll(line, v, "<"+key+">")
						}
					}
				}
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w
}

// result stops the watch and lists the leaks, one line a secret.
func (w *argvWatch) result() (leaks []string, samples int) {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, line := range w.leaks {
		leaks = append(leaks, key+": "+line)
	}
	sort.Strings(leaks)
	return leaks, w.runs
}

// The watch sees a secret on a command line (runs without Docker).
func TestArgvWatchSeesALeak(t *testing.T) {
	s := &Stack{t: t, Env: map[string]string{"GRAFANA_ADMIN_PASSWORD": "Leaky5ecretValue42"}}
	w := s.watchArgv()
	cmd := exec.Command("sh", "-c", "sleep 1", "Leaky5ecretValue42")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	leaks, samples := w.result()
	if len(leaks) != 1 || !strings.HasPrefix(leaks[0], "GRAFANA_ADMIN_PASSWORD: ") || strings.Contains(leaks[0], "Leaky5ecretValue42") {
		t.Fatalf("want one masked leak of GRAFANA_ADMIN_PASSWORD after %d samples, got %q", samples, leaks)
	}
}
