package alloy

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/okx-hft/okx-hft-ops/internal/finding"
)

// CheckName is the check name every finding of this package carries.
const CheckName = "alloy"

// URL is a network address written in the config: every string literal that
// is an http(s) URL, and the host argument of Docker components. The caller
// cross-checks hosts against compose services; this package does not.
type URL struct {
	Value      string // the decoded string literal
	Pos        Pos    // where the literal starts
	Component  string // enclosing component, e.g. `loki.write "default"`
	Attribute  string // path inside the component, e.g. "endpoint.url"
	DockerHost bool   // the host argument of a Docker component (any scheme, e.g. tcp:// or unix://)
}

// Host is the host name the URL points at, without port; "" for addresses
// without one, such as unix:///var/run/docker.sock.
func (u URL) Host() string {
	parsed, err := url.Parse(strings.TrimSpace(u.Value))
	if err != nil {
		return ""
	}
	return parsed.Hostname()
}

// Check parses src and reports syntax errors, unknown components, missing
// required arguments, label problems, dangling references, malformed
// forward_to lists and invalid relabel rules. file only names the findings.
// It also returns the URLs and Docker hosts the config points at.
func Check(file string, src []byte) (finding.List, []URL) {
	c := &checker{file: file}
	f, err := Parse(src)
	if err != nil {
		var se *Error
		if !errors.As(err, &se) {
			se = &Error{Pos: Pos{Line: 1, Col: 1}, Msg: err.Error()}
		}
		fix := se.Hint
		if fix == "" {
			fix = "correct the syntax at this position"
		}
		c.report(se.Pos, fix, "syntax error: %s", se.Msg)
		return c.findings(), nil
	}
	c.checkBody(f.Body, newScope(nil))
	c.collectURLs(f.Body, nil, "")
	sort.SliceStable(c.urls, func(i, j int) bool { return c.urls[i].Pos.before(c.urls[j].Pos) })
	return c.findings(), c.urls
}

type checker struct {
	file  string
	found []located
	urls  []URL
}

type located struct {
	pos Pos
	f   finding.Finding
}

func (c *checker) report(at Pos, fix, format string, args ...any) {
	c.add(finding.Error, at, fix, format, args...)
}

func (c *checker) warn(at Pos, fix, format string, args ...any) {
	c.add(finding.Warning, at, fix, format, args...)
}

func (c *checker) add(sev finding.Severity, at Pos, fix, format string, args ...any) {
	c.found = append(c.found, located{pos: at, f: finding.Finding{
		Check:    CheckName,
		Severity: sev,
		File:     c.file,
		Position: at.String(),
		Message:  fmt.Sprintf(format, args...),
		Fix:      fix,
	}})
}

// findings returns what was reported in source order (numeric, unlike
// finding.List.Sort which compares position strings).
func (c *checker) findings() finding.List {
	sort.SliceStable(c.found, func(i, j int) bool { return c.found[i].pos.before(c.found[j].pos) })
	out := make(finding.List, len(c.found))
	for i, l := range c.found {
		out[i] = l.f
	}
	return out
}

// scope is one namespace of component instances. The file is one; each
// declare body and foreach template opens a child that also sees its
// parents, which is lenient but never reports a valid reference.
type scope struct {
	parent    *scope
	instances map[string]map[string]*Block // component name -> label -> block ("" for unlabelled)
	custom    map[string]*Block            // declare label -> declare block
	imports   map[string]*Block            // import.* label -> block: a namespace of custom components
}

func newScope(parent *scope) *scope {
	return &scope{parent: parent, instances: map[string]map[string]*Block{}, custom: map[string]*Block{}, imports: map[string]*Block{}}
}

func (s *scope) instance(name, label string) *Block {
	for ; s != nil; s = s.parent {
		if b := s.instances[name][label]; b != nil {
			return b
		}
	}
	return nil
}

