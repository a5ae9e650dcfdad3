package check

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"gopkg.in/yaml.v3"

	"github.com/okx-hft/okx-hft-ops/internal/tfmodule"
)

// terraformRoot holds the modules; each directory with .tf files is one.
const terraformRoot = "terraform"

// tfExampleVars is each module's example input, checked against its
// variables' validations as tofu plan would check it.
const tfExampleVars = "terraform.tfvars.example"

// hetznerUserDataLimit is Hetzner's limit on a server's user data
// (hcloud_server's documentation: "limited to 32KiB").
const hetznerUserDataLimit = 32 << 10

var exactVersion = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// checkTerraform validates the Terraform/OpenTofu modules without a
// provider (the Hetzner provider's binary cannot be had here): HCL's own
// parser, tofu fmt's formatter, references, pinned providers, the
// firewall's open ports, every server behind a firewall, the variables'
// validations over the defaults and the example, and the rendered
// cloud-init.
func (r *Repo) checkTerraform() {
	root := r.path(terraformRoot)
	if _, err := os.Stat(root); err != nil {
		return // a copy of the configs without the deployment (the stack test's)
	}
	var dirs []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if d.Name() == ".terraform" {
			return filepath.SkipDir
		}
		if m, _ := filepath.Glob(filepath.Join(p, "*.tf")); len(m) > 0 {
			dirs = append(dirs, p)
		}
		return nil
	})
	for _, d := range dirs {
		rel, _ := filepath.Rel(r.Dir, d)
		r.checkTerraformModule(d, filepath.ToSlash(rel))
	}
}

func (r *Repo) tfDiags(diags hcl.Diagnostics, fallbackFile string) {
	for _, d := range diags {
		file, pos := fallbackFile, ""
		if d.Subject != nil {
			if d.Subject.Filename != "" {
				file = d.Subject.Filename
			}
			if d.Subject.Start.Line > 0 {
				pos = fmt.Sprint(d.Subject.Start.Line)
			}
		}
		// HCL's details explain the fix ("An argument or block definition
		// is required here"), as tfmodule's do.
		msg, fix := d.Summary, d.Detail
		if fix == "" {
			fix = "correct the HCL (tofu fmt shows syntax errors too)"
		}
		if d.Severity == hcl.DiagWarning {
			r.f.Warnf("terraform", file, pos, fix, "%s", msg)
		} else {
			r.f.Errorf("terraform", file, pos, fix, "%s", msg)
		}
	}
}

func tfPos(rg hcl.Range) string { return fmt.Sprint(rg.Start.Line) }

func (r *Repo) checkTerraformModule(dir, rel string) {
	m, diags := tfmodule.Load(dir, rel)
	r.tfDiags(diags, rel)
	if diags.HasErrors() {
		return // the rest would only repeat it
	}
	for f, line := range m.Unformatted() {
		r.f.Errorf("terraform", f, fmt.Sprint(line), "run tofu fmt "+rel+" (or terraform fmt)", "not formatted as tofu fmt formats it")
	}
	r.tfProviders(m)
	r.tfReferences(m)
	r.tfFirewall(m)
	r.tfServers(m)
	if vars, ok := r.tfInputs(m); ok {
		r.tfCloudInit(m, vars)
	}
}

// tfProviders: every resource's provider is required with its source and
// an exact version.
func (r *Repo) tfProviders(m *tfmodule.Module) {
	for name, p := range m.Providers {
		file := p.Range.Filename
		if p.Source == "" {
			r.f.Errorf("terraform", file, tfPos(p.Range), `set source = "namespace/`+name+`"`, "required_providers.%s has no source", name)
		}
		if !exactVersion.MatchString(p.Version) {
			r.f.Errorf("terraform", file, tfPos(p.Range), `pin an exact version, version = "x.y.z"`, "required_providers.%s version %q is not pinned to one release", name, p.Version)
		}
	}
	seen := map[string]bool{}
	for _, res := range m.Resources {
		prov, _, _ := strings.Cut(res.Type, "_")
		if _, ok := m.Providers[prov]; !ok && !seen[prov] {
			seen[prov] = true
			r.f.Errorf("terraform", res.File, tfPos(res.Block.DefRange()), "add "+prov+" to terraform.required_providers with its source and version", "%s: provider %s is not in required_providers", res.Addr(), prov)
		}
	}
}

