package alloy

import (
	"os"
	"strings"
	"testing"

	"github.com/okx-hft/okx-hft-ops/internal/finding"
)

// baseConfig is a small valid pipeline; each defect case below changes one
// thing in it, so the line numbers in the expectations refer to this text.
const baseConfig = `logging {
  level = "info"
}

discovery.docker "containers" {
  host = "unix:///var/run/docker.sock"
}

discovery.relabel "containers" {
  targets = discovery.docker.containers.targets

  rule {
    source_labels = ["__meta_docker_container_name"]
    regex         = "/(.*)"
    target_label  = "container"
  }
}

loki.source.docker "containers" {
  host       = "unix:///var/run/docker.sock"
  targets    = discovery.relabel.containers.output
  forward_to = [loki.write.default.receiver]
}

loki.write "default" {
  endpoint {
    url = "http://loki:3100/loki/api/v1/push"
  }
}

prometheus.exporter.self "alloy" {}
`

// defect is one broken config and the single finding it must produce.
type defect struct {
	name     string
	old, new string // replacement applied to baseConfig
	pos      string // "line:col"
	message  string // exact
	fix      string // substring of the fix
	warning  bool   // the finding is a warning, not an error
}

var defects = []defect{
	{
		name: "syntax error: list element without comma before line break",
		old:  `source_labels = ["__meta_docker_container_name"]`,
		new:  "source_labels = [\n      \"__meta_docker_container_name\"\n    ]",
		pos:  "14:37", message: "syntax error: missing ',' before line break in list",
		fix: "trailing comma",
	},
	{
		name: "syntax error: unterminated string",
		old:  `url = "http://loki:3100/loki/api/v1/push"`, new: `url = "http://loki:3100/loki/api/v1/push`,
		pos: "27:11", message: "syntax error: string literal not terminated",
		fix: "close the string",
	},
	{
		name: "syntax error: unclosed block",
		old:  "prometheus.exporter.self \"alloy\" {}\n", new: "prometheus.exporter.self \"alloy\" {\n",
		pos: "32:1", message: `syntax error: block prometheus.exporter.self "alloy" opened at 31:34 is not closed: got end of file`,
		fix: "close the block",
	},
	{
		name: "unknown component",
		old:  `loki.source.docker "containers" {`, new: `loki.source.dockr "containers" {`,
		pos: "19:1", message: "unknown component loki.source.dockr: not in the component table written for Alloy " + TableVersion,
		fix: "did you mean loki.source.docker?", warning: true,
	},
	{
		name: "unknown config block",
		old:  "logging {", new: "loging {",
		pos: "1:1", message: "unknown block loging: not in the component table written for Alloy " + TableVersion,
		fix: "did you mean logging?", warning: true,
	},
	{
		// A component of a later Alloy release: valid, so only a warning,
		// and what references it is not reported as dangling.
		name: "component newer than the table",
		old:  "prometheus.exporter.self \"alloy\" {}\n", new: "prometheus.exporter.self \"alloy\" {}\n\nloki.enrich \"hosts\" {\n  forward_to = [loki.write.default.receiver]\n}\n",
		pos: "33:1", message: "unknown component loki.enrich: not in the component table written for Alloy " + TableVersion,
		fix: "internal/alloy/components.go", warning: true,
	},
	{
		name: "argument the reference does not list",
		old:  "  forward_to = [loki.write.default.receiver]\n}", new: "  forward_to = [loki.write.default.receiver]\n  refresh_intervall = \"10s\"\n}",
		pos: "23:3", message: `loki.source.docker "containers" has no argument refresh_intervall in the Alloy ` + TableVersion + " reference",
		fix: "did you mean refresh_interval?", warning: true,
	},
	{
		name: "missing required argument forward_to",
		old:  "  forward_to = [loki.write.default.receiver]\n", new: "",
		pos: "19:1", message: `loki.source.docker "containers" is missing required argument "forward_to"`,
		fix: "set forward_to",
	},
	{
		name: "missing required argument host",
		old:  `host = "unix:///var/run/docker.sock"` + "\n}\n\ndiscovery.relabel", new: `refresh_interval = "15s"` + "\n}\n\ndiscovery.relabel",
		pos: "5:1", message: `discovery.docker "containers" is missing required argument "host"`,
		fix: "set host",
	},
	{
		name: "missing required argument targets",
		old:  "  targets = discovery.docker.containers.targets\n", new: "",
		pos: "9:1", message: `discovery.relabel "containers" is missing required argument "targets"`,
		fix: "set targets",
	},
	{
		name: "loki.write endpoint without url",
		old:  `url = "http://loki:3100/loki/api/v1/push"`, new: `tenant_id = "ops"`,
		pos: "26:3", message: `endpoint block of loki.write "default" is missing required argument "url"`,
		fix: "set url",
	},
	{
		name: "loki.write without endpoint",
		old:  "  endpoint {\n    url = \"http://loki:3100/loki/api/v1/push\"\n  }\n", new: "  max_streams = 10\n",
		pos: "25:1", message: `loki.write "default" has no endpoint block; without one every log line it receives is dropped`,
		fix: "add endpoint {",
	},
	{
		name: "reference to undefined instance",
		old:  "[loki.write.default.receiver]", new: "[loki.write.dflt.receiver]",
		pos: "22:17", message: `reference loki.write.dflt.receiver: no loki.write "dflt" is defined`,
		fix: "did you mean loki.write.default.receiver? defined loki.write instances: default",
	},
	{
		name: "reference to missing export",
		old:  "discovery.relabel.containers.output", new: "discovery.relabel.containers.targets",
		pos: "21:16", message: `reference discovery.relabel.containers.targets: discovery.relabel has no export "targets"`,
		fix: "exports of discovery.relabel: output, rules",
	},
	{
		name: "reference without export",
		old:  "targets = discovery.docker.containers.targets", new: "targets = discovery.docker.containers",
		pos: "10:13", message: "reference discovery.docker.containers names no export of discovery.docker",
		fix: "use discovery.docker.containers.targets",
	},
	{
		name: "reference without label",
		old:  "targets = discovery.docker.containers.targets", new: "targets = discovery.docker",
		pos: "10:13", message: "reference discovery.docker names component discovery.docker but no instance label",
		fix: "discovery.docker.<label>.targets",
	},
	{
		name: "duplicate component label",
		old:  "prometheus.exporter.self \"alloy\" {}\n", new: "prometheus.exporter.self \"alloy\" {}\n\nloki.write \"default\" {\n  endpoint {\n    url = \"http://loki:3100/x\"\n  }\n}\n",
		pos: "33:1", message: `duplicate loki.write "default": already defined at 25:1`,
		fix: "unique label",
	},
	{
		name: "duplicate config block",
		old:  "prometheus.exporter.self \"alloy\" {}\n", new: "prometheus.exporter.self \"alloy\" {}\nlogging {}\n",
		pos: "32:1", message: "duplicate logging: already defined at 1:1",
		fix: "merge the two logging blocks",
	},
	{
		name: "component without label",
		old:  `prometheus.exporter.self "alloy" {}`, new: `prometheus.exporter.self {}`,
		pos: "31:1", message: "prometheus.exporter.self needs a label to name the instance",
		fix: `prometheus.exporter.self "default"`,
	},
	{
		name: "component with empty label",
		old:  `prometheus.exporter.self "alloy" {}`, new: `prometheus.exporter.self "" {}`,
		pos: "31:26", message: "prometheus.exporter.self needs a label to name the instance",
		fix: `prometheus.exporter.self "default"`,
	},
	{
		name: "config block with label",
		old:  "logging {", new: `logging "main" {`,
		pos: "1:9", message: "logging block takes no label",
		fix: "without a label",
	},
	{
		name: "regex does not compile",
		old:  `regex         = "/(.*)"`, new: `regex         = "/(.*"`,
		pos: "14:21", message: `regex of rule block of discovery.relabel "containers" does not compile: missing closing ): ` + "`/(.*`",
		fix: "RE2",
	},
	{
		name: "unknown relabel action",
		old:  `target_label  = "container"`, new: `target_label  = "container"` + "\n    action        = \"repalce\"",
		pos: "16:21", message: `action "repalce" of rule block of discovery.relabel "containers" is not a relabel action`,
		fix: `did you mean "replace"?`,
	},
	{
		name: "relabel action in wrong case",
		old:  `target_label  = "container"`, new: `target_label  = "container"` + "\n    action        = \"Replace\"",
		pos: "16:21", message: `action "Replace" of rule block of discovery.relabel "containers" is not a relabel action`,
		fix: `write it in lower case: "replace"`,
	},
	{
		name: "replace rule without target_label",
		old:  "    target_label  = \"container\"\n", new: "",
		pos: "12:3", message: `rule block of discovery.relabel "containers" with action "replace" needs target_label`,
		fix: `the default is "replace"`,
	},
	{
		name: "hashmod rule without modulus",
		old:  `target_label  = "container"`, new: `target_label  = "container"` + "\n    action        = \"hashmod\"",
		pos: "12:3", message: `rule block of discovery.relabel "containers" with action "hashmod" needs a non-zero modulus`,
		fix: "modulus = 4",
	},
	{
		name: "labeldrop rule with extra fields",
		old:  `target_label  = "container"`, new: `action        = "labeldrop"`,
		pos: "12:3", message: `rule block of discovery.relabel "containers" with action "labeldrop" takes only regex, but sets source_labels`,
		fix: "remove source_labels",
	},
	{
		name: "unknown rule argument",
		old:  `target_label  = "container"`, new: `target_label  = "container"` + "\n    target        = \"x\"",
		pos: "16:5", message: `rule block of discovery.relabel "containers" has unknown argument target`,
		fix: "did you mean target_label?",
	},
	{
		name: "source_labels as a string",
		old:  `source_labels = ["__meta_docker_container_name"]`, new: `source_labels = "__meta_docker_container_name"`,
		pos: "13:21", message: `source_labels of rule block of discovery.relabel "containers" must be a list of label names, got string "__meta_docker_container_name"`,
		fix: `source_labels = ["__meta_docker_container_name"]`,
	},
	{
		name: "forward_to not a list",
		old:  "forward_to = [loki.write.default.receiver]", new: "forward_to = loki.write.default.receiver",
		pos: "22:16", message: "forward_to must be a list of component references, got reference loki.write.default.receiver",
		fix: "forward_to = [loki.write.<label>.receiver]",
	},
	{
		name: "forward_to element quoted",
		old:  "forward_to = [loki.write.default.receiver]", new: `forward_to = ["loki.write.default.receiver"]`,
		pos: "22:17", message: `forward_to[0] must be a component reference, got string "loki.write.default.receiver"`,
		fix: "without quotes",
	},
	{
		name: "forward_to element is not a receiver",
		old:  "forward_to = [loki.write.default.receiver]", new: "forward_to = [discovery.relabel.containers.output]",
		pos: "22:17", message: "forward_to[0] references discovery.relabel.containers.output, which is not a receiver",
		fix: "forward_to takes .receiver exports",
	},
	{
		name: "attribute set twice",
		old:  `  host       = "unix:///var/run/docker.sock"` + "\n", new: `  host       = "unix:///var/run/docker.sock"` + "\n" + `  host       = "tcp://proxy:2375"` + "\n",
		pos: "21:3", message: `attribute host of loki.source.docker "containers" is set twice (first at 20:3)`,
		fix: "keep one",
	},
	{
		name: "attribute at top level",
		old:  "logging {", new: "level = \"debug\"\nlogging {",
		pos: "1:1", message: "attribute level is not allowed here: a config body holds only blocks",
		fix: "move the attribute",
	},
}

