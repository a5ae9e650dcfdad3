package check

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/prometheus/common/model"

	"github.com/okx-hft/okx-hft-ops/internal/yamlpos"
)

const lokiFile = "loki/loki.yaml"

const (
	// lokiMinRetention is the shortest retention Loki documents.
	lokiMinRetention = 24 * time.Hour
	// lokiDefaultMaxQueryLength is limits_config.max_query_length when it
	// is not set (Loki 3.7 pkg/validation/limits.go: 721h, i.e. 30d1h).
	lokiDefaultMaxQueryLength = 721 * time.Hour
	// lokiDefaultRejectOldAge is reject_old_samples_max_age when not set
	// (Loki 3.7 pkg/validation/limits.go: 1w).
	lokiDefaultRejectOldAge = 7 * 24 * time.Hour
)

// lokiTopLevel are the top-level blocks of Loki 3.x's configuration.
var lokiTopLevel = []string{
	"target", "auth_enabled", "ballast_bytes", "server", "internal_server", "distributor", "querier",
	"query_scheduler", "frontend", "query_range", "ruler", "ruler_storage", "ingester_client", "ingester",
	"block_builder", "block_scheduler", "pattern_ingester", "index_gateway", "bloom_build", "bloom_gateway",
	"storage_config", "chunk_store_config", "schema_config", "compactor", "compactor_grpc_client",
	"limits_config", "frontend_worker", "table_manager", "memberlist", "kafka_config", "dataobj",
	"runtime_config", "operational_config", "tracing", "analytics", "common", "shutdown_delay",
	"metrics_namespace", "ui", "partition_ring", "distributor_ring", "query_engine",
}

type lokiConfig struct {
	Common struct {
		PathPrefix string `yaml:"path_prefix"`
		Storage    struct {
			Filesystem struct {
				ChunksDirectory string `yaml:"chunks_directory"`
				RulesDirectory  string `yaml:"rules_directory"`
			} `yaml:"filesystem"`
		} `yaml:"storage"`
	} `yaml:"common"`
	SchemaConfig struct {
		Configs []struct {
			From        string `yaml:"from"`
			Store       string `yaml:"store"`
			ObjectStore string `yaml:"object_store"`
			Schema      string `yaml:"schema"`
		} `yaml:"configs"`
	} `yaml:"schema_config"`
	StorageConfig struct {
		TSDBShipper struct {
			ActiveIndexDirectory string `yaml:"active_index_directory"`
			CacheLocation        string `yaml:"cache_location"`
		} `yaml:"tsdb_shipper"`
	} `yaml:"storage_config"`
	LimitsConfig struct {
		RetentionPeriod        string   `yaml:"retention_period"`
		MaxQueryLength         *string  `yaml:"max_query_length"`
		MaxQueryLookback       string   `yaml:"max_query_lookback"`
		RejectOldSamples       *bool    `yaml:"reject_old_samples"`
		RejectOldSamplesMaxAge string   `yaml:"reject_old_samples_max_age"`
		IngestionRateMB        *float64 `yaml:"ingestion_rate_mb"`
		DiscoverServiceName    []string `yaml:"discover_service_name"`
	} `yaml:"limits_config"`
	Compactor struct {
		WorkingDirectory   string `yaml:"working_directory"`
		RetentionEnabled   bool   `yaml:"retention_enabled"`
		RetentionDelay     string `yaml:"retention_delete_delay"`
		DeleteRequestStore string `yaml:"delete_request_store"`
	} `yaml:"compactor"`
}

// expandLokiEnv mimics -config.expand-env: ${VAR} and ${VAR:-default}.
func expandLokiEnv(text string, env func(string) string) string {
	return os.Expand(text, func(v string) string {
		name, def, hasDef := strings.Cut(v, ":-")
		if val := env(name); val != "" {
			return val
		}
		if hasDef {
			return def
		}
		return ""
	})
}

// expandLoki expands loki.yaml with the loki service's environment, as
// -config.expand-env=true does in the container.
func (r *Repo) expandLoki(data []byte) string {
	return expandLokiEnv(string(data), func(k string) string {
		if s, ok := r.service("loki"); ok {
			if v := s.Environment[k]; v != nil {
				return *v
			}
		}
		return ""
	})
}

// lokiLimits reads loki.yaml for other checks, reporting nothing: checkLoki
// reports what is wrong with the file itself.
func (r *Repo) lokiLimits() (lokiConfig, bool) {
	data, err := os.ReadFile(r.path(lokiFile))
	if err != nil {
		return lokiConfig{}, false
	}
	var cfg lokiConfig
	if err := yaml.Unmarshal([]byte(r.expandLoki(data)), &cfg); err != nil {
		return lokiConfig{}, false
	}
	return cfg, true
}

