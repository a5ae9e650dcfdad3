package tfmodule

import (
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Rule is one inbound rule of an hcloud_firewall, its values read without
// a provider: literals, or a whole variable for the sources.
type Rule struct {
	Firewall  string // the resource's address
	Protocol  string
	Port      string
	Sources   []string // literal source_ips
	SourceVar string   // source_ips = var.<SourceVar>
	Range     hcl.Range
}

// World are the sources that mean the whole internet.
var World = []string{"0.0.0.0/0", "::/0"}

// InboundRules reads the inbound rules of every hcloud_firewall. A rule
// whose protocol, port or sources is not a literal (or, for the sources, a
// variable) cannot be checked and is a diagnostic, as is a dynamic rule
// block.
func (m *Module) InboundRules() ([]Rule, hcl.Diagnostics) {
	var out []Rule
	var diags hcl.Diagnostics
	for _, r := range m.Resources {
		if r.Type != "hcloud_firewall" {
			continue
		}
		for _, b := range r.Block.Body.Blocks {
			if b.Type == "dynamic" {
				diags = append(diags, errAt(b.DefRange(), r.Addr()+" has a dynamic block", "write each firewall rule as its own rule block with literal values, so the open ports can be checked"))
				continue
			}
			if b.Type != "rule" {
				continue
			}
			dir, ok := literalString(b, "direction", r.Addr(), &diags)
			if !ok || dir != "in" {
				continue
			}
			rule := Rule{Firewall: r.Addr(), Range: b.DefRange()}
			rule.Protocol, ok = literalString(b, "protocol", r.Addr(), &diags)
			if !ok {
				continue
			}
			if _, has := b.Body.Attributes["port"]; has {
				if rule.Port, ok = literalString(b, "port", r.Addr(), &diags); !ok {
					continue
				}
			}
			a, has := b.Body.Attributes["source_ips"]
			if !has {
				diags = append(diags, errAt(b.DefRange(), r.Addr()+": an inbound rule without source_ips", "name the sources"))
				continue
			}
			if tr, isVar := a.Expr.(*hclsyntax.ScopeTraversalExpr); isVar && len(tr.Traversal) == 2 && tr.Traversal.RootName() == "var" {
				if at, ok := tr.Traversal[1].(hcl.TraverseAttr); ok {
					rule.SourceVar = at.Name
					out = append(out, rule)
					continue
				}
			}
			v, d := a.Expr.Value(nil)
			if d.HasErrors() || !(v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType()) {
				diags = append(diags, errAt(a.SrcRange, r.Addr()+": source_ips is neither a literal list nor a variable", "write the CIDRs as a list of strings, or source_ips = var.<name>"))
				continue
			}
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if e.Type() != cty.String || e.IsNull() {
					diags = append(diags, errAt(a.SrcRange, r.Addr()+": source_ips holds a value that is not a string", "write the CIDRs as strings"))
					continue
				}
				rule.Sources = append(rule.Sources, e.AsString())
			}
			out = append(out, rule)
		}
	}
	return out, diags
}

func literalString(b *hclsyntax.Block, name, addr string, diags *hcl.Diagnostics) (string, bool) {
	a, ok := b.Body.Attributes[name]
	if !ok {
		*diags = append(*diags, errAt(b.DefRange(), addr+": a rule without "+name, "set "+name))
		return "", false
	}
	v, d := a.Expr.Value(nil)
	if d.HasErrors() || v.Type() != cty.String || v.IsNull() {
		*diags = append(*diags, errAt(a.SrcRange, addr+": the rule's "+name+" is not a literal string", `write it as a literal (for example "443"), so the open ports can be checked`))
		return "", false
	}
	return v.AsString(), true
}

// LoadTfvars reads a .tfvars file: each attribute a literal value.
func LoadTfvars(path, name string) (map[string]cty.Value, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "cannot read", Detail: err.Error(), Subject: &hcl.Range{Filename: name}}}
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	attrs, d := f.Body.JustAttributes()
	diags = append(diags, d...)
	out := map[string]cty.Value{}
	for n, a := range attrs {
		v, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			out[n] = v
		}
	}
	return out, diags
}
