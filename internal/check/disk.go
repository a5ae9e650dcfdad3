package check

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/units"
	"github.com/compose-spec/compose-go/v2/types"
	dunits "github.com/docker/go-units"

	"github.com/okx-hft/okx-hft-ops/internal/yamlpos"
)

const diskKey = "OPS_DISK_BUDGET"

// metadataAllowance is what a state volume without a cap of its own is
// counted at: the SQLite files of MLflow (runs, params, metrics; the
// artifacts are in object storage), Superset and Grafana, Alertmanager's
// silences and notification log (kept 120 h), Alloy's positions and
// SeaweedFS admin's settings. None of them has a size limit upstream; all
// stay far below this on a node of this size.
const metadataAllowance = 256 << 20

// seaweedfsDefaultVolumeMB is -master.volumeSizeLimitMB when not set
// (seaweedfs weed/command/master.go: 30*1000).
const seaweedfsDefaultVolumeMB = 30000

// seaweedfsDefaultGrowth is how many volumes a bucket grows by at once
// (master.toml [master.volume_growth] copy_1).
const seaweedfsDefaultGrowth = 7

// DiskItem is one thing of the node that grows on disk, with the most it
// may take and the setting that caps it.
type DiskItem struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	Cap   string `json:"cap"`
}

// Disk is the node's worst-case disk: every cap added up, against
// OPS_DISK_BUDGET.
type Disk struct {
	Items  []DiskItem `json:"items"`
	Total  int64      `json:"total_bytes"`
	Budget int64      `json:"budget_bytes"` // 0: not set
}

func (r *Repo) addDisk(name string, bytes int64, capText string) {
	r.disk = append(r.disk, DiskItem{Name: name, Bytes: bytes, Cap: capText})
}

// lokiDisk is Loki's cap: it accepts at most ingestion_rate_mb a second,
// and keeps what it accepted for the retention plus the compactor's
// delete delay: rate x time, uncompressed (chunks are stored compressed,
// so less in practice). Loki has no size-based retention.
func (r *Repo) lokiDisk(doc *yamlpos.Doc, cfg lokiConfig, retention time.Duration) {
	if _, ok := r.service("loki"); !ok {
		return
	}
	rate, rateText := 4.0, "the default ingestion_rate_mb 4" // Loki pkg/validation/limits.go
	if p := cfg.LimitsConfig.IngestionRateMB; p != nil {
		rate, rateText = *p, "ingestion_rate_mb "+strconv.FormatFloat(*p, 'g', -1, 64)
	}
	if rate <= 0 {
		r.f.Errorf("disk", lokiFile, doc.LineString("limits_config.ingestion_rate_mb"), "set LOKI_INGESTION_RATE_MB in .env to the MB a second Loki may take (0.004: about 350 MB a day)", "ingestion_rate_mb %v: Loki's disk has no cap", rate)
		return
	}
	delay := 2 * time.Hour // Loki's default retention_delete_delay
	if s := cfg.Compactor.RetentionDelay; s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			delay = d
		}
	}
	bytes := int64(rate * (1 << 20) * (retention + delay).Seconds())
	r.addDisk("loki", bytes, fmt.Sprintf("%s × (retention_period %s + retention_delete_delay %s)", rateText, hours(retention), hours(delay)))
}

// hours writes a duration of whole hours as Loki's config does (744h).
func hours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// flagValue returns the value of -name=value or --name=value in args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// checkDisk adds up the most every growing part of the node may take on
// disk, each by its own cap, and refuses a part without one or a sum above
// OPS_DISK_BUDGET. It returns the sum for opsctl check to print.
func (r *Repo) checkDisk() *Disk {
	if r.Project == nil {
		return nil
	}
	if s, ok := r.service("prometheus"); ok {
		src := r.src("prometheus")
		if v, ok := flagValue(s.Command, "storage.tsdb.retention.size"); ok && v != "" {
			// Prometheus reads the flag as alecthomas/units Base2Bytes
			// (GB is GiB), and counts the WAL in it.
			if b, err := units.ParseBase2Bytes(v); err != nil || b <= 0 {
				r.f.Errorf("disk", src.rel, src.at("services.prometheus.command"), "set PROMETHEUS_RETENTION_SIZE in .env to a size such as 8GB", "--storage.tsdb.retention.size=%s is not a size Prometheus reads", v)
			} else {
				r.addDisk("prometheus", int64(b), "--storage.tsdb.retention.size="+v)
			}
		} // a missing one is the retention check's finding
	}
	r.seaweedfsDisk()
	r.backupDisk()
	r.logsDisk()
	r.metadataDisk()

	d := &Disk{Items: r.disk}
	for _, it := range r.disk {
		d.Total += it.Bytes
	}
	budget, raw, line, ok := r.envSize("disk", diskKey,
		"run opsctl init (it adds "+diskKey+"=30G, a 40 GB server, from .env.example), or set what the node's data may take on this host's disk",
		fmt.Sprintf("the node's worst-case disk (%s) cannot be checked", dunits.BytesSize(float64(d.Total))),
		"write a size such as 30G", "a size")
	if !ok {
		return d
	}
	d.Budget = budget
	if d.Total > budget {
		var parts []string
		for _, it := range d.Items {
			parts = append(parts, fmt.Sprintf("%s %s (%s)", it.Name, dunits.BytesSize(float64(it.Bytes)), it.Cap))
		}
		r.f.Errorf("disk", r.EnvPath, line, "lower a cap (PROMETHEUS_RETENTION_SIZE, LOKI_INGESTION_RATE_MB or LOKI_RETENTION_PERIOD, SEAWEEDFS_MAX_VOLUMES) or raise "+diskKey+" to what this disk holds", "the node may take %s of disk, more than %s=%s: %s", dunits.BytesSize(float64(d.Total)), diskKey, raw, strings.Join(parts, ", "))
	}
	return d
}