func (r *Repo) checkLoki() {
	data, ok := r.read(lokiFile)
	if !ok {
		return
	}
	doc := yamlpos.Parse(data)
	expanded := r.expandLoki(data)
	var top map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(expanded), &top); err != nil {
		r.f.Errorf("loki", lokiFile, yamlErrLine(err), "fix the YAML", "%v", err)
		return
	}
	for k := range top {
		if !slices.Contains(lokiTopLevel, k) {
			r.f.Errorf("loki", lokiFile, doc.LineString(k), "remove it or fix its spelling; see Loki's configuration reference", "unknown top-level block %q", k)
		}
	}
	var cfg lokiConfig
	if err := yaml.Unmarshal([]byte(expanded), &cfg); err != nil {
		r.f.Errorf("loki", lokiFile, yamlErrLine(err), "fix the value's type", "%v", err)
		return
	}
	schemas := cfg.SchemaConfig.Configs
	if len(schemas) == 0 {
		r.f.Errorf("loki", lokiFile, doc.LineString("schema_config"), "add a schema_config entry with store: tsdb, schema: v13", "no schema_config")
	} else {
		last := schemas[len(schemas)-1]
		pos := doc.LineString(fmt.Sprintf("schema_config.configs[%d]", len(schemas)-1))
		if last.Schema != "v13" || last.Store != "tsdb" {
			r.f.Errorf("loki", lokiFile, pos, "use store: tsdb with schema: v13 (required for structured metadata and retention in Loki 3)", "the current schema is %s/%s", last.Store, last.Schema)
		}
		if _, err := time.Parse("2006-01-02", last.From); err != nil {
			r.f.Errorf("loki", lokiFile, pos, "set from: YYYY-MM-DD", "schema from %q is not a date", last.From)
		}
	}
	ret := cfg.LimitsConfig.RetentionPeriod
	d, err := model.ParseDuration(ret)
	switch {
	case ret == "":
		r.f.Errorf("retention", lokiFile, doc.LineString("limits_config"), "set limits_config.retention_period: ${LOKI_RETENTION_PERIOD:-744h}", "no log retention: logs are kept forever")
	case err != nil:
		r.f.Errorf("retention", lokiFile, doc.LineString("limits_config.retention_period"), "use a duration such as 744h", "retention_period %q: %v", ret, err)
	case d == 0:
		r.f.Errorf("retention", lokiFile, doc.LineString("limits_config.retention_period"), "set a positive retention", "retention_period 0 keeps logs forever")
	case time.Duration(d) < lokiMinRetention:
		// "The minimum retention period is 24h." (Loki
		// docs/sources/operations/storage/retention.md, "Configuring the
		// retention period"); Loki's own validation refuses a shorter
		// retention_stream period (pkg/validation/limits.go Validate).
		r.f.Errorf("retention", lokiFile, doc.LineString("limits_config.retention_period"), "set LOKI_RETENTION_PERIOD in .env to 24h or more (https://grafana.com/docs/loki/latest/operations/storage/retention/)", "retention_period %s is under Loki's documented minimum of 24h", ret)
	}
	if err == nil && d > 0 {
		r.checkLokiQueryLimits(doc, cfg, time.Duration(d))
		r.lokiDisk(doc, cfg, time.Duration(d))
	}
	r.checkLokiServiceName(doc, cfg)
	if ret != "" && (!cfg.Compactor.RetentionEnabled || cfg.Compactor.DeleteRequestStore == "") {
		r.f.Errorf("retention", lokiFile, doc.LineString("compactor"), "set compactor.retention_enabled: true and compactor.delete_request_store: filesystem", "retention_period is set but the compactor does not apply it: nothing is deleted")
	}
	paths := map[string]string{
		"common.path_prefix":                                 cfg.Common.PathPrefix,
		"common.storage.filesystem.chunks_directory":         cfg.Common.Storage.Filesystem.ChunksDirectory,
		"common.storage.filesystem.rules_directory":          cfg.Common.Storage.Filesystem.RulesDirectory,
		"storage_config.tsdb_shipper.active_index_directory": cfg.StorageConfig.TSDBShipper.ActiveIndexDirectory,
		"storage_config.tsdb_shipper.cache_location":         cfg.StorageConfig.TSDBShipper.CacheLocation,
		"compactor.working_directory":                        cfg.Compactor.WorkingDirectory,
	}
	s, ok := r.service("loki")
	if !ok {
		return
	}
	var volumeTargets []string
	for _, v := range s.Volumes {
		if v.Type == "volume" && v.Source != "" {
			volumeTargets = append(volumeTargets, strings.TrimSuffix(v.Target, "/"))
		}
	}
	for key, p := range paths {
		if p == "" {
			continue
		}
		onVolume := false
		for _, t := range volumeTargets {
			onVolume = onVolume || p == t || strings.HasPrefix(p, t+"/")
		}
		if !onVolume {
			r.f.Errorf("loki", lokiFile, doc.LineString(key), fmt.Sprintf("keep it under a named volume of the loki service (%v)", volumeTargets), "%s %s is not on a named volume: the data is lost with the container", key, p)
		}
	}
}

