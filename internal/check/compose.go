package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"

	"github.com/okx-hft/okx-hft-ops/internal/envfile"
	"github.com/okx-hft/okx-hft-ops/internal/secrets"
)

const (
	composeFile  = "compose.yaml"
	sharedNet    = "hft_network"
	internalNet  = "internal"
	entryService = "reverse-proxy"
	// tlsEntryService is the HTTPS entry point (profile tls), published on
	// ${OPS_TLS_BIND_ADDRESS}.
	tlsEntryService = "tls-proxy"
)

func (r *Repo) loadEnv(explicit string) {
	exampleData, ok := r.read(".env.example")
	if ok {
		f, errs := envfile.Parse(".env.example", exampleData)
		r.envFindings(".env.example", f, errs)
		r.Example = f
	}
	switch {
	case explicit != "":
		r.EnvPath = explicit
	case fileExists(r.path(".env")):
		r.EnvPath = ".env"
	default:
		r.EnvPath = ".env.example"
	}
	if r.EnvPath == ".env.example" {
		r.EnvFile = r.Example
	} else if data, ok := r.read(r.EnvPath); ok {
		f, errs := envfile.Parse(r.EnvPath, data)
		r.envFindings(r.EnvPath, f, errs)
		r.EnvFile = f
		r.envBroken = len(errs) > 0
	}
	r.Env = map[string]string{}
	if r.EnvFile != nil {
		r.Env = r.EnvFile.Map()
	}
}