func (d defect) source(t testing.TB) string {
	if strings.Count(baseConfig, d.old) != 1 {
		t.Fatalf("case %q: %q must occur exactly once in baseConfig", d.name, d.old)
	}
	return strings.Replace(baseConfig, d.old, d.new, 1)
}

func TestCheckValidConfigs(t *testing.T) {
	pipeline, err := os.ReadFile("testdata/pipeline.alloy")
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{
		"base config":   baseConfig,
		"full pipeline": string(pipeline),
		"module":        moduleConfig,
		"telemetry":     telemetryConfig,
	} {
		t.Run(name, func(t *testing.T) {
			if got, _ := Check("config.alloy", []byte(src)); len(got) != 0 {
				t.Errorf("want no findings, got:\n%s", render(got))
			}
		})
	}
}

func TestCheckDefects(t *testing.T) {
	for _, d := range defects {
		t.Run(d.name, func(t *testing.T) {
			got, _ := Check("alloy/config.alloy", []byte(d.source(t)))
			if len(got) != 1 {
				t.Fatalf("want exactly 1 finding, got %d:\n%s", len(got), render(got))
			}
			f := got[0]
			want := finding.Error
			if d.warning {
				want = finding.Warning
			}
			if f.Check != CheckName || f.File != "alloy/config.alloy" || f.Severity != want {
				t.Errorf("finding metadata = %q %q %q", f.Check, f.File, f.Severity)
			}
			if f.Position != d.pos {
				t.Errorf("position = %s, want %s", f.Position, d.pos)
			}
			if f.Message != d.message {
				t.Errorf("message =\n  %s\nwant\n  %s", f.Message, d.message)
			}
			if !strings.Contains(f.Fix, d.fix) {
				t.Errorf("fix %q does not contain %q", f.Fix, d.fix)
			}
		})
	}
}

