package backup

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/okx-hft/okx-hft-ops/internal/s3store"
)

// Config is the backup service's configuration, read from its environment
// (compose.yaml passes the BACKUP_* keys of .env).
type Config struct {
	Restic Restic
	Keep   Keep
	// Interval between backups; DrillInterval between restore drills.
	Interval, DrillInterval time.Duration
	// FirstDelay is how long after the service starts the first backup runs.
	FirstDelay time.Duration
	// DrillReadData is restic check's --read-data-subset in a drill.
	DrillReadData string
	// Components are the names of the components to back up.
	Components []string
	// Work is the backup service's own volume (stage, mirror, cache).
	Work, State string
	// PrometheusURL is Prometheus' base URL with its route prefix.
	PrometheusURL, LokiURL string
	// S3 of the node (the buckets backed up), not the backup target.
	S3Endpoint, S3AccessKey, S3SecretKey string
	// AlertmanagerMaintenance is Alertmanager's --data.maintenance-interval.
	AlertmanagerMaintenance time.Duration
	// LokiFlushWait is how long a backup waits after Loki's /flush.
	LokiFlushWait time.Duration
}

// StageDir is where the SQLite copies, Alertmanager's files and the
// manifest are written before restic reads them.
func (c *Config) StageDir() string { return filepath.Join(c.Work, "stage") }

// ObjectsDir is the mirror of the node's buckets.
func (c *Config) ObjectsDir() string { return filepath.Join(c.Work, "objects") }

// RestoreDir is where a restore writes a snapshot before it is verified.
func (c *Config) RestoreDir() string { return filepath.Join(c.Work, "restore") }

// DrillDir is the scratch location of the restore drill.
func (c *Config) DrillDir() string { return filepath.Join(c.Work, "drill") }

// Store is the node's S3.
func (c *Config) Store() (*s3store.Store, error) {
	return s3store.New(c.S3Endpoint, c.S3AccessKey, c.S3SecretKey)
}

// Selected are the configured components, in backup order.
func (c *Config) Selected() []Component {
	var out []Component
	for _, comp := range Components(c.State) {
		if slices.Contains(c.Components, comp.Name) {
			out = append(out, comp)
		}
	}
	return out
}

// Configured reports whether a repository is set.
func (c *Config) Configured() bool { return c.Restic.Repository != "" }

// FromEnv reads the configuration from getenv; every bad value is named
// with its key and the fix.
func FromEnv(getenv func(string) string) (*Config, error) {
	var errs []string
	bad := func(key, val, want string) { errs = append(errs, fmt.Sprintf("%s=%q: %s", key, val, want)) }
	str := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	dur := func(key, def string) time.Duration {
		v := str(key, def)
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad(key, v, "want a positive duration such as 1h, 30m or 24h")
		}
		return d
	}
	count := func(key, def string) int {
		v := str(key, def)
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			bad(key, v, "want a whole number of snapshots to keep, 0 or more")
		}
		return n
	}
	c := &Config{
		Restic: Restic{
			Bin:        str("RESTIC_BIN", "/restic"),
			Repository: str("BACKUP_REPOSITORY", ""),
			Password:   getenv("BACKUP_RESTIC_PASSWORD"),
			AccessKey:  getenv("BACKUP_S3_ACCESS_KEY"),
			SecretKey:  getenv("BACKUP_S3_SECRET_KEY"),
			Host:       str("BACKUP_HOST", "okx-hft-ops"),
			Tag:        "okx-hft-ops",
		},
		Keep: Keep{
			Hourly:  count("BACKUP_KEEP_HOURLY", "24"),
			Daily:   count("BACKUP_KEEP_DAILY", "7"),
			Weekly:  count("BACKUP_KEEP_WEEKLY", "4"),
			Monthly: count("BACKUP_KEEP_MONTHLY", "6"),
		},
		Interval:                dur("BACKUP_INTERVAL", "1h"),
		DrillInterval:           dur("BACKUP_DRILL_INTERVAL", "24h"),
		FirstDelay:              dur("BACKUP_FIRST_DELAY", "5m"),
		DrillReadData:           str("BACKUP_DRILL_READ_DATA", "10%"),
		Work:                    str("BACKUP_WORK_DIR", "/backup"),
		State:                   str("BACKUP_STATE_DIR", "/state"),
		PrometheusURL:           str("BACKUP_PROMETHEUS_URL", "http://prometheus-internal:9090/prometheus"),
		LokiURL:                 str("BACKUP_LOKI_URL", "http://loki:3100"),
		S3Endpoint:              str("MLFLOW_S3_ENDPOINT_URL", "http://seaweedfs-s3:8333"),
		S3AccessKey:             getenv("AWS_ACCESS_KEY_ID"),
		S3SecretKey:             getenv("AWS_SECRET_ACCESS_KEY"),
		AlertmanagerMaintenance: dur("BACKUP_ALERTMANAGER_MAINTENANCE", "1m"),
		LokiFlushWait:           dur("BACKUP_LOKI_FLUSH_WAIT", "5s"),
	}
	c.Restic.CacheDir = filepath.Join(c.Work, "cache")
	c.Restic.TempDir = filepath.Join(c.Work, "tmp")
	if c.Keep.Hourly+c.Keep.Daily+c.Keep.Weekly+c.Keep.Monthly == 0 {
		errs = append(errs, "BACKUP_KEEP_HOURLY, _DAILY, _WEEKLY and _MONTHLY are all 0: forget would delete every snapshot; keep at least one")
	}
	comps := str("BACKUP_COMPONENTS", "all")
	if comps == "all" {
		c.Components = ComponentNames()
	} else {
		for _, n := range strings.Split(comps, ",") {
			n = strings.TrimSpace(n)
			if !slices.Contains(ComponentNames(), n) {
				bad("BACKUP_COMPONENTS", comps, fmt.Sprintf("%q is not a component; use \"all\" or a comma-separated list of %s", n, strings.Join(ComponentNames(), ", ")))
				continue
			}
			c.Components = append(c.Components, n)
		}
	}
	if v := c.DrillReadData; !validSubset(v) {
		bad("BACKUP_DRILL_READ_DATA", v, "want a percentage such as 10% or a fraction such as 1/7 (restic check --read-data-subset)")
	}
	if c.Configured() {
		if c.Restic.Password == "" {
			errs = append(errs, "BACKUP_RESTIC_PASSWORD is empty: run `opsctl init` to generate it, and keep a copy off this server (without it no backup can be read)")
		}
		if strings.HasPrefix(c.Restic.Repository, "s3:") && (c.Restic.AccessKey == "" || c.Restic.SecretKey == "") {
			errs = append(errs, "BACKUP_REPOSITORY is an S3 target but BACKUP_S3_ACCESS_KEY or BACKUP_S3_SECRET_KEY is empty: set the target's keys")
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("backup configuration (.env): %s", strings.Join(errs, "; "))
	}
	return c, nil
}

func validSubset(v string) bool {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		return err == nil && f > 0 && f <= 100
	}
	a, b, ok := strings.Cut(v, "/")
	n, err1 := strconv.Atoi(a)
	m, err2 := strconv.Atoi(b)
	return ok && err1 == nil && err2 == nil && n >= 1 && n <= m
}