// checkLokiQueryLimits makes sure a query can cover the whole retention:
// Loki refuses a query longer than max_query_length (after clamping its
// start to max_query_lookback), so a limit under the retention makes the
// oldest logs unreachable from Grafana's "Last N days".
func (r *Repo) checkLokiQueryLimits(doc *yamlpos.Doc, cfg lokiConfig, retention time.Duration) {
	lim := cfg.LimitsConfig
	length, lengthPos := lokiDefaultMaxQueryLength, doc.LineString("limits_config")
	lengthText := "the default 721h (30d1h)"
	if lim.MaxQueryLength != nil {
		lengthPos = doc.LineString("limits_config.max_query_length")
		d, err := model.ParseDuration(*lim.MaxQueryLength)
		if err != nil {
			r.f.Errorf("loki", lokiFile, lengthPos, "use a duration such as 745h, or 0 for no limit", "max_query_length %q: %v", *lim.MaxQueryLength, err)
			return
		}
		length, lengthText = time.Duration(d), *lim.MaxQueryLength
	}
	lookback := time.Duration(0)
	if lim.MaxQueryLookback != "" {
		d, err := model.ParseDuration(lim.MaxQueryLookback)
		if err != nil {
			r.f.Errorf("loki", lokiFile, doc.LineString("limits_config.max_query_lookback"), "use a duration such as ${LOKI_RETENTION_PERIOD:-744h}, or 0", "max_query_lookback %q: %v", lim.MaxQueryLookback, err)
			return
		}
		lookback = time.Duration(d)
	}
	if length > 0 && length < retention && (lookback == 0 || length < lookback) {
		r.f.Errorf("loki", lokiFile, lengthPos,
			"set limits_config.max_query_length: 0 with max_query_lookback: ${LOKI_RETENTION_PERIOD:-744h} (or a max_query_length of at least the retention)",
			"max_query_length %s is shorter than retention_period %s: Loki refuses a query over the whole retention (\"Last %d days\" in Grafana)",
			lengthText, model.Duration(retention), int(retention.Hours())/24)
	}
	if lookback > 0 && lookback < retention {
		r.f.Warnf("loki", lokiFile, doc.LineString("limits_config.max_query_lookback"),
			"set max_query_lookback: ${LOKI_RETENTION_PERIOD:-744h}",
			"max_query_lookback %s is shorter than retention_period %s: logs older than the lookback are kept but never returned", model.Duration(lookback), model.Duration(retention))
	}
}

// checkLokiServiceName warns when service_name, which Grafana's log views
// group by, would not be the compose service: Loki sets it from the first
// label of discover_service_name a stream has, and its default list finds
// the container name first.
func (r *Repo) checkLokiServiceName(doc *yamlpos.Doc, cfg lokiConfig) {
	list := cfg.LimitsConfig.DiscoverServiceName
	pos := doc.LineString("limits_config.discover_service_name")
	fix := "set limits_config.discover_service_name with compose_service first (then Loki's defaults: service, app, ..., container, job)"
	if list == nil {
		r.f.Warnf("loki", lokiFile, doc.LineString("limits_config"), fix, "no discover_service_name: Loki names every stream's service_name after its container (e.g. okx-hft-ops-loki-1), not its compose service")
		return
	}
	i := slices.Index(list, "compose_service")
	if len(list) == 0 || i < 0 {
		r.f.Warnf("loki", lokiFile, pos, fix, "discover_service_name does not list compose_service: service_name is not the compose service Grafana's log views should group by")
		return
	}
	if c := slices.Index(list, "container"); c >= 0 && c < i {
		r.f.Warnf("loki", lokiFile, pos, fix, "discover_service_name lists container before compose_service: every stream's service_name is its container name")
	}
}

// lokiRejectOldAge is how old a line Loki still accepts, as a duration and
// as written, or 0 when it accepts any age (reject_old_samples: false).
func lokiRejectOldAge(cfg lokiConfig) (time.Duration, string, error) {
	lim := cfg.LimitsConfig
	if lim.RejectOldSamples != nil && !*lim.RejectOldSamples {
		return 0, "", nil
	}
	if lim.RejectOldSamplesMaxAge == "" {
		return lokiDefaultRejectOldAge, "168h (Loki's default)", nil
	}
	d, err := model.ParseDuration(lim.RejectOldSamplesMaxAge)
	return time.Duration(d), lim.RejectOldSamplesMaxAge, err
}
