package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sidecarSQL runs a query in the PostgreSQL standing in for TimescaleDB,
// through psql inside its container (a local socket: no password, none in
// any argument), and returns the unaligned rows.
func (s *Stack) sidecarSQL(t *testing.T, q string) string {
	t.Helper()
	return strings.TrimSpace(s.sidecars("exec", "-T", "timescaledb", "psql", "-U", s.Env["TIMESCALEDB_USER"], "-d", s.Env["TIMESCALEDB_DB"], "-Atc", q))
}

// contractTables are the tables the demo's collector and executor write.
var contractTables = []string{"hft.trades", "hft.book_top", "hft.features", "hft.orders", "hft.order_events", "hft.fills", "hft.positions"}

func (s *Stack) contractCounts(t *testing.T) map[string]int {
	t.Helper()
	var parts []string
	for _, tb := range contractTables {
		parts = append(parts, fmt.Sprintf("SELECT '%s', count(*) FROM %s", tb, tb))
	}
	out := s.sidecarSQL(t, strings.Join(parts, " UNION ALL "))
	counts := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		name, n, ok := strings.Cut(line, "|")
		if ok {
			counts[name], _ = strconv.Atoi(n)
		}
	}
	return counts
}

// checkDemoData: the demo's hftsim migrated the database to the data
// contract and writes every table of it, at the rates the README states;
// the per-minute views read them.
func (s *Stack) checkDemoData(t *testing.T) {
	var before map[string]int
	eventually(t, 2*time.Minute, 2*time.Second, "every table of the data contract has rows", func() error {
		if v := s.sidecarSQL(t, "SELECT coalesce(max(version_id), 0) FROM goose_db_version"); v != "3" {
			return errorf("contract version %q, want 3", v)
		}
		before = s.contractCounts(t)
		for _, tb := range contractTables {
			if before[tb] == 0 {
				return errorf("%s is empty", tb)
			}
		}
		return nil
	})
	start := time.Now()
	time.Sleep(10 * time.Second)
	after := s.contractCounts(t)
	secs := time.Since(start).Seconds()
	var rates []string
	total := 0.0
	for _, tb := range contractTables {
		r := float64(after[tb]-before[tb]) / secs
		total += r
		rates = append(rates, fmt.Sprintf("%s %.1f/s", tb, r))
	}
	t.Logf("the demo writes %.0f rows/s: %s", total, strings.Join(rates, ", "))
	// 3 instruments at ~10 book updates and ~6 trades a second each.
	if r := float64(after["hft.book_top"]-before["hft.book_top"]) / secs; r < 20 || r > 40 {
		t.Errorf("book_top grows %.1f rows/s, want about 30", r)
	}
	if bars := s.sidecarSQL(t, "SELECT count(*) FROM hft.bars_1m WHERE trades > 0"); bars == "0" {
		t.Error("hft.bars_1m is empty")
	}
	if pnl := s.sidecarSQL(t, "SELECT count(*) FROM hft.pnl_daily"); pnl == "0" {
		t.Error("hft.pnl_daily is empty")
	}
}