// tfReferences: every var., local. and resource reference names something
// the module declares; a variable nothing uses is a warning.
func (r *Repo) tfReferences(m *tfmodule.Module) {
	resources := map[string]bool{}
	for _, res := range m.Resources {
		resources[res.Addr()] = true
	}
	dynamic := map[string]bool{}
	used := map[string]bool{}
	var visit func(file string, body *hclsyntax.Body, inVariable bool)
	visit = func(file string, body *hclsyntax.Body, inVariable bool) {
		for name, a := range body.Attributes {
			if inVariable && name == "type" {
				continue // a type constraint (map(string)), not values
			}
			for _, tr := range hclsyntax.Variables(a.Expr) {
				r.tfReference(file, tr, m, resources, dynamic, used)
			}
		}
		for _, b := range body.Blocks {
			if b.Type == "lifecycle" {
				continue // ignore_changes names attributes, not values
			}
			if b.Type == "dynamic" && len(b.Labels) == 1 {
				dynamic[b.Labels[0]] = true
			}
			visit(file, b.Body, b.Type == "variable")
		}
	}
	for _, f := range m.Files {
		visit(f.Name, f.Body, false)
	}
	for _, n := range slices.Sorted(maps.Keys(m.Variables)) {
		if !used[n] {
			v := m.Variables[n]
			r.f.Warnf("terraform", v.Block.DefRange().Filename, tfPos(v.Block.DefRange()), "use it or remove it", "variable %s is declared but nothing uses it", n)
		}
	}
}

func (r *Repo) tfReference(file string, tr hcl.Traversal, m *tfmodule.Module, resources, dynamic, used map[string]bool) {
	root := tr.RootName()
	attr := ""
	if len(tr) > 1 {
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			attr = a.Name
		}
	}
	pos := tfPos(tr.SourceRange())
	switch root {
	case "each", "count", "path", "self", "terraform", "data", "module":
	case "var":
		if _, ok := m.Variables[attr]; !ok {
			r.f.Errorf("terraform", file, pos, "declare variable \""+attr+"\" in variables.tf or correct the name", "var.%s is not declared", attr)
		}
		used[attr] = true
	case "local":
		if _, ok := m.Locals[attr]; !ok {
			r.f.Errorf("terraform", file, pos, "declare it in a locals block or correct the name", "local.%s is not declared", attr)
		}
	default:
		if dynamic[root] {
			return
		}
		if !resources[root+"."+attr] {
			r.f.Errorf("terraform", file, pos, "declare the resource or correct the name", "%s.%s is not a resource of this module", root, attr)
		}
	}
}

// tfFirewall: the inbound rules open SSH, only from addresses a variable's
// validation keeps from being the whole internet, and 80/443 of the proxy;
// nothing else. The admin UIs are behind the proxy, so this is also what
// keeps them off the internet's direct reach.
func (r *Repo) tfFirewall(m *tfmodule.Module) {
	rules, diags := m.InboundRules()
	r.tfDiags(diags, m.Rel)
	for _, rule := range rules {
		file, pos := rule.Range.Filename, tfPos(rule.Range)
		switch {
		case rule.Protocol == "tcp" && rule.Port == "22":
			if rule.SourceVar != "" {
				r.tfSSHVariable(m, rule, file, pos)
				continue
			}
			for _, s := range rule.Sources {
				if slices.Contains(tfmodule.World, s) {
					r.f.Errorf("terraform", file, pos, "name the administrators' addresses (source_ips = var.ssh_allowed_cidrs)", "%s opens SSH to the whole internet (%s)", rule.Firewall, s)
				}
			}
		case rule.Protocol == "tcp" && (rule.Port == "80" || rule.Port == "443"):
		default:
			port := rule.Port
			if port == "" {
				port = "(every port)"
			}
			r.f.Errorf("terraform", file, pos, "remove the rule: the node admits only SSH from the administrators' addresses and 80/443 of the proxy; every UI is served through the proxy",
				"%s opens %s port %s from the outside", rule.Firewall, rule.Protocol, port)
		}
	}
}

func (r *Repo) tfSSHVariable(m *tfmodule.Module, rule tfmodule.Rule, file, pos string) {
	if _, ok := m.Variables[rule.SourceVar]; !ok {
		return // reported as an undeclared reference
	}
	for _, w := range tfmodule.World {
		failed, err := m.ValidateVariable(rule.SourceVar, cty.ListVal([]cty.Value{cty.StringVal(w)}))
		if err != nil {
			r.f.Errorf("terraform", file, pos, "correct the variable's validation", "cannot evaluate the validation of var.%s: %v", rule.SourceVar, err)
			return
		}
		if len(failed) == 0 {
			r.f.Errorf("terraform", file, pos, "add a validation to variable "+rule.SourceVar+" that refuses 0.0.0.0/0 and ::/0",
				"%s opens SSH to var.%s, which admits %s: the whole internet", rule.Firewall, rule.SourceVar, w)
		}
	}
}

// tfServers: every server is behind a firewall of the module (a server
// without one is open on every port).
func (r *Repo) tfServers(m *tfmodule.Module) {
	for _, res := range m.Resources {
		if res.Type != "hcloud_server" {
			continue
		}
		a, ok := res.Block.Body.Attributes["firewall_ids"]
		behind := false
		if ok {
			for _, tr := range hclsyntax.Variables(a.Expr) {
				if tr.RootName() == "hcloud_firewall" {
					behind = true
				}
			}
		}
		if !behind {
			r.f.Errorf("terraform", res.File, tfPos(res.Block.DefRange()), "set firewall_ids = [hcloud_firewall.<name>.id]", "%s is behind no firewall of the module: every port it listens on is open", res.Addr())
		}
	}
}

