package alloy

import "fmt"

// MaxDepth bounds the nesting of blocks and expressions. Real configs nest a
// handful of levels; the bound keeps a hostile or corrupt file from
// exhausting the stack.
const MaxDepth = 200

// Parse parses an Alloy file. On failure it returns a nil *File and an
// *Error carrying the position of the first problem.
func Parse(src []byte) (*File, error) {
	p := &parser{lx: newLexer(src)}
	p.next()
	body, err := p.body(tokEOF)
	if err == nil && p.lx.err != nil {
		err = p.lx.err
	}
	if err != nil {
		return nil, err
	}
	return &File{Body: body}, nil
}

type parser struct {
	lx    *lexer
	tok   token
	depth int
}

func (p *parser) next() { p.tok = p.lx.next() }

// errorf builds an error at the current token. A lexical error always wins:
// the parser only sees tokEOF after one, and "unexpected end of file" would
// hide the real cause.
func (p *parser) errorf(hint, format string, args ...any) *Error {
	if p.lx.err != nil {
		return p.lx.err
	}
	return &Error{Pos: p.tok.pos, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

func (p *parser) expect(k tokenKind, hint string) (Pos, *Error) {
	at := p.tok.pos
	if p.tok.kind != k {
		return at, p.errorf(hint, "expected %s, got %s", k, p.tok.describe())
	}
	p.next()
	return at, nil
}

// enter counts one level of nesting; leave undoes it.
func (p *parser) enter() *Error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errorf("flatten the configuration", "nesting deeper than %d levels", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// body parses statements up to (not including) the until token.
//
//	Body = [ Statement { terminator Statement } ]
func (p *parser) body(until tokenKind) (Body, *Error) {
	var body Body
	for p.tok.kind != until && p.tok.kind != tokEOF {
		stmt, err := p.statement()
		if err != nil {
			return nil, err
		}
		body = append(body, stmt)
		if p.tok.kind == until {
			break
		}
		if p.tok.kind != tokTerminator {
			return nil, p.errorf("put each attribute and block on its own line",
				"expected line break after %s, got %s", describeStmt(stmt), p.tok.describe())
		}
		p.next()
	}
	if p.lx.err != nil {
		return nil, p.lx.err
	}
	return body, nil
}

func describeStmt(s Stmt) string {
	switch s := s.(type) {
	case *Attribute:
		return "attribute " + s.Name
	case *Block:
		return "block " + s.ID()
	}
	return "statement"
}

// statement parses an attribute or a block; both start with a name.
//
//	Attribute = identifier "=" Expression
//	Block     = identifier { "." identifier } [ string ] "{" Body "}"
func (p *parser) statement() (Stmt, *Error) {
	if p.tok.kind != tokIdent {
		return nil, p.errorf("start each statement with an attribute name or a block name",
			"expected attribute or block name, got %s", p.tok.describe())
	}
	start := p.tok.pos
	name := []string{p.tok.text}
	p.next()
	for p.tok.kind == tokDot {
		p.next()
		if p.tok.kind != tokIdent {
			return nil, p.errorf("block names are identifiers joined by dots, e.g. loki.source.docker",
				"expected identifier after \".\" in block name, got %s", p.tok.describe())
		}
		name = append(name, p.tok.text)
		p.next()
	}

	var label string
	var labelPos Pos
	hasLabel := false
	if p.tok.kind == tokString {
		labelPos = p.tok.pos
		if p.tok.text[0] != '"' {
			return nil, p.errorf(`write the label in double quotes, e.g. "default"`,
				"expected block label to be a double-quoted string, got %s", shorten(p.tok.text, 40))
		}
		label, hasLabel = p.tok.str, true
		if label != "" && !isIdentifier(label) {
			return nil, p.errorf("labels may contain only letters, digits and underscores, and must not start with a digit",
				"block label %q is not a valid identifier", label)
		}
		p.next()
	}

	switch p.tok.kind {
	case tokAssign:
		if len(name) > 1 {
			return nil, &Error{Pos: start, Msg: fmt.Sprintf("attribute name %q may not contain \".\"", joinName(name)),
				Hint: "use a single identifier, or a block if this was meant to be one"}
		}
		if hasLabel {
			return nil, &Error{Pos: labelPos, Msg: "attribute names may not have labels", Hint: "remove the label"}
		}
		p.next()
		value, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind == tokLBrace || p.tok.kind == tokString {
			return nil, p.errorf(`a block is written name "label" { ... } without "="`,
				"cannot assign a block to attribute %s", name[0])
		}
		return &Attribute{Name: name[0], NamePos: start, Value: value}, nil

	case tokLBrace:
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		b := &Block{Name: name, NamePos: start, Label: label, HasLabel: hasLabel, LabelPos: labelPos, LBrace: p.tok.pos}
		p.next()
		body, err := p.body(tokRBrace)
		if err != nil {
			return nil, err
		}
		b.Body = body
		if p.tok.kind != tokRBrace {
			return nil, p.errorf("close the block with }",
				"block %s opened at %s is not closed: got %s", b.ID(), b.LBrace, p.tok.describe())
		}
		b.RBrace = p.tok.pos
		p.next()
		return b, nil
	}

	if len(name) == 1 && !hasLabel {
		return nil, p.errorf(`write "name = value" for an attribute or "name { ... }" for a block`,
			"expected \"=\" or \"{\" after %s, got %s", name[0], p.tok.describe())
	}
	return nil, p.errorf(`a block is written name "label" { ... } with "{" on the same line`,
		"expected \"{\" after block name %s, got %s", joinName(name), p.tok.describe())
}

func joinName(name []string) string {
	s := name[0]
	for _, n := range name[1:] {
		s += "." + n
	}
	return s
}

// expr parses an expression.
//
//	Expression = OrExpr
func (p *parser) expr() (Expr, *Error) { return p.binary(1) }

// binary parses left-associative binary operators of at least precedence
// minPrec, climbing to tighter ones by recursion:
//
//	OrExpr  = AndExpr { "||" AndExpr }
//	AndExpr = CmpExpr { "&&" CmpExpr }
//	CmpExpr = AddExpr { ("==" | "!=" | "<" | "<=" | ">" | ">=") AddExpr }
//	AddExpr = MulExpr { ("+" | "-") MulExpr }
//	MulExpr = PowExpr { ("*" | "/" | "%") PowExpr }
func (p *parser) binary(minPrec int) (Expr, *Error) {
	lhs, err := p.power()
	if err != nil {
		return nil, err
	}
	// Each operator in a chain deepens the left-leaning tree by one level,
	// without recursion here; count it so tree walks stay bounded too.
	levels := 0
	defer func() { p.depth -= levels }()
	for {
		prec := p.tok.kind.binaryPrecedence()
		if prec == 0 || prec < minPrec {
			return lhs, nil
		}
		op := p.tok
		levels++
		if err := p.enter(); err != nil {
			return nil, err
		}
		p.next()
		rhs, err := p.binary(prec + 1)
		if err != nil {
			return nil, err
		}
		lhs = &Binary{Op: op.kind.operator(), OpPos: op.pos, X: lhs, Y: rhs}
	}
}

// power parses the right-associative "^".
//
//	PowExpr = UnaryExpr [ "^" PowExpr ]
func (p *parser) power() (Expr, *Error) {
	lhs, err := p.unary()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokPow {
		return lhs, nil
	}
	op := p.tok
	p.next()
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	rhs, err := p.power()
	if err != nil {
		return nil, err
	}
	return &Binary{Op: "^", OpPos: op.pos, X: lhs, Y: rhs}, nil
}

// unary parses prefix operators and postfix access, index and call.
//
//	UnaryExpr = ( "!" | "-" ) UnaryExpr | Primary { "." identifier | "[" Expression "]" | "(" [ List ] ")" }
func (p *parser) unary() (Expr, *Error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()

	if p.tok.kind == tokNot || p.tok.kind == tokSub {
		op := p.tok
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Unary{Op: op.kind.operator(), OpPos: op.pos, X: x}, nil
	}

	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	// Like operator chains, each postfix operation nests the tree one level.
	levels := 0
	defer func() { p.depth -= levels }()
	for {
		switch p.tok.kind {
		case tokDot, tokLBrack, tokLParen:
			levels++
			if err := p.enter(); err != nil {
				return nil, err
			}
		}
		switch p.tok.kind {
		case tokDot:
			p.next()
			if p.tok.kind != tokIdent {
				return nil, p.errorf("a reference is identifiers joined by dots, e.g. loki.write.default.receiver",
					"expected identifier after \".\", got %s", p.tok.describe())
			}
			x = &Access{X: x, Name: p.tok.text, NamePos: p.tok.pos}
			p.next()
		case tokLBrack:
			lbrack := p.tok.pos
			p.next()
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			rbrack, err := p.expect(tokRBrack, "close the index with ]")
			if err != nil {
				return nil, err
			}
			x = &Index{X: x, Index: idx, LBrack: lbrack, RBrack: rbrack}
		case tokLParen:
			lparen := p.tok.pos
			p.next()
			args, err := p.list(tokRParen, "argument list")
			if err != nil {
				return nil, err
			}
			rparen, err := p.expect(tokRParen, "close the call with )")
			if err != nil {
				return nil, err
			}
			x = &Call{Fn: x, Args: args, LParen: lparen, RParen: rparen}
		default:
			return x, nil
		}
	}
}

// primary parses literals, identifiers, parentheses, arrays and objects.
func (p *parser) primary() (Expr, *Error) {
	t := p.tok
	switch t.kind {
	case tokIdent:
		p.next()
		return &Ident{Name: t.text, Pos: t.pos}, nil
	case tokString:
		p.next()
		return &Literal{Kind: StringLit, Raw: t.text, Value: t.str, Pos: t.pos}, nil
	case tokNumber, tokFloat, tokBool, tokNull:
		p.next()
		kind := map[tokenKind]LiteralKind{tokNumber: NumberLit, tokFloat: FloatLit, tokBool: BoolLit, tokNull: NullLit}[t.kind]
		return &Literal{Kind: kind, Raw: t.text, Value: t.text, Pos: t.pos}, nil
	case tokLParen:
		p.next()
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		rparen, err := p.expect(tokRParen, "close the parenthesis")
		if err != nil {
			return nil, err
		}
		return &Paren{X: x, LParen: t.pos, RParen: rparen}, nil
	case tokLBrack:
		p.next()
		elems, err := p.list(tokRBrack, "list")
		if err != nil {
			return nil, err
		}
		rbrack, err := p.expect(tokRBrack, "close the list with ]")
		if err != nil {
			return nil, err
		}
		return &Array{Elems: elems, LBrack: t.pos, RBrack: rbrack}, nil
	case tokLBrace:
		p.next()
		fields, err := p.fields()
		if err != nil {
			return nil, err
		}
		rbrace, err := p.expect(tokRBrace, "close the object with }")
		if err != nil {
			return nil, err
		}
		return &Object{Fields: fields, LBrace: t.pos, RBrace: rbrace}, nil
	}
	return nil, p.errorf("write a value: a string, number, bool, null, list, object, reference or function call",
		"expected expression, got %s", t.describe())
}

// list parses comma-separated expressions up to until; a trailing comma is
// allowed and is required before a line break.
//
//	List = Expression { "," Expression } [ "," ]
func (p *parser) list(until tokenKind, what string) ([]Expr, *Error) {
	var out []Expr
	for p.tok.kind != until && p.tok.kind != tokEOF {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		out = append(out, x)
		if p.tok.kind == until {
			break
		}
		if p.tok.kind != tokComma {
			return nil, p.missingComma(what)
		}
		p.next()
	}
	return out, nil
}

// fields parses the inside of an object.
//
//	Fields = Field { "," Field } [ "," ]
//	Field  = ( identifier | string ) "=" Expression
func (p *parser) fields() ([]*Field, *Error) {
	var out []*Field
	for p.tok.kind != tokRBrace && p.tok.kind != tokEOF {
		f := &Field{NamePos: p.tok.pos}
		switch p.tok.kind {
		case tokIdent:
			f.Name = p.tok.text
		case tokString:
			f.Name, f.Quoted = p.tok.str, true
		default:
			return nil, p.errorf(`write object fields as key = value or "key" = value`,
				"expected object key (identifier or string), got %s", p.tok.describe())
		}
		p.next()
		if _, err := p.expect(tokAssign, `object fields are written key = value`); err != nil {
			return nil, err
		}
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		f.Value = v
		out = append(out, f)
		if p.tok.kind == tokRBrace {
			break
		}
		if p.tok.kind != tokComma {
			return nil, p.missingComma("object")
		}
		p.next()
	}
	return out, nil
}

func (p *parser) missingComma(what string) *Error {
	if p.tok.kind == tokTerminator {
		return p.errorf("end every element that is followed by a line break with a comma (a trailing comma is allowed)",
			"missing ',' before line break in %s", what)
	}
	return p.errorf("separate elements with commas", "missing ',' in %s, got %s", what, p.tok.describe())
}
