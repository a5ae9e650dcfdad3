// Package pgtest starts a throwaway PostgreSQL server for tests, from this
// machine's PostgreSQL installation, on a unix socket only.
package pgtest

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver of database/sql
)

// Server is a running throwaway server: a connection to its postgres
// database, and the libpq environment (PGHOST, PGUSER, ...) that names it.
type Server struct {
	DB  *sql.DB
	Env []string
}

// Start starts a throwaway PostgreSQL server of this machine's
// installation (Debian's postgresql package: /usr/lib/postgresql/<v>/bin)
// listening only on a unix socket in a temporary directory, and returns a
// connection to it. The test fails, not skips, without one: the
// migrations are the contract, and untested they are not known to run.
func Start(t testing.TB) *Server {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("no PostgreSQL server here (initdb): apt-get install postgresql (CI's .ci/run installs it)")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "hftdata-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// PostgreSQL refuses to run as root: as root, run it as the package's
	// postgres user, which then owns the directory.
	var prefix []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal("running as root and no postgres user to run PostgreSQL as:", err)
		}
		var uid, gid int
		fmt.Sscan(u.Uid, &uid)
		fmt.Sscan(u.Gid, &gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		prefix = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(name string, args ...string) {
		t.Helper()
		argv := append(append(append([]string{}, prefix...), filepath.Join(bin, name)), args...)
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	// No TCP at all (listen_addresses empty): the socket in dir only.
	run("pg_ctl", "-D", data, "-w", "-l", filepath.Join(dir, "log"), "-o", "-c listen_addresses='' -k "+dir+" -c fsync=off", "start")
	t.Cleanup(func() {
		argv := append(append(append([]string{}, prefix...), filepath.Join(bin, "pg_ctl")), "-D", data, "-m", "immediate", "stop")
		exec.Command(argv[0], argv[1:]...).Run()
	})
	db, err := sql.Open("pgx", fmt.Sprintf("host=%s user=postgres dbname=postgres sslmode=disable", dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	return &Server{DB: db, Env: []string{"PGHOST=" + dir, "PGUSER=postgres", "PGDATABASE=postgres", "PGPASSWORD="}}
}