// moduleConfig exercises declare, argument, export and custom components:
// references resolve inside the declare scope and to the custom component's
// exports from outside.
const moduleConfig = `declare "log_shipper" {
  argument "write_to" {
    optional = false
  }

  loki.relabel "tag" {
    forward_to = argument.write_to.value

    rule {
      action       = "replace"
      target_label = "shipper"
      replacement  = "ops"
    }
  }

  export "receiver" {
    value = loki.relabel.tag.receiver
  }
}

log_shipper "default" {
  write_to = [loki.write.default.receiver]
}

loki.source.journal "host" {
  forward_to = [log_shipper.default.receiver]
}

loki.write "default" {
  endpoint {
    url = "https://logs.example.net/loki/api/v1/push"
  }
}
`

// telemetryConfig covers the other block families the table knows:
// tracing, OpenTelemetry output lists, imported modules and foreach.
const telemetryConfig = `tracing {
  sampling_fraction = 0.1
  write_to          = [otelcol.exporter.otlp.tempo.input]
}

http {
  tls {
    cert_file = "/etc/alloy/tls.crt"
  }
}

otelcol.receiver.otlp "default" {
  grpc {}

  output {
    traces = [otelcol.processor.batch.default.input]
  }
}

otelcol.processor.batch "default" {
  output {
    traces = [otelcol.exporter.otlp.tempo.input]
  }
}

otelcol.exporter.otlp "tempo" {
  client {
    endpoint = "tempo:4317"
  }
}

import.file "shared" {
  filename = "/etc/alloy/modules/shared.alloy"
}

shared.noise_filter "default" {
  forward_to = [prometheus.relabel.drop_go.receiver]
}

prometheus.relabel "drop_go" {
  forward_to = [prometheus.remote_write.default.receiver]

  rule {
    source_labels = ["__name__"]
    regex         = "go_(gc|memstats)_.+"
    action        = "drop"
  }

  rule {
    source_labels = ["instance"]
    target_label  = "shard"
    modulus       = 4
    action        = "hashmod"
  }

  rule {
    regex  = "tmp_.*"
    action = "labeldrop"
  }
}

prometheus.remote_write "default" {
  endpoint {
    url = sys.env("PROMETHEUS_URL")
  }
}

foreach "exporters" {
  collection = ["redis-a:6379", "redis-b:6379"]
  var        = "addr"

  template {
    prometheus.exporter.redis "each" {
      redis_addr = addr
    }
  }
}
`

