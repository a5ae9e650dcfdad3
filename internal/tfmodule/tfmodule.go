// Package tfmodule reads a Terraform/OpenTofu module with HCL's own parser
// (github.com/hashicorp/hcl/v2) and evaluates what can be evaluated without
// a provider: variable validations, literals and templatefile().
//
// Why not tofu validate: it needs the provider's binary for the schema, and
// the Hetzner provider cannot be had on the machines that run the checks.
// Why the few functions below are written here: Terraform's and OpenTofu's
// function sets live in their internal packages, which cannot be imported;
// go-cty's stdlib and HCL's tryfunc give the rest under the same names.
package tfmodule

import (
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Module is one module directory.
type Module struct {
	Dir       string // the directory on disk
	Rel       string // the directory as findings name it (relative to the repository)
	Files     []*File
	Variables map[string]*Variable
	Locals    map[string]*hclsyntax.Attribute
	Outputs   map[string]*hclsyntax.Block
	Resources []*Resource
	Providers map[string]RequiredProvider // required_providers, by local name
}

// File is one .tf file.
type File struct {
	Name string // relative to the repository
	Src  []byte
	Body *hclsyntax.Body
}

// Variable is a variable block.
type Variable struct {
	Name        string
	Block       *hclsyntax.Block
	Type        cty.Type
	Default     cty.Value // cty.NilVal when the variable has none (required)
	Validations []Validation
}

// Validation is one validation block of a variable.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
}

// Resource is a resource block.
type Resource struct {
	Type, Name string
	Block      *hclsyntax.Block
	File       string
}

// Addr is the resource's address (hcloud_server.node).
func (r *Resource) Addr() string { return r.Type + "." + r.Name }

// RequiredProvider is one entry of terraform.required_providers.
type RequiredProvider struct {
	Source, Version string
	Range           hcl.Range
}

// Load parses every .tf file of dir (rel names it in diagnostics). The
// diagnostics carry file and line; a module with errors is still returned
// with what could be read.
func Load(dir, rel string) (*Module, hcl.Diagnostics) {
	m := &Module{
		Dir: dir, Rel: rel,
		Variables: map[string]*Variable{},
		Locals:    map[string]*hclsyntax.Attribute{},
		Outputs:   map[string]*hclsyntax.Block{},
		Providers: map[string]RequiredProvider{},
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return m, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: err.Error()}}
	}
	sort.Strings(names)
	var diags hcl.Diagnostics
	for _, n := range names {
		src, err := os.ReadFile(n)
		name := filepath.ToSlash(filepath.Join(rel, filepath.Base(n)))
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "cannot read", Detail: err.Error(), Subject: &hcl.Range{Filename: name}})
			continue
		}
		f, d := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		diags = append(diags, d...)
		if f == nil {
			continue
		}
		body := f.Body.(*hclsyntax.Body)
		m.Files = append(m.Files, &File{Name: name, Src: src, Body: body})
		diags = append(diags, m.collect(name, body)...)
	}
	return m, diags
}

func (m *Module) collect(file string, body *hclsyntax.Body) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range body.Blocks {
		switch b.Type {
		case "variable":
			v, d := readVariable(b)
			diags = append(diags, d...)
			if v != nil {
				if _, dup := m.Variables[v.Name]; dup {
					diags = append(diags, errAt(b.DefRange(), "duplicate variable "+v.Name, "each variable is declared once per module"))
				}
				m.Variables[v.Name] = v
			}
		case "locals":
			for name, a := range b.Body.Attributes {
				m.Locals[name] = a
			}
		case "output":
			if len(b.Labels) == 1 {
				m.Outputs[b.Labels[0]] = b
			}
		case "resource":
			if len(b.Labels) == 2 {
				m.Resources = append(m.Resources, &Resource{Type: b.Labels[0], Name: b.Labels[1], Block: b, File: file})
			}
		case "terraform":
			for _, rp := range b.Body.Blocks {
				if rp.Type != "required_providers" {
					continue
				}
				for name, a := range rp.Body.Attributes {
					v, d := a.Expr.Value(nil)
					if d.HasErrors() || !v.Type().IsObjectType() {
						diags = append(diags, errAt(a.SrcRange, "required_providers."+name+" is not an object", `write it as { source = "namespace/name", version = "x.y.z" }`))
						continue
					}
					p := RequiredProvider{Range: a.SrcRange}
					if v.Type().HasAttribute("source") && v.GetAttr("source").Type() == cty.String {
						p.Source = v.GetAttr("source").AsString()
					}
					if v.Type().HasAttribute("version") && v.GetAttr("version").Type() == cty.String {
						p.Version = v.GetAttr("version").AsString()
					}
					m.Providers[name] = p
				}
			}
		}
	}
	return diags
}

