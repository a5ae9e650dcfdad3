package check

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	promconfig "github.com/prometheus/prometheus/config"

	"gopkg.in/yaml.v3"

	"github.com/okx-hft/okx-hft-ops/internal/dashboards"
	"github.com/okx-hft/okx-hft-ops/internal/yamlpos"
)

const (
	datasourcesFile = "grafana/provisioning/datasources/datasources.yaml"
	providersFile   = "grafana/provisioning/dashboards/dashboards.yaml"
)

type datasourceFile struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name     string `yaml:"name"`
		UID      string `yaml:"uid"`
		Type     string `yaml:"type"`
		URL      string `yaml:"url"`
		JSONData struct {
			TimeInterval string `yaml:"timeInterval"`
		} `yaml:"jsonData"`
	} `yaml:"datasources"`
}

type providerFile struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name           string `yaml:"name"`
		Type           string `yaml:"type"`
		FolderUID      string `yaml:"folderUid"`
		AllowUIUpdates bool   `yaml:"allowUiUpdates"`
		Options        struct {
			Path string `yaml:"path"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// datasourceServices says which service each datasource type must reach.
var datasourceServices = map[string]string{"prometheus": "prometheus", "loki": "loki", "alertmanager": "alertmanager"}

func (r *Repo) checkGrafana() {
	uids := map[string]string{}
	promIntervals := map[string]time.Duration{} // Prometheus datasource uid → timeInterval
	if data, ok := r.read(datasourcesFile); ok {
		doc := yamlpos.Parse(data)
		var ds datasourceFile
		if err := yaml.Unmarshal(data, &ds); err != nil {
			r.f.Errorf("grafana", datasourcesFile, yamlErrLine(err), "see Grafana's datasource provisioning reference", "%v", err)
		}
		for i, d := range ds.Datasources {
			base := fmt.Sprintf("datasources[%d]", i)
			if d.UID == "" {
				r.f.Errorf("grafana", datasourcesFile, doc.LineString(base), "set a fixed uid; dashboards refer to datasources by uid", "datasource %q has no uid", d.Name)
				continue
			}
			if _, dup := uids[d.UID]; dup {
				r.f.Errorf("grafana", datasourcesFile, doc.LineString(base+".uid"), "give each datasource its own uid", "uid %q is used twice", d.UID)
			}
			uids[d.UID] = d.Type
			if d.Type == dashboards.PrometheusType {
				iv, ok := dashboards.ParseGrafanaDuration(d.JSONData.TimeInterval)
				if !ok && d.JSONData.TimeInterval != "" {
					r.f.Errorf("grafana", datasourcesFile, doc.LineString(base+".jsonData.timeInterval"), "write the scrape interval as a duration, e.g. 15s", "datasource %q timeInterval %q is not a duration", d.Name, d.JSONData.TimeInterval)
				}
				promIntervals[d.UID] = iv
			}
			u, err := url.Parse(d.URL)
			if err != nil || u.Host == "" {
				r.f.Errorf("grafana", datasourcesFile, doc.LineString(base+".url"), "use http://<service>:<port>[/prefix]", "datasource %q url %q is not a URL", d.Name, d.URL)
				continue
			}
			r.checkEndpoint("grafana", datasourcesFile, doc.LineString(base+".url"), "datasource "+d.Name, u.Hostname(), u.Port(), false)
			if want, ok := datasourceServices[d.Type]; ok {
				if s, found := r.serviceByHost(u.Hostname()); found && s.Name != want {
					r.f.Errorf("grafana", datasourcesFile, doc.LineString(base+".url"), fmt.Sprintf("point it at the %s service", want), "datasource %q of type %s points at service %s", d.Name, d.Type, s.Name)
				}
				if prefix := r.servicePrefix(want); r.Project != nil && strings.TrimSuffix(u.Path, "/") != prefix {
					r.f.Errorf("grafana", datasourcesFile, doc.LineString(base+".url"), fmt.Sprintf("use http://%s%s", u.Host, prefix), "datasource %q path %q does not match the %s route prefix %q", d.Name, u.Path, want, prefix)
				}
			}
		}
		for _, want := range []string{"prometheus", "loki", "alertmanager"} {
			found := false
			for _, t := range uids {
				found = found || t == want
			}
			if !found {
				r.f.Errorf("grafana", datasourcesFile, "", "provision it with a fixed uid", "no %s datasource is provisioned", want)
			}
		}
	}
	if data, ok := r.read(providersFile); ok {
		doc := yamlpos.Parse(data)
		var pf providerFile
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(false)
		if err := dec.Decode(&pf); err != nil {
			r.f.Errorf("grafana", providersFile, yamlErrLine(err), "see Grafana's dashboard provisioning reference", "%v", err)
		}
		if len(pf.Providers) == 0 {
			r.f.Errorf("grafana", providersFile, "", "add a file provider reading the dashboards folder", "no dashboard provider")
		}
		sampling, haveSampling := r.sampling(promIntervals)
		for i, p := range pf.Providers {
			base := fmt.Sprintf("providers[%d]", i)
			if p.FolderUID == "" {
				r.f.Errorf("grafana", providersFile, doc.LineString(base), "set folderUid: okx-hft-ops (up to 40 letters, digits, - or _)",
					"dashboard provider %q has no folderUid: Grafana gives its folder a new uid in every fresh grafana_data volume, and links to the folder break", p.Name)
			}
			if r.Project == nil {
				break
			}
			host, ok := r.hostPath("grafana", p.Options.Path)
			if !ok {
				r.f.Errorf("grafana", providersFile, doc.LineString(fmt.Sprintf("providers[%d].options.path", i)), "mount ./grafana/dashboards into the grafana service at this path", "dashboard path %q is not mounted from the repository", p.Options.Path)
				continue
			}
			found := dashboards.CheckDir(r.path(host), uids)
			found = append(found, dashboards.CheckEditable(r.path(host), p.AllowUIUpdates, providersFile)...)
			if haveSampling {
				found = append(found, dashboards.CheckRateWindows(r.path(host), sampling)...)
			}
			for _, df := range found {
				if rel, err := filepath.Rel(r.Dir, df.File); err == nil && !strings.HasPrefix(rel, "..") {
					df.File = rel
				}
				r.f = append(r.f, df)
			}
		}
	}
	if s, ok := r.service("grafana"); ok {
		env := func(k string) string {
			if v := s.Environment[k]; v != nil {
				return *v
			}
			return ""
		}
		if env("GF_AUTH_ANONYMOUS_ENABLED") != "false" {
			pos := ""
			if doc := r.composeDoc; r.compose != nil {
				if pos = doc.LineString("services.grafana.environment.GF_AUTH_ANONYMOUS_ENABLED"); pos == "" {
					pos = doc.LineString("services.grafana.environment")
				}
			}
			r.f.Errorf("grafana", composeFile, pos, "set GF_AUTH_ANONYMOUS_ENABLED: \"false\"", "Grafana allows anonymous access")
		}
		if s.Environment["GF_SECURITY_ADMIN_PASSWORD"] == nil {
			r.f.Errorf("grafana", composeFile, "", "set GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_ADMIN_PASSWORD}", "Grafana's admin password is not set from .env")
		}
		if len(s.Ports) > 0 {
			r.f.Errorf("grafana", composeFile, "", "remove services.grafana.ports; Grafana is reached through the proxy only", "Grafana publishes a port")
		}
	}
}

// sampling reads how often Prometheus samples each series: every job's
// scrape_interval from prometheus/prometheus.yml (the global one when the
// job sets none, as Prometheus' own loader fills it in) and every recorded
// series' group interval from the rule files it loads. ok is false when
// the config does not load; checkPrometheus reports why.
func (r *Repo) sampling(datasources map[string]time.Duration) (dashboards.Sampling, bool) {
	cfg, err := promconfig.LoadFile(r.path(prometheusFile), false, quietLogger())
	if err != nil {
		return dashboards.Sampling{}, false
	}
	var files []string
	for _, pattern := range cfg.RuleFiles {
		if host, ok := r.hostPath("prometheus", pattern); ok {
			matches, _ := filepath.Glob(r.path(host))
			files = append(files, matches...)
		}
	}
	return dashboards.SamplingOf(cfg, files, datasources), true
}

func yamlErrLine(err error) string {
	if m := lineRef.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}
