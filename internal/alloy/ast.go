package alloy

import "strings"

// File is a parsed Alloy file: a body of top-level statements.
type File struct {
	Body Body
}

// Body is the statements of a file or of a block, in source order.
type Body []Stmt

// Stmt is an *Attribute or a *Block.
type Stmt interface {
	Position() Pos
	stmt()
}

// Attribute is `name = value`.
type Attribute struct {
	Name    string
	NamePos Pos
	Value   Expr
}

// Block is `name.parts "label" { body }`. Components are blocks with a
// dotted name and a label; settings such as `rule` or `endpoint` are blocks
// nested in them.
type Block struct {
	Name     []string // name fragments: loki.source.docker is {"loki", "source", "docker"}
	NamePos  Pos
	Label    string // unquoted label, "" when absent
	HasLabel bool   // distinguishes `x "" {}` from `x {}`
	LabelPos Pos
	Body     Body
	LBrace   Pos
	RBrace   Pos
}

func (a *Attribute) Position() Pos { return a.NamePos }
func (b *Block) Position() Pos     { return b.NamePos }
func (*Attribute) stmt()           {}
func (*Block) stmt()               {}

// FullName is the dotted block name, e.g. "discovery.relabel".
func (b *Block) FullName() string { return strings.Join(b.Name, ".") }

// ID is how Alloy names a component instance in messages:
// `loki.write "default"`, or just the name for an unlabelled block.
func (b *Block) ID() string {
	if !b.HasLabel {
		return b.FullName()
	}
	return b.FullName() + ` "` + b.Label + `"`
}

// Expr is any expression node. Position is where the expression starts.
type Expr interface {
	Position() Pos
	expr()
}

// LiteralKind tells the kinds of literal apart.
type LiteralKind int

const (
	StringLit LiteralKind = iota
	NumberLit             // integer, as written
	FloatLit              // number with fraction or exponent
	BoolLit
	NullLit
)

// Literal is a string, number, bool or null.
type Literal struct {
	Kind  LiteralKind
	Raw   string // source text; strings keep their quotes or backticks
	Value string // strings: the decoded value; otherwise same as Raw
	Pos   Pos
}

// Ident is a bare identifier such as `env` or the first fragment of
// `loki.write.default.receiver`.
type Ident struct {
	Name string
	Pos  Pos
}

// Access is `X.Name`. A chain of accesses over an Ident is a reference.
type Access struct {
	X       Expr
	Name    string
	NamePos Pos
}

// Index is `X[Index]`.
type Index struct {
	X      Expr
	Index  Expr
	LBrack Pos
	RBrack Pos
}

// Call is `Fn(Args...)`, e.g. sys.env("HOST").
type Call struct {
	Fn     Expr
	Args   []Expr
	LParen Pos
	RParen Pos
}

// Unary is `!X` or `-X`.
type Unary struct {
	Op    string
	OpPos Pos
	X     Expr
}

// Binary is `X Op Y`.
type Binary struct {
	Op    string
	OpPos Pos
	X, Y  Expr
}

// Paren is `(X)`; kept so positions and the source shape survive.
type Paren struct {
	X      Expr
	LParen Pos
	RParen Pos
}

// Array is `[a, b]`.
type Array struct {
	Elems  []Expr
	LBrack Pos
	RBrack Pos
}

// Object is `{ key = value, "quoted key" = value }`.
type Object struct {
	Fields []*Field
	LBrace Pos
	RBrace Pos
}

// Field is one `key = value` of an object.
type Field struct {
	Name    string
	Quoted  bool
	NamePos Pos
	Value   Expr
}

func (e *Literal) Position() Pos { return e.Pos }
func (e *Ident) Position() Pos   { return e.Pos }
func (e *Access) Position() Pos  { return e.X.Position() }
func (e *Index) Position() Pos   { return e.X.Position() }
func (e *Call) Position() Pos    { return e.Fn.Position() }
func (e *Unary) Position() Pos   { return e.OpPos }
func (e *Binary) Position() Pos  { return e.X.Position() }
func (e *Paren) Position() Pos   { return e.LParen }
func (e *Array) Position() Pos   { return e.LBrack }
func (e *Object) Position() Pos  { return e.LBrace }

func (*Literal) expr() {}
func (*Ident) expr()   {}
func (*Access) expr()  {}
func (*Index) expr()   {}
func (*Call) expr()    {}
func (*Unary) expr()   {}
func (*Binary) expr()  {}
func (*Paren) expr()   {}
func (*Array) expr()   {}
func (*Object) expr()  {}

// ReferencePath returns the fragments of a reference such as
// loki.write.default.receiver, or nil when e is not a plain chain of
// identifiers and field accesses.
func ReferencePath(e Expr) []string {
	var rev []string
	for {
		switch n := e.(type) {
		case *Access:
			rev = append(rev, n.Name)
			e = n.X
			continue
		case *Ident:
			rev = append(rev, n.Name)
			path := make([]string, len(rev))
			for i, s := range rev {
				path[len(rev)-1-i] = s
			}
			return path
		}
		return nil
	}
}

// Inspect walks e depth-first, calling visit for each node; when visit
// returns false the node's children are skipped.
func Inspect(e Expr, visit func(Expr) bool) {
	if e == nil || !visit(e) {
		return
	}
	switch n := e.(type) {
	case *Access:
		Inspect(n.X, visit)
	case *Index:
		Inspect(n.X, visit)
		Inspect(n.Index, visit)
	case *Call:
		Inspect(n.Fn, visit)
		for _, a := range n.Args {
			Inspect(a, visit)
		}
	case *Unary:
		Inspect(n.X, visit)
	case *Binary:
		Inspect(n.X, visit)
		Inspect(n.Y, visit)
	case *Paren:
		Inspect(n.X, visit)
	case *Array:
		for _, el := range n.Elems {
			Inspect(el, visit)
		}
	case *Object:
		for _, f := range n.Fields {
			Inspect(f.Value, visit)
		}
	}
}