// seaweedfsDisk is the object store's cap: at most -volume.max volumes of
// -master.volumeSizeLimitMB each. With a cap, each bucket must be able to
// grow: a bucket takes volumes in steps of the growth count, and one that
// cannot get them stores nothing (seen with -volume.max=3 and two buckets).
func (r *Repo) seaweedfsDisk() {
	for _, name := range r.Project.ServiceNames() {
		s := r.Project.Services[name]
		if !slices.Contains(s.Command, "server") || !strings.Contains(strings.Join(s.Entrypoint, " ")+strings.Join(s.Command, " "), "weed") {
			continue
		}
		src := r.src(name)
		at := src.at("services." + name + ".command")
		maxText, _ := flagValue(s.Command, "volume.max")
		vmax, err := strconv.Atoi(maxText)
		if err != nil || vmax <= 0 {
			r.f.Errorf("disk", src.rel, at, "set -volume.max=${SEAWEEDFS_MAX_VOLUMES} (SEAWEEDFS_MAX_VOLUMES=8 in .env: 8 volumes of 1 GiB)", "service %s: -volume.max=%s lets SeaweedFS' volumes grow with the free disk: the buckets have no cap", name, maxText)
			continue
		}
		sizeMB := seaweedfsDefaultVolumeMB
		if v, ok := flagValue(s.Command, "master.volumeSizeLimitMB"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				sizeMB = n
			}
		}
		growth := seaweedfsDefaultGrowth
		if v := s.Environment["WEED_MASTER_VOLUME_GROWTH_COPY_1"]; v != nil {
			if n, err := strconv.Atoi(*v); err == nil && n > 0 {
				growth = n
			}
		}
		buckets := len(r.buckets())
		if need := growth * max(buckets, 1); need > vmax {
			r.f.Errorf("disk", src.rel, at, "set WEED_MASTER_VOLUME_GROWTH_COPY_1: \"1\" in its environment, or raise SEAWEEDFS_MAX_VOLUMES", "service %s: %d buckets growing by %d volumes at a time need %d volumes, and -volume.max is %d: a bucket that gets none stores nothing", name, max(buckets, 1), growth, need, vmax)
		}
		r.addDisk(name, int64(vmax)*int64(sizeMB)<<20, fmt.Sprintf("-volume.max=%d × -master.volumeSizeLimitMB=%d", vmax, sizeMB))
	}
}

// logsDisk is the containers' own logs: json-file keeps at most max-file
// files of max-size for each container of the services up starts.
func (r *Repo) logsDisk() {
	profiles := strings.Split(r.Env["COMPOSE_PROFILES"], ",")
	var total int64
	n := 0
	for _, name := range r.Project.ServiceNames() {
		s := r.Project.Services[name]
		if len(s.Profiles) > 0 && !slices.ContainsFunc(s.Profiles, func(p string) bool { return slices.Contains(profiles, p) }) {
			continue
		}
		if s.Logging == nil || s.Logging.Driver != "json-file" {
			continue // the logging check's finding
		}
		size, err := dunits.RAMInBytes(s.Logging.Options["max-size"])
		if err != nil {
			continue
		}
		files := 1
		if v := s.Logging.Options["max-file"]; v != "" {
			if files, err = strconv.Atoi(v); err != nil {
				continue
			}
		}
		total += size * int64(files)
		n++
	}
	if n > 0 {
		r.addDisk("container logs", total, fmt.Sprintf("json-file max-size × max-file of %d services", n))
	}
}

// backupService keeps, in its volume, a mirror of every bucket (what restic
// reads the objects from), the copies of the SQLite databases and restic's
// cache.
const backupService = "backup"

// backupDisk is the backup volume's cap: the buckets' cap (the mirror) and
// the metadata allowance twice, for the databases' copies and restic's
// cache. A restore onto a new server also needs, once, the snapshot's size
// free: the README says so; it is not a standing use.
func (r *Repo) backupDisk() {
	if _, ok := r.service(backupService); !ok {
		return
	}
	var buckets int64
	for _, it := range r.disk {
		if it.Name == "seaweedfs" {
			buckets = it.Bytes
		}
	}
	r.addDisk(backupService, buckets+2*metadataAllowance, fmt.Sprintf("a mirror of the buckets (%s, SeaweedFS' cap) + the databases' copies and restic's cache (2 × %s)", dunits.BytesSize(float64(buckets)), dunits.BytesSize(metadataAllowance)))
}

// metadataDisk counts every other state volume at metadataAllowance:
// small files with no cap of their own (see metadataAllowance). A demo
// stand-in's state is the sibling stack's, not the node's.
func (r *Repo) metadataDisk() {
	capped := map[string]bool{"prometheus": true, "loki": true}
	for _, it := range r.disk {
		capped[it.Name] = true
	}
	var vols []string
	for _, d := range r.Decls {
		if capped[d.Name] || d.Sibling != "" || len(d.State) == 0 {
			continue
		}
		s, ok := r.Project.Services[d.Name]
		if !ok {
			continue
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && slices.Contains(d.State, v.Target) && !slices.Contains(vols, v.Source) {
				vols = append(vols, v.Source)
			}
		}
	}
	if len(vols) > 0 {
		slices.Sort(vols)
		r.addDisk("metadata", int64(len(vols))*metadataAllowance, fmt.Sprintf("%d volumes without a cap of their own, %s each: %s", len(vols), dunits.BytesSize(metadataAllowance), strings.Join(vols, ", ")))
	}
}