func readVariable(b *hclsyntax.Block) (*Variable, hcl.Diagnostics) {
	if len(b.Labels) != 1 {
		return nil, nil
	}
	v := &Variable{Name: b.Labels[0], Block: b, Type: cty.DynamicPseudoType, Default: cty.NilVal}
	var diags hcl.Diagnostics
	if a, ok := b.Body.Attributes["type"]; ok {
		t, d := typeexpr.TypeConstraint(a.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			v.Type = t
		}
	}
	if a, ok := b.Body.Attributes["default"]; ok {
		val, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if cv, err := convert.Convert(val, v.Type); err != nil {
				diags = append(diags, errAt(a.SrcRange, fmt.Sprintf("the default of variable %s is not of its type: %v", v.Name, err), "make the default match the type"))
			} else {
				v.Default = cv
			}
		}
	}
	for _, vb := range b.Body.Blocks {
		if vb.Type != "validation" {
			continue
		}
		c, okc := vb.Body.Attributes["condition"]
		e, oke := vb.Body.Attributes["error_message"]
		if !okc || !oke {
			diags = append(diags, errAt(vb.DefRange(), "a validation of variable "+v.Name+" lacks condition or error_message", "give it both"))
			continue
		}
		v.Validations = append(v.Validations, Validation{Condition: c.Expr, ErrorMessage: e.Expr})
	}
	return v, diags
}

func errAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

// Unformatted returns, for each file that `tofu fmt` would change, the
// first line that differs (hclwrite.Format is the formatter tofu fmt
// calls).
func (m *Module) Unformatted() map[string]int {
	out := map[string]int{}
	for _, f := range m.Files {
		got := hclwrite.Format(f.Src)
		if string(got) == string(f.Src) {
			continue
		}
		a, b := strings.Split(string(f.Src), "\n"), strings.Split(string(got), "\n")
		line := 1
		for line <= len(a) && line <= len(b) && a[line-1] == b[line-1] {
			line++
		}
		out[f.Name] = line
	}
	return out
}

// ValidateVariable converts value to the variable's type and evaluates
// each of its validations, as tofu plan does for an input: the error
// messages of the failing ones, or an error when the value cannot be of the
// variable's type or a condition cannot be evaluated.
func (m *Module) ValidateVariable(name string, value cty.Value) ([]string, error) {
	v, ok := m.Variables[name]
	if !ok {
		return nil, fmt.Errorf("no variable %q in %s", name, m.Rel)
	}
	cv, err := convert.Convert(value, v.Type)
	if err != nil {
		return nil, fmt.Errorf("variable %s: %v", name, err)
	}
	ctx := m.EvalContext(map[string]cty.Value{name: cv})
	var failed []string
	for _, val := range v.Validations {
		res, d := val.Condition.Value(ctx)
		if d.HasErrors() {
			return nil, fmt.Errorf("variable %s: %s", name, d.Error())
		}
		if res.IsNull() || !res.IsKnown() || res.Type() != cty.Bool {
			return nil, fmt.Errorf("variable %s: a condition is not a bool", name)
		}
		if res.False() {
			msg, d := val.ErrorMessage.Value(ctx)
			if d.HasErrors() || msg.Type() != cty.String {
				return nil, fmt.Errorf("variable %s: an error_message is not a string", name)
			}
			failed = append(failed, msg.AsString())
		}
	}
	return failed, nil
}

// EvalContext is the context for expressions over variables only: var.*
// from vars, path.module, and the functions.
func (m *Module) EvalContext(vars map[string]cty.Value) *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":  cty.ObjectVal(vars),
			"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(m.Dir)}),
		},
		Functions: Functions(m.Dir),
	}
}