func (s *scope) labels(name string) []string {
	seen := map[string]bool{}
	for ; s != nil; s = s.parent {
		for l := range s.instances[name] {
			seen[l] = true
		}
	}
	out := make([]string, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func (s *scope) customComponent(name string) *Block {
	for ; s != nil; s = s.parent {
		if b := s.custom[name]; b != nil {
			return b
		}
	}
	return nil
}

func (s *scope) isImport(namespace string) bool {
	for ; s != nil; s = s.parent {
		if s.imports[namespace] != nil {
			return true
		}
	}
	return false
}

// checkBody checks a file body, a declare body or a foreach template: a list
// of component blocks sharing one scope.
func (c *checker) checkBody(body Body, sc *scope) {
	// Custom components and import namespaces may be used before they are
	// declared, so collect them first.
	for _, stmt := range body {
		b, ok := stmt.(*Block)
		if !ok || !b.HasLabel || !isIdentifier(b.Label) {
			continue
		}
		switch name := b.FullName(); {
		case name == "declare":
			if sc.custom[b.Label] == nil {
				sc.custom[b.Label] = b
			}
		case strings.HasPrefix(name, "import.") && components[name] != nil:
			if sc.imports[b.Label] == nil {
				sc.imports[b.Label] = b
			}
		}
	}

	// Define every instance before resolving any reference: Alloy's graph
	// does not depend on the order of blocks in the file.
	unknown := map[*Block]bool{}
	for _, stmt := range body {
		if b, ok := stmt.(*Block); ok && !c.define(b, sc) {
			unknown[b] = true
		}
	}
	for _, stmt := range body {
		switch s := stmt.(type) {
		case *Attribute:
			c.report(s.NamePos, "move the attribute into the block it configures",
				"attribute %s is not allowed here: a config body holds only blocks", s.Name)
			c.checkReferences(s.Value, sc)
		case *Block:
			if unknown[s] {
				c.walkReferences(s.Body, sc)
			} else {
				c.checkComponent(s, sc)
			}
		}
	}
}

// define classifies a top-level block, checks its label and records the
// instance. It reports false when the block type is unknown.
func (c *checker) define(b *Block, sc *scope) bool {
	name := b.FullName()
	spec := components[name]
	known := spec != nil || sc.customComponent(name) != nil || (len(b.Name) > 1 && sc.isImport(b.Name[0]))
	if !known {
		// A warning, not an error: the table is a subset of one Alloy
		// release, and a component added by a later release is valid.
		// `alloy validate` of the pinned image is the authority on names.
		fix := "check the name against https://grafana.com/docs/alloy/" + TableVersion + "/reference/components/ (or run alloy validate); " +
			"if it is right, add it with its required arguments and exports to internal/alloy/components.go"
		if near := closestName(name, componentNames()); near != "" {
			fix = fmt.Sprintf("did you mean %s? (%s); if %s is right, add it to internal/alloy/components.go", near, docsURL(near), name)
		}
		kind := "component"
		if len(b.Name) == 1 {
			kind = "block"
		}
		c.warn(b.NamePos, fix, "unknown %s %s: not in the component table written for Alloy %s", kind, name, TableVersion)
		return false
	}

	if spec != nil && spec.unlabelled {
		if b.HasLabel {
			c.report(b.LabelPos, fmt.Sprintf("write %s { ... } without a label", name), "%s block takes no label", name)
		}
	} else if !b.HasLabel || b.Label == "" {
		at := b.NamePos
		if b.HasLabel {
			at = b.LabelPos
		}
		c.report(at, fmt.Sprintf(`name the instance: %s "default" { ... }`, name),
			"%s needs a label to name the instance", name)
		return true
	}

	label := b.Label
	if spec != nil && spec.unlabelled {
		label = ""
	}
	if first := sc.instances[name][label]; first != nil {
		fix := "give each instance a unique label, or merge the two blocks"
		if label == "" {
			fix = fmt.Sprintf("merge the two %s blocks into one", name)
		}
		c.report(b.NamePos, fix, "duplicate %s: already defined at %s", first.ID(), first.NamePos)
		return true
	}
	if sc.instances[name] == nil {
		sc.instances[name] = map[string]*Block{}
	}
	sc.instances[name][label] = b
	return true
}

// checkComponent checks the contents of a known top-level block.
func (c *checker) checkComponent(b *Block, sc *scope) {
	name := b.FullName()
	switch name {
	case "declare":
		// The body is a config body of its own, with its own instances.
		c.checkBody(b.Body, newScope(sc))
		return
	case "foreach":
		// The template is a config body instantiated per item; the rest of
		// the block is ordinary arguments.
		var args Body
		for _, stmt := range b.Body {
			if t, ok := stmt.(*Block); ok && t.FullName() == "template" {
				c.checkBody(t.Body, newScope(sc))
			} else {
				args = append(args, stmt)
			}
		}
		c.checkDuplicateAttributes(args, b.ID())
		c.walkReferences(args, sc)
	default:
		c.checkDuplicateAttributes(b.Body, b.ID())
		c.walkReferences(b.Body, sc)
	}

	spec := components[name]
	if spec == nil {
		return // a custom or imported component: its arguments are not known here
	}
	for _, arg := range spec.required {
		if attribute(b.Body, arg) == nil {
			c.report(b.NamePos, fmt.Sprintf("set %s inside the block (see %s)", arg, docsURL(name)),
				"%s is missing required argument %q", b.ID(), arg)
		}
	}
	for _, rb := range spec.blocks {
		found := nestedBlocks(b.Body, rb.name)
		if len(found) == 0 {
			c.report(b.NamePos, "add "+rb.example, "%s has no %s block%s", b.ID(), rb.name, rb.why)
		}
		for _, nb := range found {
			for _, arg := range rb.required {
				if attribute(nb.Body, arg) == nil {
					c.report(nb.NamePos, fmt.Sprintf("set %s inside the %s block", arg, rb.name),
						"%s block of %s is missing required argument %q", rb.name, b.ID(), arg)
				}
			}
		}
	}

	c.checkKnownArgs(b.Body, spec.args, b.ID(), name)
	for _, nb := range b.Body {
		if nb, ok := nb.(*Block); ok {
			if known, ok := spec.blockArgs[nb.FullName()]; ok {
				c.checkKnownArgs(nb.Body, known, nb.FullName()+" block of "+b.ID(), name)
			}
		}
	}

	if a := attribute(b.Body, "forward_to"); a != nil {
		c.checkReceiverList(a, "receiver", sc)
	}
	for path, export := range spec.receiverLists {
		for _, a := range attributesAt(b.Body, path) {
			c.checkReceiverList(a, export, sc)
		}
	}
	for _, path := range spec.ruleBlocks {
		for _, rule := range blocksAt(b.Body, path) {
			c.checkRule(rule, b)
		}
	}
}

// checkDuplicateAttributes reports an attribute set twice in one body, at
// any depth; Alloy rejects the file in that case.
func (c *checker) checkDuplicateAttributes(body Body, where string) {
	seen := map[string]*Attribute{}
	for _, stmt := range body {
		switch s := stmt.(type) {
		case *Attribute:
			if first := seen[s.Name]; first != nil {
				c.report(s.NamePos, "keep one of the two assignments",
					"attribute %s of %s is set twice (first at %s)", s.Name, where, first.NamePos)
				continue
			}
			seen[s.Name] = s
		case *Block:
			c.checkDuplicateAttributes(s.Body, s.ID()+" in "+where)
		}
	}
}

// walkReferences checks every reference in every attribute of body, at any
// depth.
func (c *checker) walkReferences(body Body, sc *scope) {
	for _, stmt := range body {
		switch s := stmt.(type) {
		case *Attribute:
			c.checkReferences(s.Value, sc)
		case *Block:
			c.walkReferences(s.Body, sc)
		}
	}
}

func (c *checker) checkReferences(e Expr, sc *scope) {
	Inspect(e, func(n Expr) bool {
		switch n.(type) {
		case *Ident, *Access:
			if path := ReferencePath(n); path != nil {
				c.checkReference(path, n.Position(), sc)
				return false // the chain is one reference, not several
			}
		}
		return true
	})
}

// target is what a reference path resolves to.
type target struct {
	name    string   // component name, e.g. "loki.write"
	n       int      // fragments of path the name takes
	exports []string // what the component exports
}

// resolve matches the start of a reference path against the components in
// scope. ok is false for anything that is not a component reference
// (functions such as sys.env, constants, module-imported components).
func resolve(path []string, sc *scope) (t target, ok bool) {
	for n := min(len(path), maxComponentFragments); n >= 1; n-- {
		name := strings.Join(path[:n], ".")
		if spec := components[name]; spec != nil {
			if spec.unlabelled {
				return target{}, false
			}
			return target{name: name, n: n, exports: spec.exports}, true
		}
	}
	if d := sc.customComponent(path[0]); d != nil {
		var exports []string
		for _, e := range nestedBlocks(d.Body, "export") {
			exports = append(exports, e.Label)
		}
		sort.Strings(exports)
		return target{name: path[0], n: 1, exports: exports}, true
	}
	return target{}, false
}

func (c *checker) checkReference(path []string, at Pos, sc *scope) {
	t, ok := resolve(path, sc)
	if !ok {
		return
	}
	ref := strings.Join(path, ".")
	example := func(label string) string {
		if len(t.exports) == 0 {
			return t.name + "." + label
		}
		return t.name + "." + label + "." + t.exports[0]
	}
	if len(path) == t.n {
		c.report(at, "reference an instance export, e.g. "+example("<label>"),
			"reference %s names component %s but no instance label", ref, t.name)
		return
	}
	label := path[t.n]
	if sc.instance(t.name, label) == nil {
		fix := fmt.Sprintf(`define %s "%s" { ... }`, t.name, label)
		if defined := sc.labels(t.name); len(defined) > 0 {
			fix = fmt.Sprintf("defined %s instances: %s", t.name, strings.Join(defined, ", "))
			if near := closestName(label, defined); near != "" {
				fix = "did you mean " + example(near) + "? " + fix
			}
		}
		c.report(at, fix, "reference %s: no %s %q is defined", ref, t.name, label)
		return
	}
	if len(t.exports) == 0 {
		c.report(at, "reference a component that exports values", "reference %s: %s exports nothing", ref, t.name)
		return
	}
	if len(path) == t.n+1 {
		c.report(at, "use "+example(label), "reference %s names no export of %s", ref, t.name)
		return
	}
	export := path[t.n+1]
	if !slices.Contains(t.exports, export) {
		c.report(at, fmt.Sprintf("exports of %s: %s", t.name, strings.Join(t.exports, ", ")),
			"reference %s: %s has no export %q", ref, t.name, export)
	}
}

// checkReceiverList checks an attribute such as forward_to: a list whose
// elements are references to receiver exports. A bare reference that is not
// a component (a module's argument.<name>.value) may hold a whole list.
func (c *checker) checkReceiverList(a *Attribute, export string, sc *scope) {
	example := "[loki.write.<label>.receiver]"
	if export != "receiver" {
		example = "[otelcol.exporter.otlp.<label>." + export + "]"
	}
	arr, isArray := a.Value.(*Array)
	if !isArray {
		if path := ReferencePath(a.Value); path != nil && !typedComponent(path, sc) {
			return
		}
		c.report(a.Value.Position(), fmt.Sprintf("%s = %s", a.Name, example),
			"%s must be a list of component references, got %s", a.Name, describeExpr(a.Value))
		return
	}
	for i, el := range arr.Elems {
		path := ReferencePath(el)
		if path == nil {
			c.report(el.Position(), fmt.Sprintf("write the element as a reference without quotes, e.g. %s", strings.Trim(example, "[]")),
				"%s[%d] must be a component reference, got %s", a.Name, i, describeExpr(el))
			continue
		}
		t, ok := resolve(path, sc)
		if !ok || !typedComponent(path, sc) || len(path) != t.n+2 || !slices.Contains(t.exports, path[t.n+1]) {
			continue // untyped, or a broken reference already reported
		}
		if got := path[t.n+1]; got != export {
			c.report(el.Position(), fmt.Sprintf("%s takes .%s exports, e.g. %s", a.Name, export, strings.Trim(example, "[]")),
				"%s[%d] references %s, which is not a %s", a.Name, i, strings.Join(path, "."), export)
		}
	}
}

// typedComponent reports whether path references a built-in component whose
// exports have known types. Module arguments, custom components and things
// that are not components could hold a list of receivers, so they are
// accepted wherever one is expected.
func typedComponent(path []string, sc *scope) bool {
	t, ok := resolve(path, sc)
	if !ok {
		return false
	}
	spec := components[t.name]
	return spec != nil && !spec.anyValue && sc.customComponent(t.name) == nil
}

// describeExpr names an expression's kind for messages.
func describeExpr(e Expr) string {
	switch n := e.(type) {
	case *Literal:
		switch n.Kind {
		case StringLit:
			return "string " + shorten(n.Raw, 60)
		case NumberLit, FloatLit:
			return "number " + n.Raw
		case BoolLit:
			return "bool " + n.Raw
		}
		return "null"
	case *Array:
		return "list"
	case *Object:
		return "object"
	case *Call:
		return "function call"
	case *Unary, *Binary:
		return "operator expression"
	case *Paren:
		return describeExpr(n.X)
	case *Index:
		return "index expression"
	}
	if path := ReferencePath(e); path != nil {
		return "reference " + strings.Join(path, ".")
	}
	return "expression"
}

// collectURLs records http(s) literals and Docker hosts. comp is the
// enclosing component (nil at a scope level: file, declare, template), path
// the attribute path inside it.
func (c *checker) collectURLs(body Body, comp *Block, path string) {
	for _, stmt := range body {
		switch s := stmt.(type) {
		case *Block:
			switch {
			case comp == nil && s.FullName() == "declare":
				c.collectURLs(s.Body, nil, "")
			case comp == nil && s.FullName() == "foreach":
				for _, st := range s.Body {
					if t, ok := st.(*Block); ok && t.FullName() == "template" {
						c.collectURLs(t.Body, nil, "")
					} else {
						c.collectURLs(Body{st}, s, "")
					}
				}
			case comp == nil:
				c.collectURLs(s.Body, s, "")
			default:
				c.collectURLs(s.Body, comp, joinPath(path, s.FullName()))
			}
		case *Attribute:
			attrPath := joinPath(path, s.Name)
			compID := ""
			if comp != nil {
				compID = comp.ID()
			}
			docker := false
			if comp != nil && path == "" && s.Name == "host" {
				if spec := components[comp.FullName()]; spec != nil && spec.dockerHost {
					if lit, ok := s.Value.(*Literal); ok && lit.Kind == StringLit {
						c.urls = append(c.urls, URL{Value: lit.Value, Pos: lit.Pos, Component: compID, Attribute: attrPath, DockerHost: true})
						docker = true
					}
				}
			}
			if !docker {
				c.collectExprURLs(s.Value, compID, attrPath)
			}
		}
	}
}

func (c *checker) collectExprURLs(e Expr, compID, path string) {
	switch n := e.(type) {
	case *Object:
		// Descend by hand so the field key becomes part of the path.
		for _, f := range n.Fields {
			c.collectExprURLs(f.Value, compID, joinPath(path, f.Name))
		}
		return
	case *Literal:
		if n.Kind == StringLit && isHTTPURL(n.Value) {
			c.urls = append(c.urls, URL{Value: n.Value, Pos: n.Pos, Component: compID, Attribute: path})
		}
		return
	}
	Inspect(e, func(x Expr) bool {
		if x == e {
			return true
		}
		c.collectExprURLs(x, compID, path)
		return false
	})
}

func isHTTPURL(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// attribute returns the first attribute called name directly in body.
func attribute(body Body, name string) *Attribute {
	for _, stmt := range body {
		if a, ok := stmt.(*Attribute); ok && a.Name == name {
			return a
		}
	}
	return nil
}

// nestedBlocks returns the blocks called name directly in body.
func nestedBlocks(body Body, name string) []*Block {
	var out []*Block
	for _, stmt := range body {
		if b, ok := stmt.(*Block); ok && b.FullName() == name {
			out = append(out, b)
		}
	}
	return out
}

// blocksAt follows a dotted path of nested block names, e.g.
// "endpoint.write_relabel_config". Every dot separates a step, so blocks
// with dotted names (stage.drop) cannot be addressed; none need to be.
func blocksAt(body Body, path string) []*Block {
	first, rest, more := strings.Cut(path, ".")
	if !more {
		return nestedBlocks(body, path)
	}
	var out []*Block
	for _, b := range nestedBlocks(body, first) {
		out = append(out, blocksAt(b.Body, rest)...)
	}
	return out
}

// attributesAt returns the attributes at a dotted path such as
// "output.logs".
func attributesAt(body Body, path string) []*Attribute {
	i := strings.LastIndex(path, ".")
	if i < 0 {
		if a := attribute(body, path); a != nil {
			return []*Attribute{a}
		}
		return nil
	}
	var out []*Attribute
	for _, b := range blocksAt(body, path[:i]) {
		if a := attribute(b.Body, path[i+1:]); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// checkKnownArgs warns about an attribute that is not among known, the
// arguments of TableVersion's reference (nil known: not checked). Alloy
// refuses an unknown argument, but a later release may have added it, so
// this is a warning that names the version.
func (c *checker) checkKnownArgs(body Body, known []string, where, component string) {
	if known == nil {
		return
	}
	for _, stmt := range body {
		a, ok := stmt.(*Attribute)
		if !ok || slices.Contains(known, a.Name) {
			continue
		}
		fix := fmt.Sprintf("check it against %s", docsURL(component))
		if near := closestName(a.Name, known); near != "" {
			fix = fmt.Sprintf("did you mean %s? (%s)", near, docsURL(component))
		}
		c.warn(a.NamePos, fix+"; if a later Alloy added it, add it to internal/alloy/components.go",
			"%s has no argument %s in the Alloy %s reference", where, a.Name, TableVersion)
	}
}
