package check

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/okx-hft/okx-hft-ops/internal/yamlpos"
)

const (
	provisioningDir    = "grafana/provisioning"
	provisioningTarget = "/etc/grafana/provisioning"
)

// provisioningFolder is a folder Grafana reads under its provisioning path
// on every start. The image ships each one (empty); a bind mount of
// grafana/provisioning over /etc/grafana/provisioning hides them, and
// Grafana then logs an error per missing folder on every start
// (grafana/grafana pkg/services/provisioning/plugins/config_reader.go:
// "Failed to read plugin provisioning files from directory";
// pkg/services/provisioning/alerting/config_reader.go: "can't read
// alerting provisioning files from directory").
type provisioningFolder struct {
	name    string
	minimal string // the smallest file Grafana accepts, for the fix text
	// onlyYAML: Grafana reads every file of the folder and refuses (older
	// releases) or skips with a warning (newer) one that does not end in
	// .yaml, .yml or .json; the plugins reader ignores such files.
	onlyYAML bool
}

var provisioningFolders = []provisioningFolder{
	{name: "alerting", minimal: "apiVersion: 1", onlyYAML: true},
	{name: "plugins", minimal: "apiVersion: 1 and apps: []"},
}

// checkGrafanaProvisioning requires the provisioning folders Grafana reads
// when compose.yaml mounts grafana/provisioning over the image's own, and
// checks that each file in them is YAML Grafana can read.
func (r *Repo) checkGrafanaProvisioning() {
	s, ok := r.service("grafana")
	if !ok {
		return
	}
	mount := -1
	for i, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && path.Clean(v.Target) == provisioningTarget {
			if rel, err := filepath.Rel(r.Dir, v.Source); err == nil && filepath.ToSlash(rel) == provisioningDir {
				mount = i
			}
		}
	}
	if mount < 0 {
		return // the image's own folders are visible
	}
	pos := r.composeDoc.LineString(fmt.Sprintf("services.grafana.volumes[%d]", mount))
	for _, folder := range provisioningFolders {
		rel := provisioningDir + "/" + folder.name
		entries, err := os.ReadDir(r.path(rel))
		if err != nil {
			why := err.Error()
			if errors.Is(err, fs.ErrNotExist) {
				why = "it does not exist"
			}
			r.f.Errorf("grafana", composeFile, pos,
				fmt.Sprintf("create %s/%s.yaml containing %s (or git checkout -- %s)", rel, folder.name, folder.minimal, rel),
				"the bind mount of ./%s hides the image's %s/ folder and %s cannot be read (%s): Grafana logs an error on every start",
				provisioningDir, folder.name, rel, why)
			continue
		}
		for _, e := range entries {
			name := rel + "/" + e.Name()
			isYAML := strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")
			if e.IsDir() || (!isYAML && !strings.HasSuffix(e.Name(), ".json")) {
				if folder.onlyYAML {
					r.f.Warnf("grafana", name, "", "move it out of "+rel+"; Grafana reads every file there as provisioning",
						"%s is not a .yaml, .yml or .json file: Grafana skips it with a warning (releases before 10 refuse the folder)", name)
				}
				continue
			}
			if !isYAML && !folder.onlyYAML {
				continue // the plugins reader reads .yaml and .yml only
			}
			r.checkProvisioningFile(name, folder)
		}
	}
}

// checkProvisioningFile parses one provisioning file the way Grafana does
// (YAML, JSON being YAML too): an apiVersion, and for plugins an apps list
// whose items name the plugin.
func (r *Repo) checkProvisioningFile(rel string, folder provisioningFolder) {
	data, ok := r.read(rel)
	if !ok {
		return
	}
	var cfg struct {
		APIVersion *int `yaml:"apiVersion"`
		Apps       []struct {
			Type string `yaml:"type"`
		} `yaml:"apps"`
	}
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(data, &top); err != nil {
		r.f.Errorf("grafana", rel, yamlErrLine(err), "fix the YAML; a minimal file is "+folder.minimal, "Grafana cannot parse it, and refuses the whole folder: %v", err)
		return
	}
	if len(top) == 0 {
		return // only comments: Grafana skips an empty document
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		r.f.Errorf("grafana", rel, yamlErrLine(err), "fix the value's type; a minimal file is "+folder.minimal, "%v", err)
		return
	}
	doc := yamlpos.Parse(data)
	if cfg.APIVersion == nil {
		r.f.Warnf("grafana", rel, doc.LineString(""), "add apiVersion: 1", "%s has no apiVersion; Grafana documents every provisioning file with one", rel)
	}
	if folder.name == "plugins" {
		for i, app := range cfg.Apps {
			if app.Type == "" {
				r.f.Errorf("grafana", rel, doc.LineString(fmt.Sprintf("apps[%d]", i)), "set type: to the plugin id", "app item %d has no type: Grafana refuses the file", i+1)
			}
		}
	}
}
