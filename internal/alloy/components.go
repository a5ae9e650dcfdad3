package alloy

import (
	"sort"
	"strings"
)

// TableVersion is the Alloy release the table below was written against:
// the image compose.yaml pins (grafana/alloy:v1.20.1). A component the
// table does not know is reported as a warning naming this version, since
// a later release may have added it.
const TableVersion = "v1.20.1"

// componentSpec is what the checker knows about one block type that may
// appear at the top level of a config. The table is deliberately the subset
// of Alloy's reference that matters to this stack plus common neighbours; a
// component missing here is reported as unknown, which is the prompt to add
// it (with its required arguments and exports from the Alloy reference).
// Update TableVersion with the pinned image when the table is reviewed.
type componentSpec struct {
	// unlabelled marks configuration blocks (logging, livedebugging, ...)
	// that take no label; every other block needs exactly one.
	unlabelled bool
	// required lists arguments that must be set.
	required []string
	// blocks lists nested blocks that must appear at least once, with the
	// arguments each occurrence must set.
	blocks []requiredBlock
	// exports lists the fields other components may reference, e.g.
	// "receiver" in loki.write.default.receiver. Empty means none.
	exports []string
	// receiverLists maps attributes holding lists of receivers (dotted path
	// inside the body, e.g. "output.logs") to the export they must name.
	// forward_to is always such a list and needs no entry.
	receiverLists map[string]string
	// ruleBlocks are nested blocks (dotted path inside the body) that hold
	// Prometheus-style relabel rules.
	ruleBlocks []string
	// anyValue marks components whose exports hold whatever the user passed
	// in (a module's argument), so their type cannot be checked.
	anyValue bool
	// dockerHost marks components whose host argument is a Docker daemon
	// address, reported to the caller for cross-checking.
	dockerHost bool
	// args, when set, lists every argument (attribute) the component takes
	// in TableVersion's reference; another one is reported as a warning.
	// Set for the components alloy/config.alloy uses.
	args []string
	// blockArgs lists the arguments of nested blocks, by block name (e.g.
	// "stage.drop" in loki.process), checked the same way.
	blockArgs map[string][]string
}

// httpClientArgs are the arguments of Alloy's shared HTTP client settings,
// taken by components that call an HTTP endpoint.
var httpClientArgs = []string{"bearer_token", "bearer_token_file", "enable_http2", "follow_redirects", "http_headers",
	"no_proxy", "proxy_connect_header", "proxy_from_environment", "proxy_url"}

type requiredBlock struct {
	name     string
	required []string
	why      string // appended to the finding: why the block is required here
	example  string // a minimal block for the fix text
}

var (
	targetsExport  = []string{"targets"}
	receiverExport = []string{"receiver"}
	inputExport    = []string{"input"}
	otelOutput     = map[string]string{"output.logs": "input", "output.metrics": "input", "output.traces": "input"}
	outputBlock    = []requiredBlock{{name: "output", example: "output { logs = [otelcol.exporter.otlp.<label>.input] }"}}
)