func TestCheckModuleReferences(t *testing.T) {
	src := strings.Replace(moduleConfig, "log_shipper.default.receiver", "log_shipper.default.output", 1)
	got, _ := Check("m.alloy", []byte(src))
	if len(got) != 1 {
		t.Fatalf("want 1 finding, got:\n%s", render(got))
	}
	want := `reference log_shipper.default.output: log_shipper has no export "output"`
	if got[0].Message != want || got[0].Position != "26:17" {
		t.Errorf("got %s %q, want 26:17 %q", got[0].Position, got[0].Message, want)
	}

	src = strings.Replace(moduleConfig, "argument.write_to.value", "argument.sink.value", 1)
	got, _ = Check("m.alloy", []byte(src))
	if len(got) != 1 || got[0].Message != `reference argument.sink.value: no argument "sink" is defined` || got[0].Position != "7:18" {
		t.Errorf("undefined argument: got\n%s", render(got))
	}
}

func TestCheckURLs(t *testing.T) {
	src, err := os.ReadFile("testdata/pipeline.alloy")
	if err != nil {
		t.Fatal(err)
	}
	_, urls := Check("config.alloy", src)
	want := []struct {
		pos, value, component, attribute, host string
		docker                                 bool
	}{
		{"16:22", "tcp://docker-socket-proxy:2375", `discovery.docker "containers"`, "host", "docker-socket-proxy", true},
		{"52:19", "tcp://docker-socket-proxy:2375", `loki.source.docker "containers"`, "host", "docker-socket-proxy", true},
		{"72:17", "http://loki:3100/loki/api/v1/push", `loki.write "default"`, "endpoint.url", "loki", false},
		{"90:11", "http://prometheus:9090/api/v1/write", `prometheus.remote_write "default"`, "endpoint.url", "prometheus", false},
	}
	if len(urls) != len(want) {
		t.Fatalf("got %d URLs, want %d: %+v", len(urls), len(want), urls)
	}
	for i, w := range want {
		u := urls[i]
		if u.Pos.String() != w.pos || u.Value != w.value || u.Component != w.component || u.Attribute != w.attribute || u.Host() != w.host || u.DockerHost != w.docker {
			t.Errorf("URL %d = %+v (host %q), want %+v", i, u, u.Host(), w)
		}
	}
}