// tfInputs checks the defaults and the module's example input against the
// variables' validations and returns the inputs of the example run.
func (r *Repo) tfInputs(m *tfmodule.Module) (map[string]cty.Value, bool) {
	exampleRel := m.Rel + "/" + tfExampleVars
	example, diags := tfmodule.LoadTfvars(filepath.Join(m.Dir, tfExampleVars), exampleRel)
	if diags.HasErrors() {
		r.tfDiags(diags, exampleRel)
		return nil, false
	}
	vars := map[string]cty.Value{}
	ok := true
	for _, n := range slices.Sorted(maps.Keys(m.Variables)) {
		v := m.Variables[n]
		file, pos := v.Block.DefRange().Filename, tfPos(v.Block.DefRange())
		if v.Default != cty.NilVal {
			vars[n] = v.Default
			if failed, err := m.ValidateVariable(n, v.Default); err != nil {
				r.f.Errorf("terraform", file, pos, "correct the validation", "%v", err)
				ok = false
			} else if len(failed) > 0 {
				r.f.Errorf("terraform", file, pos, "make the default pass the variable's validation", "the default of variable %s fails its validation: %s", n, strings.Join(failed, "; "))
				ok = false
			}
		}
		val, given := example[n]
		if !given {
			if v.Default == cty.NilVal {
				r.f.Errorf("terraform", exampleRel, "", "add a value for "+n+" to "+tfExampleVars, "variable %s is required and the example gives no value", n)
				ok = false
			}
			continue
		}
		failed, err := m.ValidateVariable(n, val)
		if err != nil {
			r.f.Errorf("terraform", exampleRel, "", "give "+n+" a value of its type", "%v", err)
			ok = false
			continue
		}
		if len(failed) > 0 {
			r.f.Errorf("terraform", exampleRel, "", "give "+n+" a value its validation accepts", "the example's %s fails the validation: %s", n, strings.Join(failed, "; "))
			ok = false
		}
		vars[n] = val
	}
	for n := range example {
		if _, ok2 := m.Variables[n]; !ok2 {
			r.f.Errorf("terraform", exampleRel, "", "remove it or declare the variable", "the example sets %s, which the module does not declare", n)
			ok = false
		}
	}
	return vars, ok
}

// tfCloudInit renders each server's user_data with the example's inputs:
// a #cloud-config YAML document within Hetzner's limit that creates a user
// with SSH keys and turns password logins off.
func (r *Repo) tfCloudInit(m *tfmodule.Module, vars map[string]cty.Value) {
	for _, res := range m.Resources {
		if res.Type != "hcloud_server" {
			continue
		}
		a, ok := res.Block.Body.Attributes["user_data"]
		if !ok {
			r.f.Errorf("terraform", res.File, tfPos(res.Block.DefRange()), "give it the module's cloud-init (user_data = templatefile(...))", "%s has no cloud-init: the host is not prepared for Ansible", res.Addr())
			continue
		}
		pos := tfPos(a.SrcRange)
		v, d := a.Expr.Value(m.EvalContext(vars))
		if d.HasErrors() {
			r.f.Errorf("terraform", res.File, pos, "correct the template or its variables", "%s user_data does not render with the example's inputs: %s", res.Addr(), d.Error())
			continue
		}
		if v.Type() != cty.String {
			r.f.Errorf("terraform", res.File, pos, "render it to a string", "%s user_data is not a string", res.Addr())
			continue
		}
		s := v.AsString()
		if len(s) > hetznerUserDataLimit {
			r.f.Errorf("terraform", res.File, pos, "shorten the cloud-init: the rest is Ansible's work", "%s user_data is %d bytes, over Hetzner's 32 KiB", res.Addr(), len(s))
		}
		if !strings.HasPrefix(s, "#cloud-config\n") {
			r.f.Errorf("terraform", res.File, pos, "start the template with the line #cloud-config", "%s user_data is not a cloud-config (cloud-init ignores it as one)", res.Addr())
			continue
		}
		var doc struct {
			SSHPwauth   *bool       `yaml:"ssh_pwauth"`
			DisableRoot *bool       `yaml:"disable_root"`
			Users       []cloudUser `yaml:"users"`
		}
		if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
			r.f.Errorf("terraform", res.File, pos, "correct the template so that it renders YAML", "%s user_data rendered with the example's inputs is not YAML: %v", res.Addr(), err)
			continue
		}
		if doc.SSHPwauth == nil || *doc.SSHPwauth || doc.DisableRoot == nil || !*doc.DisableRoot {
			r.f.Errorf("terraform", res.File, pos, "set ssh_pwauth: false and disable_root: true", "%s cloud-init leaves password or root logins on", res.Addr())
		}
		if !slices.ContainsFunc(doc.Users, func(u cloudUser) bool {
			return u.Name != "" && len(u.Keys) > 0
		}) {
			r.f.Errorf("terraform", res.File, pos, "create the admin user with ssh_authorized_keys", "%s cloud-init creates no user with SSH keys: nobody could log in", res.Addr())
		}
	}
}

type cloudUser struct {
	Name string   `yaml:"name"`
	Keys []string `yaml:"ssh_authorized_keys"`
}
