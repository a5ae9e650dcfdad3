package check

import (
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	units "github.com/docker/go-units"
	"gopkg.in/yaml.v3"
)

const budgetKey = "OPS_MEMORY_BUDGET"

// budgetFix is how a service's budget is written in compose.yaml.
const budgetFix = "add `deploy: {resources: {limits: {memory: 128M, cpus: \"0.5\"}, reservations: {memory: 32M}}}` with a `# budget:` comment above it saying why that much (measured, or the upstream's figure)"

// checkBudgets requires every long-running service to have a memory limit,
// a memory reservation and a CPU limit, each with its reason in a
// `# budget:` comment, and the limits of the services `up` starts by
// default (the demo profile aside) to fit OPS_MEMORY_BUDGET of .env.
func (r *Repo) checkBudgets() {
	var sum int64
	var counted []string
	for _, name := range r.Project.ServiceNames() {
		s := r.Project.Services[name]
		if s.Restart == "no" {
			continue // one-shot: runs before the services it gates
		}
		base := "services." + name
		src := r.src(name)
		at, composeFile := src.at, src.rel
		res := types.Resources{}
		if s.Deploy != nil {
			res = s.Deploy.Resources
		}
		var missing []string
		if res.Limits == nil || res.Limits.MemoryBytes == 0 {
			missing = append(missing, "limits.memory")
		}
		if res.Limits == nil || res.Limits.NanoCPUs == 0 {
			missing = append(missing, "limits.cpus")
		}
		if res.Reservations == nil || res.Reservations.MemoryBytes == 0 {
			missing = append(missing, "reservations.memory")
		}
		if len(missing) > 0 {
			r.f.Errorf("compose-budget", composeFile, at(base), budgetFix, "service %s runs without deploy.resources.%s: it can take the host's memory or CPU from the others", name, strings.Join(missing, ", deploy.resources."))
			continue
		}
		if res.Reservations.MemoryBytes > res.Limits.MemoryBytes {
			r.f.Errorf("compose-budget", composeFile, at(base+".deploy"), "reserve at most the limit", "service %s reserves %s but is limited to %s", name, units.BytesSize(float64(res.Reservations.MemoryBytes)), units.BytesSize(float64(res.Limits.MemoryBytes)))
		}
		if k := ownKey(src.doc.Root(), name, "deploy"); k != nil && !strings.Contains(k.HeadComment, "budget:") {
			r.f.Errorf("compose-budget", composeFile, fmt.Sprint(k.Line), "write `# budget: <why this much>` on the line above deploy:", "service %s has a budget without its reason", name)
		}
		if len(s.Profiles) == 0 {
			sum += int64(res.Limits.MemoryBytes)
			counted = append(counted, name)
		}
	}
	budget, raw, line, ok := r.envSize("compose-budget", budgetKey,
		"run opsctl init (it adds "+budgetKey+"=3G, a 4 GB server, from .env.example), or set the memory this host gives the node",
		"the sum of the services' memory limits cannot be checked",
		"write a size such as 3G, 3072M or 4GiB", "a memory size")
	if !ok {
		return
	}
	if sum > budget {
		r.f.Errorf("compose-budget", r.EnvPath, line, fmt.Sprintf("lower the limits in compose.yaml, or raise %s if this host has the memory", budgetKey), "the memory limits of the %d services `up` starts sum to %s, over %s=%s", len(counted), units.BytesSize(float64(sum)), budgetKey, raw)
	}
}

// envSize reads a size from the env file (OPS_MEMORY_BUDGET,
// OPS_DISK_BUDGET), as Docker reads sizes (go-units RAMInBytes), with the
// key's line there. Missing, empty or not a positive size, it is an error
// finding of check (saying what cannot be checked without it, or what
// kind of size it must be), and ok is false.
func (r *Repo) envSize(check, key, missingFix, missingWhy, badFix, kind string) (size int64, raw, line string, ok bool) {
	raw, set := r.Env[key]
	if r.EnvFile != nil {
		line = fmt.Sprint(r.EnvFile.LineOf(key))
	}
	if !set || raw == "" {
		r.f.Errorf(check, r.EnvPath, line, missingFix, "%s is not set: %s", key, missingWhy)
		return 0, raw, line, false
	}
	size, err := units.RAMInBytes(raw)
	if err != nil || size <= 0 {
		r.f.Errorf(check, r.EnvPath, line, badFix, "%s=%q is not %s", key, raw, kind)
		return 0, raw, line, false
	}
	return size, raw, line, true
}

// ownKey is the key node of key in service name's own mapping (not one
// merged from an anchor), or nil.
func ownKey(root *yaml.Node, name, key string) *yaml.Node {
	n := root
	for _, k := range []string{"services", name} {
		n = mappingValue(n, k)
		if n == nil {
			return nil
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}