func TestCheckURLsInsideExpressions(t *testing.T) {
	src := `remote.http "cfg" {
  url = coalesce(sys.env("CFG_URL"), "HTTPS://config.internal:8443/alloy")
}

loki.source.docker "x" {
  host       = "unix:///var/run/docker.sock"
  targets    = []
  forward_to = []
  labels     = { "source" = "http://not-a-host-check" }
}
`
	fs, urls := Check("u.alloy", []byte(src))
	if len(fs) != 0 {
		t.Fatalf("unexpected findings:\n%s", render(fs))
	}
	if len(urls) != 3 {
		t.Fatalf("got %+v", urls)
	}
	if urls[0].Host() != "config.internal" || urls[0].Pos.String() != "2:38" || urls[0].Attribute != "url" {
		t.Errorf("call argument URL = %+v", urls[0])
	}
	if !urls[1].DockerHost || urls[1].Host() != "" || urls[1].Value != "unix:///var/run/docker.sock" {
		t.Errorf("docker host = %+v", urls[1])
	}
	if urls[2].Attribute != "labels.source" || urls[2].Host() != "not-a-host-check" {
		t.Errorf("object field URL = %+v", urls[2])
	}
}

func render(l finding.List) string {
	var b strings.Builder
	for _, f := range l {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

func TestCheckStageDropArguments(t *testing.T) {
	src := `loki.process "recent" {
  forward_to = [loki.write.default.receiver]

  stage.drop {
    older_then = "24h"
  }
}

loki.write "default" {
  endpoint {
    url = "http://loki:3100/loki/api/v1/push"
  }
}
`
	got, _ := Check("a.alloy", []byte(src))
	if len(got) != 1 || got[0].Severity != finding.Warning || got[0].Position != "5:5" ||
		got[0].Message != "stage.drop block of loki.process \"recent\" has no argument older_then in the Alloy "+TableVersion+" reference" ||
		!strings.Contains(got[0].Fix, "did you mean older_than?") {
		t.Errorf("got:\n%s", render(got))
	}
	if got, _ := Check("a.alloy", []byte(strings.Replace(src, "older_then", "older_than", 1))); len(got) != 0 {
		t.Errorf("older_than is an argument of stage.drop; got:\n%s", render(got))
	}
}
