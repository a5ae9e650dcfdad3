package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
)

// Usage is one container's memory and CPU against its limit.
type Usage struct {
	Service    string  `json:"service"`
	MemBytes   float64 `json:"mem_bytes"`
	LimitBytes float64 `json:"limit_bytes"` // 0: no limit
	CPUPercent float64 `json:"cpu_percent"` // of one core
	OOMKilled  bool    `json:"oom_killed"`
}

// Usage samples the running containers of the stack once (docker stats).
func (r *Runner) Usage(ctx context.Context) ([]Usage, error) {
	names, err := r.runningNames(ctx)
	if err != nil {
		return nil, err
	}
	return r.ContainerUsage(ctx, names)
}

// ContainerUsage samples the named containers (name or id → the service
// to report it as) once.
func (r *Runner) ContainerUsage(ctx context.Context, names map[string]string) ([]Usage, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var ids []string
	for n := range names {
		ids = append(ids, n)
	}
	sort.Strings(ids)
	byName := map[string]*Usage{}
	// docker inspect answers in the order asked; docker stats by name.
	out, err := r.docker(ctx, append([]string{"inspect", "--format", "{{.Name}} {{.HostConfig.Memory}} {{.State.OOMKilled}}"}, ids...)...)
	if err != nil {
		return nil, err
	}
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || i >= len(ids) {
			return nil, fmt.Errorf("docker inspect: unexpected line %q", line)
		}
		limit, _ := strconv.ParseFloat(f[1], 64)
		byName[strings.TrimPrefix(f[0], "/")] = &Usage{Service: names[ids[i]], LimitBytes: limit, OOMKilled: f[2] == "true"}
	}
	out, err = r.docker(ctx, append([]string{"stats", "--no-stream", "--format", "{{json .}}"}, ids...)...)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var st struct{ Name, MemUsage, CPUPerc string }
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			return nil, fmt.Errorf("docker stats: %v: %q", err, line)
		}
		u := byName[st.Name]
		if u == nil {
			continue
		}
		// docker stats prints sizes with go-units' BytesSize (binary
		// units, "12.5MiB"); RAMInBytes reads them back.
		used, _, _ := strings.Cut(st.MemUsage, "/")
		mem, err := units.RAMInBytes(strings.TrimSpace(used))
		if err != nil {
			return nil, fmt.Errorf("docker stats of %s: %v", u.Service, err)
		}
		u.MemBytes = float64(mem)
		u.CPUPercent, _ = strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(st.CPUPerc), "%"), 64)
	}
	var res []Usage
	for _, u := range byName {
		res = append(res, *u)
	}
	sort.Slice(res, func(i, j int) bool { return res[i].Service < res[j].Service })
	return res, nil
}
