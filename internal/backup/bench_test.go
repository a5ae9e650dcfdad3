package backup

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/tools"
)

// BenchmarkResticRoundTrip measures what bounds a backup's and a restore's
// wall time for the large parts (Prometheus' blocks, Loki's chunks, the
// objects): restic storing and restoring incompressible files, like
// compressed chunks, into a local repository. BACKUP_BENCH_MIB sets the
// size (default 256). Run:
//
//	go test ./internal/backup -run '^$' -bench ResticRoundTrip -benchtime 1x
func BenchmarkResticRoundTrip(b *testing.B) {
	mib := 256
	if v, err := strconv.Atoi(os.Getenv("BACKUP_BENCH_MIB")); err == nil && v > 0 {
		mib = v
	}
	bin, ok := tools.CachedRestic()
	if !ok {
		b.Fatal("restic of the pinned version is not built: run `make tools` first")
	}
	root := b.TempDir()
	src := filepath.Join(root, "src")
	os.MkdirAll(src, 0o755)
	buf := make([]byte, 1<<20)
	for i := 0; i < mib; i += 16 { // files of 16 MiB, like TSDB chunk files
		f, err := os.Create(filepath.Join(src, fmt.Sprintf("chunk-%05d", i)))
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 16 && i+j < mib; j++ {
			rand.Read(buf)
			f.Write(buf)
		}
		f.Close()
	}
	ctx := context.Background()
	r := &Restic{Bin: bin, Repository: filepath.Join(root, "repo"), Password: "bench", Host: "bench", Tag: "bench", TempDir: root}
	if err := r.Init(ctx); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(mib) << 20)
	b.ResetTimer()
	var backup, restore time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		sum, err := r.Backup(ctx, []string{src})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		target := filepath.Join(root, "restore", strconv.Itoa(i))
		if err := r.Restore(ctx, sum.SnapshotID, target); err != nil {
			b.Fatal(err)
		}
		backup += t1.Sub(t0)
		restore += time.Since(t1)
		os.RemoveAll(target)
	}
	// The first backup stores everything; later ones find it all stored.
	mb := float64(mib) * float64(b.N)
	b.ReportMetric(mb/backup.Seconds(), "backup-MiB/s")
	b.ReportMetric(mb/restore.Seconds(), "restore-MiB/s")
}
