// Package dashboards holds the Grafana dashboards of the stack as Go code
// (built with the Grafana Foundation SDK), renders them to the JSON files
// that Grafana provisions from grafana/dashboards/, and checks such files
// offline.
//
// To add a dashboard: write a func() (dashboard.Dashboard, error) in its own
// file of this package, append it to registered, and run
// `go run ./cmd/dashgen`.
package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Datasource UIDs and plugin types, as provisioned in Grafana. Dashboards
// reference datasources by these UIDs only, never by name.
const (
	PrometheusUID   = "prometheus"
	LokiUID         = "loki"
	AlertmanagerUID = "alertmanager"

	PrometheusType   = "prometheus"
	LokiType         = "loki"
	AlertmanagerType = "alertmanager"
)

// ProvisionedDatasources maps each provisioned datasource UID to its plugin
// type: the allowedUIDs argument of CheckFile and CheckDir for this stack.
func ProvisionedDatasources() map[string]string {
	return map[string]string{
		PrometheusUID:   PrometheusType,
		LokiUID:         LokiType,
		AlertmanagerUID: AlertmanagerType,
	}
}

// readOnlyNote ends every dashboard's description. The dashboards are
// provisioned read-only ("editable": false) by a provider with
// allowUiUpdates: false: a change made in Grafana's UI could not be saved
// and would be overwritten by the next provisioning anyway. CheckEditable
// refuses an editable dashboard under such a provider.
const readOnlyNote = "Generated from code and read-only: to change it, edit internal/dashboards and run make dashboards."

// DefaultDir is where the generated JSON lives, relative to the repository
// root; Grafana's dashboard provider reads it.
const DefaultDir = "grafana/dashboards"

// Builder builds one dashboard.
type Builder func() (dashboard.Dashboard, error)

// registered lists every dashboard, in the order they are generated.
var registered = []Builder{
	OpsNode,
	TradingOverview,
	Collector,
	Executor,
	TimescaleDB,
	Host,
	Logs,
}

// All builds every registered dashboard. It fails when one cannot be built,
// has no uid, or shares its uid with another.
func All() ([]dashboard.Dashboard, error) {
	out := make([]dashboard.Dashboard, 0, len(registered))
	seen := map[string]int{}
	for i, build := range registered {
		d, err := build()
		if err != nil {
			return nil, fmt.Errorf("dashboard %d: %w", i, err)
		}
		if d.Uid == nil || *d.Uid == "" {
			return nil, fmt.Errorf("dashboard %d (%s) has no uid", i, deref(d.Title))
		}
		if j, dup := seen[*d.Uid]; dup {
			return nil, fmt.Errorf("dashboards %d and %d share uid %q", j, i, *d.Uid)
		}
		seen[*d.Uid] = i
		out = append(out, d)
	}
	return out, nil
}

// Render encodes a dashboard as the file Grafana provisions: indented JSON
// with a trailing newline, byte-for-byte stable for the same dashboard.
func Render(d dashboard.Dashboard) ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(unescapeHTML(b), '\n'), nil
}

// unescapeHTML undoes encoding/json's \u003c, \u003e and \u0026 escapes so
// that PromQL and LogQL comparisons read as written (Grafana's own exports
// do not escape them). The SDK's nested MarshalJSON methods escape them
// whatever the encoder is told, hence a pass over the output.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) {
			switch string(b[i+2 : i+6]) {
			case "003c":
				out = append(out, '<')
				i += 5
				continue
			case "003e":
				out = append(out, '>')
				i += 5
				continue
			case "0026":
				out = append(out, '&')
				i += 5
				continue
			}
		}
		// Any other escape: copy it whole, so an escaped backslash is
		// never read as the start of another escape.
		out = append(out, b[i], b[i+1])
		i++
	}
	return out
}

// FileName is the name of a dashboard's file: <uid>.json.
func FileName(uid string) string { return uid + ".json" }

// Generate renders every registered dashboard, keyed by file name.
func Generate() (map[string][]byte, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte, len(all))
	for _, d := range all {
		b, err := Render(d)
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", *d.Uid, err)
		}
		files[FileName(*d.Uid)] = b
	}
	return files, nil
}

// Write renders every registered dashboard into dir, creating it if needed,
// and returns the names of the files whose content changed.
func Write(dir string) ([]string, error) {
	files, err := Generate()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var changed []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, files[name]) {
			continue
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return changed, err
		}
		changed = append(changed, name)
	}
	return changed, nil
}

// StaleFile is a file in the dashboards folder that does not match what the
// code generates.
type StaleFile struct {
	Name   string // file name inside the folder
	Reason string // "differs", "missing" or "not generated"
}

// Problem says in words what is wrong with the file.
func (s StaleFile) Problem() string {
	switch s.Reason {
	case "missing":
		return "missing (the code generates it)"
	case "not generated":
		return "not generated by any dashboard in internal/dashboards (delete it, or add its dashboard as code)"
	default:
		return "differs from what internal/dashboards generates"
	}
}

func (s StaleFile) String() string { return s.Name + ": " + s.Problem() }

// Stale compares the *.json files of dir with the generated dashboards and
// lists every file that differs, is missing, or is not generated by code.
// An empty result means dir is up to date.
func Stale(dir string) ([]StaleFile, error) {
	files, err := Generate()
	if err != nil {
		return nil, err
	}
	var stale []StaleFile
	for _, name := range slices.Sorted(maps.Keys(files)) {
		got, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case errors.Is(err, os.ErrNotExist):
			stale = append(stale, StaleFile{Name: name, Reason: "missing"})
		case err != nil:
			return nil, err
		case !bytes.Equal(got, files[name]):
			stale = append(stale, StaleFile{Name: name, Reason: "differs"})
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		if _, ok := files[e.Name()]; !ok {
			stale = append(stale, StaleFile{Name: e.Name(), Reason: "not generated"})
		}
	}
	return stale, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
