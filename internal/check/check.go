// Package check validates the repository offline: every config is loaded by
// its upstream project's own parser where one can be had, and the configs
// are cross-checked against each other and against compose.yaml.
package check

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/okx-hft/okx-hft-ops/internal/envfile"
	"github.com/okx-hft/okx-hft-ops/internal/finding"
	"github.com/okx-hft/okx-hft-ops/internal/opsdecl"
	"github.com/okx-hft/okx-hft-ops/internal/yamlpos"
)

// Options tune a run.
type Options struct {
	// EnvFile is the env file to interpolate compose.yaml with; default
	// .env when it exists, else .env.example.
	EnvFile string
	// Tools say how the upstream validators run (images, this machine's
	// programs, --skip); nil runs only what this machine has, no Docker.
	Tools *ToolOptions
}

// Report is a run's findings and what each upstream validator did.
type Report struct {
	Findings   finding.List   `json:"findings"`
	Validators []ValidatorRun `json:"validators"`
	Disk       *Disk          `json:"disk,omitempty"`
}

// Repo is what the checks share: paths, the env and the loaded project.
type Repo struct {
	Dir     string
	EnvPath string // relative to Dir
	Env     map[string]string
	EnvFile *envfile.File
	Example *envfile.File
	Project *types.Project
	Decls   opsdecl.Decls // each service's x-ops

	compose    []byte              // compose.yaml, read once (nil: it cannot be read)
	composeDoc *yamlpos.Doc        // compose.yaml parsed for line lookups
	sources    []composeSource     // compose.yaml, then the files it includes
	svcSource  map[string]int      // service → the index in sources of the file defining it
	External   map[string][]string // x-external-services

	envBroken     bool                // the env file has lines compose-go cannot read
	dashboardVars map[string][]string // dashboard uid → its variables, read once
	amRendered    []renderedVariant   // rendered by checkAlertmanager, checked by amtool
	disk          []DiskItem          // the caps on disk, gathered by the checks that read them
	f             finding.List
}

func (r *Repo) path(rel string) string { return filepath.Join(r.Dir, rel) }

func (r *Repo) read(rel string) ([]byte, bool) {
	data, err := os.ReadFile(r.path(rel))
	if err != nil {
		r.unreadable(rel, err)
		return nil, false
	}
	return data, true
}

// unreadable is the finding of a file of the repository that cannot be read.
func (r *Repo) unreadable(rel string, err error) {
	r.f.Errorf("file", rel, "", "restore the file from git (git checkout -- "+rel+")", "cannot read: %v", err)
}

// Run checks the repository at dir and returns every finding, sorted. A
// validator that could not run is an error finding of check NotRunCheck.
func Run(ctx context.Context, dir string, opts Options) finding.List {
	return RunReport(ctx, dir, opts).Findings
}

// RunReport checks the repository at dir: the findings, sorted, and what
// every upstream validator did.
func RunReport(ctx context.Context, dir string, opts Options) Report {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	r := &Repo{Dir: dir}
	r.loadEnv(opts.EnvFile)
	r.loadCompose()
	r.checkCompose(ctx)
	if r.Project != nil {
		r.checkComposePolicy()
	}
	r.checkVariables()
	r.checkSecrets()
	r.checkPrometheus(ctx)
	r.checkAlertmanager()
	r.checkNginx()
	r.checkLanding()
	r.checkReadmes()
	r.checkGrafana()
	r.checkGrafanaProvisioning()
	r.checkSupersetAssets()
	r.checkLoki()
	r.checkAlloy()
	r.checkTerraform()
	r.checkImagesBuilt()
	disk := r.checkDisk()
	runs := r.runValidators(ctx, opts.Tools)
	r.f.Sort()
	return Report{Findings: r.f, Validators: runs, Disk: disk}
}

// service returns the compose service named name.
func (r *Repo) service(name string) (types.ServiceConfig, bool) {
	if r.Project == nil {
		return types.ServiceConfig{}, false
	}
	s, ok := r.Project.Services[name]
	return s, ok
}

// serviceByHost resolves a host name on hft_network to the service that
// answers to it (its name or a network alias).
func (r *Repo) serviceByHost(host string) (types.ServiceConfig, bool) {
	if r.Project == nil {
		return types.ServiceConfig{}, false
	}
	if s, ok := r.Project.Services[host]; ok {
		return s, true
	}
	for _, s := range r.Project.Services {
		for _, n := range s.Networks {
			if n == nil {
				continue
			}
			for _, a := range n.Aliases {
				if a == host {
					return s, true
				}
			}
		}
	}
	return types.ServiceConfig{}, false
}

// ports lists the ports a service listens on inside the network: its
// `expose` list and the container side of `ports`.
func ports(s types.ServiceConfig) []string {
	seen := map[string]bool{}
	for _, e := range s.Expose {
		seen[e] = true
	}
	for _, p := range s.Ports {
		seen[strconv.Itoa(int(p.Target))] = true
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
