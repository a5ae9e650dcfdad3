package check

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

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
		Name string `yaml:"name"`
		UID  string `yaml:"uid"`
		Type string `yaml:"type"`
		URL  string `yaml:"url"`
	} `yaml:"datasources"`
}

type providerFile struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name    string `yaml:"name"`
		Type    string `yaml:"type"`
		Options struct {
			Path string `yaml:"path"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// datasourceServices says which service each datasource type must reach.
var datasourceServices = map[string]string{"prometheus": "prometheus", "loki": "loki", "alertmanager": "alertmanager"}

func (r *Repo) checkGrafana() {
	uids := map[string]string{}
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
			u, err := url.Parse(d.URL)
			if err != nil || u.Host == "" {
				r.f.Errorf("grafana", datasourcesFile, doc.LineString(base+".url"), "use http://<service>:<port>[/prefix]", "datasource %q url %q is not a URL", d.Name, d.URL)
				continue
			}
			r.checkEndpoint(datasourcesFile, doc.LineString(base+".url"), "datasource "+d.Name, u.Hostname(), u.Port(), false)
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
		for i, p := range pf.Providers {
			if r.Project == nil {
				break
			}
			host, ok := r.hostPath("grafana", p.Options.Path)
			if !ok {
				r.f.Errorf("grafana", providersFile, doc.LineString(fmt.Sprintf("providers[%d].options.path", i)), "mount ./grafana/dashboards into the grafana service at this path", "dashboard path %q is not mounted from the repository", p.Options.Path)
				continue
			}
			for _, df := range dashboards.CheckDir(r.path(host), uids) {
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
			r.f.Errorf("grafana", composeFile, "", "set GF_AUTH_ANONYMOUS_ENABLED: \"false\"", "Grafana allows anonymous access")
		}
		if s.Environment["GF_SECURITY_ADMIN_PASSWORD"] == nil {
			r.f.Errorf("grafana", composeFile, "", "set GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_ADMIN_PASSWORD}", "Grafana's admin password is not set from .env")
		}
		if len(s.Ports) > 0 {
			r.f.Errorf("grafana", composeFile, "", "remove services.grafana.ports; Grafana is reached through the proxy only", "Grafana publishes a port")
		}
	}
}

func yamlErrLine(err error) string {
	if m := lineRef.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}