var components = map[string]*componentSpec{
	// Configuration blocks.
	"logging": {unlabelled: true, receiverLists: map[string]string{"write_to": "receiver"},
		args: []string{"level", "format", "write_to"}},
	"livedebugging": {unlabelled: true},
	"tracing":       {unlabelled: true, receiverLists: map[string]string{"write_to": "input"}},
	"http":          {unlabelled: true},
	"remotecfg":     {unlabelled: true},

	// Modules. declare is handled by the checker itself (it opens a scope and
	// defines a custom component); it is listed so its name is known.
	"declare":       {},
	"argument":      {exports: []string{"value"}, anyValue: true},
	"export":        {required: []string{"value"}},
	"foreach":       {required: []string{"collection", "var"}},
	"import.file":   {required: []string{"filename"}},
	"import.git":    {required: []string{"repository", "path"}},
	"import.http":   {required: []string{"url"}},
	"import.string": {required: []string{"content"}},

	// Discovery.
	"discovery.docker": {required: []string{"host"}, exports: targetsExport, dockerHost: true,
		args: append([]string{"host", "port", "host_networking_host", "match_first_network", "refresh_interval"}, httpClientArgs...)},
	"discovery.dockerswarm": {required: []string{"host", "role"}, exports: targetsExport, dockerHost: true},
	"discovery.relabel": {required: []string{"targets"}, exports: []string{"output", "rules"}, ruleBlocks: []string{"rule"},
		args: []string{"targets"}},
	"discovery.file":       {required: []string{"files"}, exports: targetsExport},
	"discovery.http":       {required: []string{"url"}, exports: targetsExport},
	"discovery.dns":        {required: []string{"names"}, exports: targetsExport},
	"discovery.kubernetes": {required: []string{"role"}, exports: targetsExport},
	"discovery.consul":     {exports: targetsExport},
	"discovery.ec2":        {exports: targetsExport},
	"discovery.process":    {exports: targetsExport},
	"local.file_match":     {required: []string{"path_targets"}, exports: targetsExport},
	"local.file":           {required: []string{"filename"}, exports: []string{"content"}},
	"remote.http":          {required: []string{"url"}, exports: []string{"content"}},

	// Logs.
	"loki.source.docker": {required: []string{"host", "targets", "forward_to"}, dockerHost: true,
		args: []string{"host", "targets", "forward_to", "labels", "relabel_rules", "refresh_interval"}},
	"loki.source.file":       {required: []string{"targets", "forward_to"}},
	"loki.source.journal":    {required: []string{"forward_to"}},
	"loki.source.api":        {required: []string{"forward_to"}},
	"loki.source.syslog":     {required: []string{"forward_to"}},
	"loki.source.kubernetes": {required: []string{"targets", "forward_to"}},
	"loki.source.kafka":      {required: []string{"brokers", "topics", "forward_to"}},
	"loki.process": {required: []string{"forward_to"}, exports: receiverExport,
		args: []string{"forward_to"},
		blockArgs: map[string][]string{
			"stage.drop": {"drop_counter_reason", "expression", "longer_than", "older_than", "separator", "source", "value"},
		}},
	"loki.relabel": {required: []string{"forward_to"}, exports: []string{"receiver", "rules"}, ruleBlocks: []string{"rule"}},
	"loki.echo":    {exports: receiverExport},
	"loki.write": {exports: receiverExport, args: []string{"external_labels", "max_streams"}, blocks: []requiredBlock{{
		name: "endpoint", required: []string{"url"},
		why:     "; without one every log line it receives is dropped",
		example: `endpoint { url = "http://loki:3100/loki/api/v1/push" }`,
	}}},

	// Metrics.
	"prometheus.scrape":       {required: []string{"targets", "forward_to"}},
	"prometheus.relabel":      {required: []string{"forward_to"}, exports: []string{"receiver", "rules"}, ruleBlocks: []string{"rule"}},
	"prometheus.receive_http": {required: []string{"forward_to"}},
	"prometheus.remote_write": {exports: receiverExport, ruleBlocks: []string{"endpoint.write_relabel_config"}, blocks: []requiredBlock{{
		name: "endpoint", required: []string{"url"},
		why:     "; without one every sample it receives is dropped",
		example: `endpoint { url = "http://prometheus:9090/api/v1/write" }`,
	}}},
	"prometheus.exporter.self":      {exports: targetsExport},
	"prometheus.exporter.unix":      {exports: targetsExport},
	"prometheus.exporter.cadvisor":  {exports: targetsExport},
	"prometheus.exporter.process":   {exports: targetsExport},
	"prometheus.exporter.blackbox":  {exports: targetsExport},
	"prometheus.exporter.windows":   {exports: targetsExport},
	"prometheus.exporter.redis":     {required: []string{"redis_addr"}, exports: targetsExport},
	"prometheus.exporter.postgres":  {required: []string{"data_source_names"}, exports: targetsExport},
	"prometheus.exporter.mysql":     {required: []string{"data_source_name"}, exports: targetsExport},
	"prometheus.exporter.memcached": {exports: targetsExport},

	// OpenTelemetry.
	"otelcol.receiver.otlp":       {blocks: outputBlock, receiverLists: otelOutput},
	"otelcol.receiver.loki":       {blocks: outputBlock, receiverLists: otelOutput, exports: receiverExport},
	"otelcol.receiver.prometheus": {blocks: outputBlock, receiverLists: otelOutput, exports: receiverExport},
	"otelcol.processor.batch":     {blocks: outputBlock, receiverLists: otelOutput, exports: inputExport},
	"otelcol.exporter.otlp":       {exports: inputExport, blocks: []requiredBlock{{name: "client", required: []string{"endpoint"}, example: `client { endpoint = "tempo:4317" }`}}},
	"otelcol.exporter.otlphttp":   {exports: inputExport, blocks: []requiredBlock{{name: "client", required: []string{"endpoint"}, example: `client { endpoint = "http://tempo:4318" }`}}},
	"otelcol.exporter.loki":       {required: []string{"forward_to"}, exports: inputExport},
	"otelcol.exporter.prometheus": {required: []string{"forward_to"}, exports: inputExport},

	// Profiles.
	"pyroscope.scrape": {required: []string{"targets", "forward_to"}},
	"pyroscope.write": {exports: receiverExport, blocks: []requiredBlock{{
		name: "endpoint", required: []string{"url"}, example: `endpoint { url = "http://pyroscope:4040" }`,
	}}},
}

// maxComponentFragments is the longest component name in fragments, so a
// reference is matched against the table by trying its longest prefix first.
var maxComponentFragments = func() int {
	n := 0
	for name := range components {
		n = max(n, strings.Count(name, ".")+1)
	}
	return n
}()

// componentNames lists the table in sorted order, for messages.
func componentNames() []string {
	names := make([]string, 0, len(components))
	for n := range components {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// docsURL is the reference page of a block type, for fix texts.
// Configuration and module blocks live under config-blocks/, components
// under components/<namespace>/.
func docsURL(name string) string {
	ns, _, dotted := strings.Cut(name, ".")
	if !dotted || ns == "import" {
		return "https://grafana.com/docs/alloy/latest/reference/config-blocks/" + name + "/"
	}
	return "https://grafana.com/docs/alloy/latest/reference/components/" + ns + "/" + name + "/"
}

// closestName suggests the known name nearest to a misspelt one, or "" when
// nothing is near enough to be a plausible typo. A candidate that extends
// the name (target -> target_label) also counts as near.
func closestName(name string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(name, c)
		near := d <= max(len(name), len(c))/3+1 || (len(name) >= 3 && strings.HasPrefix(c, name))
		if near && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance; inputs are short names, so the
// quadratic cost does not matter. Names longer than 64 bytes are compared
// by length only, which keeps fuzzed inputs cheap.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