// Functions are the Terraform functions the module's variable-only
// expressions use, under Terraform's names.
func Functions(baseDir string) map[string]function.Function {
	f := map[string]function.Function{
		"can": tryfunc.CanFunc, "try": tryfunc.TryFunc,
		"contains": stdlib.ContainsFunc, "length": stdlib.LengthFunc,
		"regex": stdlib.RegexFunc, "trimspace": stdlib.TrimSpaceFunc,
		"values": stdlib.ValuesFunc, "keys": stdlib.KeysFunc,
		"merge": stdlib.MergeFunc, "lower": stdlib.LowerFunc,
		"jsonencode": stdlib.JSONEncodeFunc, "join": stdlib.JoinFunc,
		"alltrue": allTrueFunc, "anytrue": anyTrueFunc,
		"cidrhost": cidrHostFunc, "cidrnetmask": cidrNetmaskFunc,
	}
	f["templatefile"] = templateFileFunc(baseDir, f)
	return f
}

func boolsFunc(all bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			for it := args[0].ElementIterator(); it.Next(); {
				_, v := it.Element()
				if v.IsNull() || !v.IsKnown() {
					return cty.UnknownVal(cty.Bool), nil
				}
				if v.True() != all {
					return cty.BoolVal(!all), nil
				}
			}
			return cty.BoolVal(all), nil
		},
	})
}

var allTrueFunc, anyTrueFunc = boolsFunc(true), boolsFunc(false)

func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("invalid CIDR address: %s", s)
	}
	return p, nil
}

// cidrHostFunc is cidrhost(prefix, hostnum) for the host numbers that fit.
var cidrHostFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "prefix", Type: cty.String}, {Name: "hostnum", Type: cty.Number}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		p, err := parsePrefix(args[0].AsString())
		if err != nil {
			return cty.NilVal, err
		}
		n, acc := args[1].AsBigFloat().Int(nil)
		if acc != big.Exact || n.Sign() < 0 {
			return cty.NilVal, fmt.Errorf("hostnum must be a non-negative whole number")
		}
		base := p.Masked().Addr()
		size := new(big.Int).Lsh(big.NewInt(1), uint(base.BitLen()-p.Bits()))
		if n.Cmp(size) >= 0 {
			return cty.NilVal, fmt.Errorf("prefix %s has no host number %s", p, n)
		}
		b16 := base.As16()
		sum := new(big.Int).Add(new(big.Int).SetBytes(b16[:]), n).FillBytes(make([]byte, 16))
		a := netip.AddrFrom16([16]byte(sum))
		if base.Is4() {
			a = a.Unmap()
		}
		return cty.StringVal(a.String()), nil
	},
})

// cidrNetmaskFunc is cidrnetmask(prefix): IPv4 only, as in Terraform.
var cidrNetmaskFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "prefix", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		p, err := parsePrefix(args[0].AsString())
		if err != nil {
			return cty.NilVal, err
		}
		if !p.Addr().Is4() {
			return cty.NilVal, fmt.Errorf("only IPv4 networks have a netmask")
		}
		m := uint32(0xffffffff) << (32 - p.Bits())
		if p.Bits() == 0 {
			m = 0
		}
		return cty.StringVal(fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)), nil
	},
})

// templateFileFunc is templatefile(path, vars): the file is an HCL
// template, evaluated with vars and the same functions.
func templateFileFunc(baseDir string, funcs map[string]function.Function) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}, {Name: "vars", Type: cty.DynamicPseudoType}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path := args[0].AsString()
			if !filepath.IsAbs(path) {
				path = filepath.Join(baseDir, path)
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return cty.NilVal, err
			}
			expr, d := hclsyntax.ParseTemplate(src, path, hcl.InitialPos)
			if d.HasErrors() {
				return cty.NilVal, d
			}
			vars := map[string]cty.Value{}
			if t := args[1].Type(); t.IsObjectType() || t.IsMapType() {
				for k, v := range args[1].AsValueMap() {
					vars[k] = v
				}
			}
			res, d := expr.Value(&hcl.EvalContext{Variables: vars, Functions: funcs})
			if d.HasErrors() {
				return cty.NilVal, d
			}
			if res, err = convert.Convert(res, cty.String); err != nil {
				return cty.NilVal, err
			}
			return res, nil
		},
	})
}
