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
		RetentionPeriod string `yaml:"retention_period"`
	} `yaml:"limits_config"`
	Compactor struct {
		WorkingDirectory   string `yaml:"working_directory"`
		RetentionEnabled   bool   `yaml:"retention_enabled"`
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

func (r *Repo) checkLoki() {
	data, ok := r.read(lokiFile)
	if !ok {
		return
	}
	doc := yamlpos.Parse(data)
	lokiEnv := func(k string) string {
		if s, ok := r.service("loki"); ok {
			if v := s.Environment[k]; v != nil {
				return *v
			}
		}
		return ""
	}
	expanded := expandLokiEnv(string(data), lokiEnv)
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
	}
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