// envFindings reports the lines of an env file that Compose cannot read
// (errors) and those it reads, but likely not as meant (warnings).
func (r *Repo) envFindings(file string, f *envfile.File, errs []*envfile.ParseError) {
	for _, e := range errs {
		r.f.Errorf("env", file, fmt.Sprint(e.Line), e.Fix, "%s", e.Msg)
	}
	for _, w := range f.Warnings {
		r.f.Warnf("env", file, fmt.Sprint(w.Line), w.Fix, "%s", w.Msg)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

var composeErrPath = regexp.MustCompile(`(services|volumes|networks|secrets|configs)((\.[A-Za-z0-9_.-]+)|\[\d+\])*`)

func (r *Repo) checkCompose(ctx context.Context) {
	data := r.compose
	if data == nil {
		return
	}
	if r.envBroken {
		return // compose-go would fail on the same line the env check names
	}
	// compose-go warns about unset variables through logrus; the variables
	// check reports them with their line instead.
	logrus.SetLevel(logrus.ErrorLevel)
	envPath := r.path(r.EnvPath)
	project, msg, pos := r.loadProject(ctx, r.sources[0], r.Dir, envPath)
	r.Project = project
	if project == nil {
		if pos == "" {
			pos = lineOfValue(string(data), msg)
		}
		r.f.Errorf("compose", composeFile, pos, "correct the key or value named; the schema is the Compose Specification", "compose-go cannot load the file: %s", msg)
		return
	}
	for _, src := range r.sources[1:] {
		r.loadAlone(ctx, src, envPath)
	}
	r.External = map[string][]string{}
	if ext, ok := r.Project.Extensions["x-external-services"].(map[string]any); ok {
		for name, v := range ext {
			if list, ok := v.([]any); ok {
				for _, p := range list {
					r.External[name] = append(r.External[name], fmt.Sprint(p))
				}
			}
		}
	}
}

var quotedName = regexp.MustCompile(`"([A-Za-z0-9_.-]+)"`)

// loadProject loads a compose file as compose-go does for `docker
// compose`, with the env file and every profile (demo included), not only
// those `up` starts by default. On failure the project is nil, msg is the
// error with the repository's path taken out, and pos the line of the key
// path it names, if any.
func (r *Repo) loadProject(ctx context.Context, src composeSource, workDir, envPath string) (project *types.Project, msg, pos string) {
	opts, err := cli.NewProjectOptions([]string{r.path(src.rel)},
		cli.WithWorkingDirectory(workDir),
		cli.WithEnvFiles(envPath),
		cli.WithDotEnv,
		cli.WithDiscardEnvFile,
		cli.WithProfiles([]string{"*"}),
	)
	if err == nil {
		if project, err = opts.LoadProject(ctx); err == nil {
			return project, "", ""
		}
	}
	msg = strings.ReplaceAll(err.Error(), r.Dir+string(os.PathSeparator), "")
	if m := composeErrPath.FindString(msg); m != "" {
		pos = src.doc.LineString(m)
	}
	return nil, msg, pos
}

// loadAlone loads an included compose file as its own project, as
// `docker compose --env-file .env -f FILE up` does from the repository
// root: its folder is the project directory, and every service, network
// and volume it names must be defined in it.
func (r *Repo) loadAlone(ctx context.Context, src composeSource, envPath string) {
	project, msg, pos := r.loadProject(ctx, src, filepath.Dir(r.path(src.rel)), envPath)
	if project != nil {
		return
	}
	if pos == "" {
		// "service "a" depends on undefined service "b"": the line naming
		// the last quoted name, when one line does.
		if q := quotedName.FindAllStringSubmatch(msg, -1); len(q) > 0 {
			name := q[len(q)-1][1]
			pos = uniqueLine(string(src.data), func(line string) bool {
				return !strings.HasPrefix(strings.TrimSpace(line), "#") && strings.Contains(line, name)
			})
		}
	}
	r.f.Errorf("compose", src.rel, pos, "define in "+src.rel+" everything its services name (a service it depends on, its networks and volumes): it must start alone with docker compose -f "+src.rel, "%s does not load on its own: %s", src.rel, msg)
}

// uniqueLine is the line number of the one line of src that match
// accepts, or "" when none or several do (a guess would misplace the
// finding).
func uniqueLine(src string, match func(line string) bool) string {
	at := ""
	for n, line := range strings.Split(src, "\n") {
		if !match(line) {
			continue
		}
		if at != "" {
			return ""
		}
		at = fmt.Sprint(n + 1)
	}
	return at
}

// lineOfValue locates an error compose-go gives without a key path
// ("invalid containerPort: 99999"): the line holding the value after the
// last ": ", when exactly one line of the file holds it.
func lineOfValue(src, msg string) string {
	i := strings.LastIndex(msg, ": ")
	if i < 0 {
		return ""
	}
	value := strings.Trim(strings.TrimSpace(msg[i+2:]), `"'`)
	if len(value) < 2 {
		return ""
	}
	return uniqueLine(src, func(line string) bool {
		return !strings.HasPrefix(strings.TrimSpace(line), "#") && strings.Contains(line, value)
	})
}

var versionTag = regexp.MustCompile(`^v?\d+\.\d+(\.\d+)*([.-][A-Za-z0-9_.-]+)?$`)

// ImagePinned reports why image is not pinned to an exact version, or "".
func ImagePinned(image string) string {
	if image == "" {
		return "has no image"
	}
	ref, digest, hasDigest := strings.Cut(image, "@")
	if hasDigest && strings.HasPrefix(digest, "sha256:") && len(digest) == 71 {
		return ""
	}
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon <= slash {
		return fmt.Sprintf("image %q has no tag, so it floats to latest", image)
	}
	tag := ref[colon+1:]
	if tag == "latest" || tag == "stable" || tag == "main" || tag == "edge" {
		return fmt.Sprintf("image %q uses the floating tag %q", image, tag)
	}
	if !versionTag.MatchString(tag) {
		return fmt.Sprintf("image %q tag %q is not an exact version (major.minor at least)", image, tag)
	}
	return ""
}

func (r *Repo) checkComposePolicy() {
	doc := r.composeDoc
	at := func(path string) string { return doc.LineString(path) }

	oneShotNeeded := map[string]bool{}
	for _, s := range r.Project.Services {
		for dep, d := range s.DependsOn {
			if d.Condition == types.ServiceConditionCompletedSuccessfully {
				oneShotNeeded[dep] = true
			}
		}
	}

	for _, name := range r.Project.ServiceNames() {
		s := r.Project.Services[name]
		base := "services." + name
		src := r.src(name)
		at, composeFile := src.at, src.rel
		if why := ImagePinned(s.Image); why != "" {
			r.f.Errorf("compose-image", composeFile, at(base+".image"), "pin an exact version listed in the image's release notes, e.g. prom/prometheus:v3.15.0", "service %s: %s", name, why)
		}
		oneShot := s.Restart == "no"
		if s.Restart == "" {
			r.f.Errorf("compose-restart", composeFile, at(base), "add `restart: unless-stopped` (or \"no\" for a one-shot job)", "service %s has no restart policy", name)
		}
		if oneShot && !oneShotNeeded[name] {
			r.f.Errorf("compose-oneshot", composeFile, at(base), "make the services that need it depend on it with condition: service_completed_successfully", "one-shot service %s gates nothing", name)
		}
		if !oneShot {
			if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 || s.HealthCheck.Test[0] == "NONE" {
				r.f.Errorf("compose-healthcheck", composeFile, at(base), "add a healthcheck that calls the service's own health endpoint", "service %s has no healthcheck", name)
			}
		}
		if s.Logging == nil || s.Logging.Driver != "json-file" || s.Logging.Options["max-size"] == "" || s.Logging.Options["max-file"] == "" {
			r.f.Errorf("compose-logging", composeFile, at(base+".logging"), "use `logging: *logging` (json-file with max-size and max-file)", "service %s logs without rotation: its logs can fill the disk", name)
		}
		for i, p := range s.Ports {
			pos := at(fmt.Sprintf("%s.ports[%d]", base, i))
			if p.Published == "" {
				r.f.Errorf("compose-ports", composeFile, pos, "publish with an explicit host port", "service %s port %d is published on a random host port", name, p.Target)
				continue
			}
			ip := net.ParseIP(p.HostIP)
			if name == entryService || name == tlsEntryService {
				continue
			}
			if ip == nil || !ip.IsLoopback() {
				host := p.HostIP
				if host == "" {
					host = "all interfaces"
				}
				r.f.Errorf("compose-ports", composeFile, pos, "bind debugging ports to ${OPS_DEBUG_BIND} (127.0.0.1); only the reverse proxy is published on ${OPS_BIND_ADDRESS}", "service %s publishes port %d on %s", name, p.Target, host)
			}
		}
		r.checkServiceNetworks(name, s, src)
		for _, target := range r.Decls.Get(name).State {
			named := false
			for _, v := range s.Volumes {
				if v.Target == target && v.Type == types.VolumeTypeVolume && v.Source != "" {
					named = true
				}
			}
			if !named {
				r.f.Errorf("compose-volume", composeFile, at(base+".volumes"), fmt.Sprintf("mount a named volume at %s (declare it under top-level volumes:)", target), "service %s keeps state in %s (x-ops.state) without a named volume: it is lost with the container", name, target)
			}
		}
	}
	// Each file's own declaration: where compose.yaml and a file it
	// includes both declare a network, compose merges them, and the
	// included one could hide a wrong one here.
	for _, src := range r.sources {
		var top struct {
			Networks map[string]struct {
				External any `yaml:"external"`
			} `yaml:"networks"`
		}
		if yaml.Unmarshal(src.data, &top) != nil {
			continue
		}
		if n, ok := top.Networks[internalNet]; ok && n.External == true {
			r.f.Errorf("compose-network", src.rel, src.at("networks."+internalNet), "declare `networks: internal: {}`", "network %s must be this stack's own network: the node's services talk there, out of reach of the trading stacks", internalNet)
		}
		if n, ok := top.Networks[sharedNet]; ok && n.External != true {
			r.f.Errorf("compose-network", src.rel, src.at("networks."+sharedNet), "declare `networks: hft_network: {name: hft_network, external: true}`", "network %s must be external so the collector, executor and TimescaleDB stacks can join it", sharedNet)
		}
	}
	if n, ok := r.Project.Networks[internalNet]; !ok || bool(n.External) {
		r.f.Errorf("compose-network", composeFile, at("networks"), "declare `networks: internal: {}`", "network %s must be this stack's own network: the node's services talk there, out of reach of the trading stacks", internalNet)
	}
	if n, ok := r.Project.Networks[sharedNet]; !ok || !bool(n.External) {
		r.f.Errorf("compose-network", composeFile, at("networks"), "declare `networks: hft_network: {name: hft_network, external: true}`", "network %s must be external so the collector, executor and TimescaleDB stacks can join it", sharedNet)
	}
	if _, ok := r.Project.Services[entryService]; !ok {
		r.f.Errorf("compose", composeFile, at("services"), "restore the reverse-proxy service", "no %s service: the UIs have no entry point", entryService)
	}
	if p, ok := r.Project.Services["prometheus"]; ok {
		cmd := strings.Join(p.Command, " ")
		for _, flag := range []string{"--storage.tsdb.retention.time=", "--storage.tsdb.retention.size="} {
			i := strings.Index(cmd, flag)
			if i < 0 {
				r.f.Errorf("retention", composeFile, at("services.prometheus.command"), "add "+flag+"${PROMETHEUS_RETENTION_...}", "prometheus runs without %s: its disk use is unbounded", strings.TrimSuffix(flag, "="))
				continue
			}
			if v, _, _ := strings.Cut(cmd[i+len(flag):], " "); v == "" {
				r.f.Errorf("retention", composeFile, at("services.prometheus.command"), "set PROMETHEUS_RETENTION_TIME and PROMETHEUS_RETENTION_SIZE in .env", "prometheus %s is empty", strings.TrimSuffix(flag, "="))
			}
		}
	}
	for _, src := range r.sources {
		r.checkSecretArgs(src)
		r.checkJSONEnv(src)
	}
	r.checkExportBucket()
	r.checkBudgets()
	if _, err := os.Stat(r.path("secrets/htpasswd")); errors.Is(err, fs.ErrNotExist) && r.EnvPath == ".env" {
		r.f.Warnf("proxy-auth", "secrets/htpasswd", "", "run `opsctl init`", "the proxy's basic-auth file is missing; nginx will refuse every protected UI")
	}
}

// argvKeys are the keys of a service whose values become a process's
// arguments: on the host, `ps -eo args` shows them to every user (and the
// engine stores them in `docker inspect`). A healthcheck's test is run by
// the engine as a process inside the container, its argv as visible.
var argvKeys = []string{"command", "entrypoint", "healthcheck.test"}

// runtimeRef matches a variable the container's shell expands ($$VAR,
// $${VAR}): its value still ends up in the argv of what the shell runs.
var runtimeRef = regexp.MustCompile(`\$\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// checkSecretArgs refuses a secret of .env (secrets.Specs) interpolated
// into a service's command, entrypoint or healthcheck test: the value is
// then an argument of a process, readable in the host's process list. The
// fix is an environment variable the program reads itself, or a file.
func (r *Repo) checkSecretArgs(src composeSource) {
	var root yaml.Node
	if yaml.Unmarshal(src.data, &root) != nil || len(root.Content) == 0 {
		return
	}
	services := mappingValue(root.Content[0], "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return
	}
	type hit struct {
		line int
		key  string
	}
	seen := map[hit]bool{}
	for i := 0; i+1 < len(services.Content); i += 2 {
		name, svc := services.Content[i].Value, services.Content[i+1]
		for _, key := range argvKeys {
			n := svc
			for _, part := range strings.Split(key, ".") {
				n = mappingValue(n, part)
			}
			if n == nil {
				continue
			}
			eachScalar(n, func(v *yaml.Node) {
				var names []string
				for _, ref := range ScanVariables(v.Value) {
					names = append(names, ref.Name)
				}
				for _, m := range runtimeRef.FindAllStringSubmatch(v.Value, -1) {
					names = append(names, m[1])
				}
				for _, k := range names {
					if _, secret := secrets.Lookup(k); !secret || seen[hit{v.Line, k}] {
						continue
					}
					seen[hit{v.Line, k}] = true
					r.f.Errorf("compose-secret-argv", src.rel, fmt.Sprint(v.Line),
						fmt.Sprintf("pass %s in services.%s.environment (or a file) under the name the program reads, and drop it from %s", k, name, key),
						"service %s puts the secret %s into its %s: it becomes a process argument, readable by every user of the host (ps -eo args)", name, k, key)
				}
			})
		}
	}
}

// mappingValue is the value of key in mapping n (following an alias), or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	// A merge key (<<: *base) brings the keys of the base.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Tag == "!!merge" {
			if v := mappingValue(n.Content[i+1], key); v != nil {
				return v
			}
		}
	}
	return nil
}

// eachScalar calls f on every scalar under n, an alias at its anchor.
func eachScalar(n *yaml.Node, f func(*yaml.Node)) {
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias != nil {
			eachScalar(n.Alias, f)
		}
	case yaml.ScalarNode:
		f(n)
	default:
		for _, c := range n.Content {
			eachScalar(c, f)
		}
	}
}

// checkImagesBuilt checks that the Dockerfiles of the repo pin what they install.
func (r *Repo) checkImagesBuilt() {
	for _, df := range []string{"Dockerfile", "mlflow/Dockerfile", "superset/Dockerfile", "hftsim/Dockerfile"} {
		data, ok := r.read(df)
		if !ok {
			continue
		}
		for i, line := range strings.Split(string(data), "\n") {
			t := strings.TrimSpace(line)
			if strings.HasPrefix(t, "#") {
				continue
			}
			img := ""
			if m := argImage.FindStringSubmatch(t); m != nil {
				img = m[1]
			} else if rest, ok := strings.CutPrefix(t, "FROM "); ok && !strings.Contains(rest, "$") && !strings.HasPrefix(rest, "scratch") {
				img, _, _ = strings.Cut(rest, " ")
			}
			if img != "" {
				if why := ImagePinned(img); why != "" {
					r.f.Errorf("dockerfile", df, fmt.Sprint(i+1), "pin the base image to an exact version", "%s", why)
				}
			}
			if strings.Contains(t, "pip install") || strings.Contains(t, "uv pip install") {
				for _, w := range strings.Fields(t) {
					if isPackageArg(w) && !strings.Contains(w, "==") {
						r.f.Errorf("dockerfile", df, fmt.Sprint(i+1), "pin it as name==version", "package %q is installed without an exact version", w)
					}
				}
			}
		}
	}
}

var argImage = regexp.MustCompile(`^ARG [A-Z_]*IMAGE=(\S+)`)

var pipOptionWithValue = []string{"--python", "-r", "--requirement", "-c", "--constraint", "-i", "--index-url"}

func isPackageArg(w string) bool {
	if w == "" || strings.HasPrefix(w, "-") || strings.ContainsAny(w, "/;&|\\$") {
		return false
	}
	if slices.Contains([]string{"pip", "uv", "install", "python3", "python", "RUN", "then", "else", "fi", "if", "-m", "&&"}, w) {
		return false
	}
	return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(\[[a-z0-9,_-]+\])?((==|>=|<=|~=|>|<)[^ ]+)?$`).MatchString(w)
}

// checkJSONEnv refuses an environment variable given as a JSON object in a
// compose file (Airflow's AIRFLOW_CONN_* connections) that is no longer
// JSON once the variables of .env are filled in: a password holding a
// double quote or a backslash, an empty or non-numeric port. Airflow would
// only fail when a task first uses the connection. Every mapping of the
// file is read, anchors (x-airflow) included, so a value is checked once
// where it is written.
func (r *Repo) checkJSONEnv(src composeSource) {
	var root yaml.Node
	if yaml.Unmarshal(src.data, &root) != nil || len(root.Content) == 0 {
		return
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k, v := n.Content[i], n.Content[i+1]; v.Kind == yaml.ScalarNode && envKey.MatchString(k.Value) && strings.HasPrefix(strings.TrimSpace(v.Value), "{") {
					r.checkJSONValue(src, k.Value, v)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root.Content[0])
}

var envKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

func (r *Repo) checkJSONValue(src composeSource, key string, v *yaml.Node) {
	filled, err := template.Substitute(v.Value, func(name string) (string, bool) {
		val, ok := r.Env[name]
		return val, ok
	})
	if err != nil {
		return // a malformed reference is the variables check's finding
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(filled), &obj); err != nil {
		var names []string
		for _, ref := range ScanVariables(v.Value) {
			names = append(names, ref.Name)
		}
		r.f.Errorf("compose-json-env", src.rel, fmt.Sprint(v.Line),
			fmt.Sprintf("in %s, keep \" and \\ out of %s, and give numbers where the JSON wants one", r.EnvPath, strings.Join(names, ", ")),
			"%s is not a JSON object once %s is filled in (%v): the program that reads it fails at its first use", key, r.EnvPath, err)
	}
}

// buckets are the names of S3_BUCKETS, the buckets s3-init creates.
func (r *Repo) buckets() []string {
	var out []string
	for _, b := range strings.Split(r.Env["S3_BUCKETS"], ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// checkExportBucket: the bucket Airflow's export writes into must be one
// s3-init creates, or the first export fails on a missing bucket.
func (r *Repo) checkExportBucket() {
	bucket := r.Env["AIRFLOW_EXPORT_BUCKET"]
	if _, ok := r.service("airflow-scheduler"); !ok || bucket == "" || r.EnvFile == nil || slices.Contains(r.buckets(), bucket) {
		return
	}
	r.f.Errorf("variables", r.EnvPath, fmt.Sprint(r.EnvFile.LineOf("AIRFLOW_EXPORT_BUCKET")), fmt.Sprintf("add %s to S3_BUCKETS (s3-init creates it at the next up), or name one of them", bucket),
		"AIRFLOW_EXPORT_BUCKET=%s is not among S3_BUCKETS=%s: the daily export would find no bucket", bucket, r.Env["S3_BUCKETS"])
}
