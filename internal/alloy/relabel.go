package alloy

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// relabelActions are the actions of Prometheus relabeling, which Alloy's
// rule blocks reuse. Alloy matches them exactly, so case matters.
var relabelActions = []string{
	"replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep",
	"keepequal", "dropequal", "lowercase", "uppercase",
}

// ruleArguments are the arguments a rule block accepts.
var ruleArguments = []string{"source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action"}

// checkRule validates one relabel rule the way Prometheus's
// relabel.Config.Validate would when Alloy loads it, so the mistake shows up
// in `opsctl check` rather than as a crash-looping collector.
func (c *checker) checkRule(rule *Block, owner *Block) {
	where := fmt.Sprintf("%s block of %s", rule.FullName(), owner.ID())
	for _, stmt := range rule.Body {
		switch s := stmt.(type) {
		case *Block:
			c.report(s.NamePos, "remove the block; rules take only arguments", "%s takes no nested block %s", where, s.FullName())
		case *Attribute:
			if !slices.Contains(ruleArguments, s.Name) {
				fix := "rule arguments are " + strings.Join(ruleArguments, ", ")
				if near := closestName(s.Name, ruleArguments); near != "" {
					fix = "did you mean " + near + "? " + fix
				}
				c.report(s.NamePos, fix, "%s has unknown argument %s", where, s.Name)
			}
		}
	}

	if a := attribute(rule.Body, "source_labels"); a != nil {
		if lit, ok := a.Value.(*Literal); ok {
			c.report(lit.Pos, fmt.Sprintf("source_labels = [%s]", lit.Raw),
				"source_labels of %s must be a list of label names, got %s", where, describeExpr(lit))
		}
	}

	if a := attribute(rule.Body, "regex"); a != nil {
		if re, ok := stringValue(a.Value); ok {
			// Prometheus anchors the expression on both ends before compiling;
			// compile it bare first so the error quotes what the user wrote.
			_, err := regexp.Compile(re)
			if err == nil {
				_, err = regexp.Compile("^(?:" + re + ")$")
			}
			if err != nil {
				c.report(a.Value.Position(), "fix the expression (RE2 syntax: no lookaround or backreferences)",
					"regex of %s does not compile: %v", where, unwrapRegexpError(err))
			}
		}
	}

	action := "replace" // Alloy's default when action is omitted
	actionAttr := attribute(rule.Body, "action")
	if actionAttr != nil {
		v, ok := stringValue(actionAttr.Value)
		if !ok {
			return // computed at run time; the action-specific rules cannot be applied
		}
		if !slices.Contains(relabelActions, v) {
			fix := "use one of " + strings.Join(relabelActions, ", ")
			if lower := strings.ToLower(v); slices.Contains(relabelActions, lower) {
				fix = fmt.Sprintf("write it in lower case: %q", lower)
			} else if near := closestName(lower, relabelActions); near != "" {
				fix = fmt.Sprintf("did you mean %q? %s", near, fix)
			}
			c.report(actionAttr.Value.Position(), fix, "action %q of %s is not a relabel action", v, where)
			return
		}
		action = v
	}

	switch action {
	case "replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal":
		a := attribute(rule.Body, "target_label")
		if v, ok := stringValue(exprOf(a)); a == nil || (ok && v == "") {
			at := rule.NamePos
			if a != nil {
				at = a.Value.Position()
			}
			fix := `set target_label = "<label name>"`
			if actionAttr == nil {
				fix += `, or set action (the default is "replace")`
			}
			c.report(at, fix, "%s with action %q needs target_label", where, action)
		}
	}
	switch action {
	case "hashmod":
		a := attribute(rule.Body, "modulus")
		if v, ok := a.numberValue(); a == nil || (ok && v == 0) {
			c.report(rule.NamePos, "set modulus to the number of shards, e.g. modulus = 4",
				"%s with action \"hashmod\" needs a non-zero modulus", where)
		}
	case "labeldrop", "labelkeep":
		var extra []string
		for _, name := range []string{"source_labels", "target_label", "modulus", "separator", "replacement"} {
			if attribute(rule.Body, name) != nil {
				extra = append(extra, name)
			}
		}
		if len(extra) > 0 {
			c.report(rule.NamePos, "remove "+strings.Join(extra, ", "),
				"%s with action %q takes only regex, but sets %s", where, action, strings.Join(extra, ", "))
		}
	case "lowercase", "uppercase", "keepequal", "dropequal":
		if a := attribute(rule.Body, "replacement"); a != nil {
			c.report(a.NamePos, "remove replacement", "%s with action %q cannot set replacement", where, action)
		}
	}
}

func exprOf(a *Attribute) Expr {
	if a == nil {
		return nil
	}
	return a.Value
}

// stringValue returns the value of a string literal, looking through
// parentheses; ok is false for anything computed.
func stringValue(e Expr) (string, bool) {
	for {
		p, ok := e.(*Paren)
		if !ok {
			break
		}
		e = p.X
	}
	lit, ok := e.(*Literal)
	if !ok || lit.Kind != StringLit {
		return "", false
	}
	return lit.Value, true
}

// numberValue returns the value of an integer literal attribute.
func (a *Attribute) numberValue() (uint64, bool) {
	if a == nil {
		return 0, false
	}
	lit, ok := a.Value.(*Literal)
	if !ok || lit.Kind != NumberLit {
		return 0, false
	}
	v, err := strconv.ParseUint(lit.Raw, 10, 64)
	return v, err == nil
}

// unwrapRegexpError drops regexp's "error parsing regexp: " prefix, which
// the message already implies.
func unwrapRegexpError(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}
