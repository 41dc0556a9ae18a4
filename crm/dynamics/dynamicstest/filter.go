package dynamicstest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A small OData $filter parser and evaluator for the subset callsync uses
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/filter-rows): eq ne gt ge lt le, and/or/not,
// parentheses, contains/startswith/endswith, Microsoft.Dynamics.CRM.In, and
// string, boolean, integer, GUID, DateTimeOffset and null literals. Errors
// are reported like the Web API: 400 with code 0x80060888.

// filterError is an OData query error (400).
type filterError struct{ msg string }

func (e *filterError) Error() string { return e.msg }

func errorf(format string, a ...any) error { return &filterError{fmt.Sprintf(format, a...)} }

type tokKind int

const (
	tkEOF tokKind = iota
	tkWord
	tkString
	tkAtom // number, GUID, date
	tkPunct
)

type token struct {
	kind tokKind
	text string // word/atom/punct text, or the decoded string
	pos  int
}

var (
	guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$`)
	intRe  = regexp.MustCompile(`^-?\d+$`)
	decRe  = regexp.MustCompile(`^-?\d+\.\d+$`)
)

func lex(s string) ([]token, error) {
	// Sized from lexTokens, so a search's In list of a few hundred
	// numbers is not read into a slice grown by doubling.
	out := make([]token, 0, lexTokens(s))
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case strings.IndexByte("(),[]=", c) >= 0:
			// s[i:i+1] reads as string(c) for these ASCII bytes, without
			// a string made for each.
			out = append(out, token{tkPunct, s[i : i+1], i})
			i++
		case c == '\'':
			// A literal without a doubled quote is a slice of s, as the
			// loop below reads it.
			if k := strings.IndexByte(s[i+1:], '\''); k >= 0 {
				if j := i + 1 + k; j+1 >= len(s) || s[j+1] != '\'' {
					out = append(out, token{tkString, s[i+1 : j], i})
					i = j + 1
					continue
				}
			}
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, errorf("Syntax error: unterminated string literal at position %d in '%s'.", i, s)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, token{tkString, b.String(), i})
			i = j + 1
		case c == '"':
			// JSON string inside a collection literal (In PropertyValues).
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, errorf("Syntax error: unterminated string literal at position %d in '%s'.", i, s)
			}
			v, plain := plainJSONString(s[i+1 : j])
			if !plain {
				if err := json.Unmarshal([]byte(s[i:j+1]), &v); err != nil {
					return nil, errorf("Syntax error: bad string literal at position %d in '%s'.", i, s)
				}
			}
			out = append(out, token{tkString, v, i})
			i = j + 1
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			// A GUID may start with a letter: a-f hex followed by '-'.
			if j < len(s) && s[j] == '-' && j-i == 8 {
				k := i
				for k < len(s) && (s[k] == '-' || isHex(s[k])) {
					k++
				}
				if guidRe.MatchString(s[i:k]) {
					out = append(out, token{tkAtom, s[i:k], i})
					i = k
					continue
				}
			}
			out = append(out, token{tkWord, s[i:j], i})
			i = j
		case c >= '0' && c <= '9' || c == '-':
			j := i + 1
			for j < len(s) && strings.IndexByte("0123456789abcdefABCDEF-:.TZ+", s[j]) >= 0 {
				j++
			}
			out = append(out, token{tkAtom, s[i:j], i})
			i = j
		default:
			return nil, errorf("Syntax error: character '%c' is not valid at position %d in '%s'.", c, i, s)
		}
	}
	out = append(out, token{kind: tkEOF, pos: len(s)})
	return out, nil
}

// lexTokens is about how many tokens lex reads from s, the room it makes
// for them: a token other than punctuation ends at punctuation, a space or
// the end (or, rarely, where another kind of token begins), so s holds
// about twice as many as its punctuation, spaces and tabs, plus the end.
func lexTokens(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', ')', ',', '[', ']', '=', ' ', '\t':
			n++
		}
	}
	return 2*n + 2
}

// plainJSONString returns the content of a JSON string literal (between
// its quotes) as json.Unmarshal reads it, when it is printable ASCII
// without an escape: then it is the content itself. ok is false for
// anything else (an escape, a control byte, a byte of a multi-byte or
// invalid UTF-8 sequence), which json.Unmarshal is left to read.
func plainJSONString(content string) (v string, ok bool) {
	for i := 0; i < len(content); i++ {
		if c := content[i]; c < 0x20 || c >= 0x80 || c == '\\' || c == '"' {
			return "", false
		}
	}
	return content, true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// value is a typed literal or column value.
type value struct {
	t    colType
	null bool
	s    string
	b    bool
	i    float64
	d    time.Time
}

// expr is a boolean filter node.
type expr interface {
	eval(r row) bool
}

type (
	orExpr  struct{ l, r expr }
	andExpr struct{ l, r expr }
	notExpr struct{ x expr }
	cmpExpr struct {
		op  string
		col string
		t   colType
		lit value
		// colRight is set when the literal was written on the left.
		flipped bool
	}
	strFunc struct {
		name string
		col  string
		arg  string
	}
	inExpr struct {
		col string
		t   colType
		// set holds the values as compared (sqlNorm).
		set map[string]bool
	}
)

func (e orExpr) eval(r row) bool  { return e.l.eval(r) || e.r.eval(r) }
func (e andExpr) eval(r row) bool { return e.l.eval(r) && e.r.eval(r) }
func (e notExpr) eval(r row) bool { return !e.x.eval(r) }

// sqlNorm is SQL Server's comparison of strings under a case-insensitive
// collation: case folded, trailing spaces ignored [assumed].
func sqlNorm(s string) string { return strings.ToLower(strings.TrimRight(s, " ")) }

func colValue(r row, col string, t colType) value {
	v, ok := r[col]
	if !ok || v == nil {
		return value{t: t, null: true}
	}
	switch x := v.(type) {
	case string:
		return value{t: t, s: x}
	case bool:
		return value{t: t, b: x}
	case int:
		return value{t: t, i: float64(x)}
	case time.Time:
		return value{t: t, d: x}
	}
	return value{t: t, null: true}
}

func compare(a, b value) int {
	switch a.t {
	case tString:
		return strings.Compare(sqlNorm(a.s), sqlNorm(b.s))
	case tGUID:
		return strings.Compare(strings.ToLower(a.s), strings.ToLower(b.s))
	case tBool:
		switch {
		case a.b == b.b:
			return 0
		case !a.b:
			return -1
		}
		return 1
	case tInt:
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	case tDate:
		return a.d.Compare(b.d)
	}
	return 0
}

func (e cmpExpr) eval(r row) bool {
	v := colValue(r, e.col, e.t)
	if e.lit.null || v.null {
		bothNull := e.lit.null && v.null
		switch e.op {
		case "eq":
			return bothNull
		case "ne":
			return !bothNull
		}
		return false
	}
	a, b := v, e.lit
	if e.flipped {
		a, b = b, a
	}
	c := compare(a, b)
	switch e.op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

func (e strFunc) eval(r row) bool {
	s, ok := r[e.col].(string)
	if !ok {
		return false
	}
	s, arg := strings.ToLower(s), strings.ToLower(e.arg)
	switch e.name {
	case "contains":
		return strings.Contains(s, arg)
	case "startswith":
		return strings.HasPrefix(s, arg)
	case "endswith":
		return strings.HasSuffix(s, arg)
	}
	return false
}

func (e inExpr) eval(r row) bool {
	v := colValue(r, e.col, e.t)
	if v.null {
		return false
	}
	var s string
	switch e.t {
	case tString, tGUID:
		s = v.s
	case tBool:
		s = strconv.FormatBool(v.b)
	case tInt:
		s = strconv.FormatFloat(v.i, 'f', -1, 64)
	case tDate:
		s = v.d.UTC().Format(time.RFC3339)
	}
	return e.set[sqlNorm(s)]
}

// parser builds an expr over one table, checking names and types.
type parser struct {
	src  string
	toks []token
	p    int
	t    *table
	// params counts the literal values, like the SQL parameters they become.
	params int
}

func parseFilter(t *table, src string) (expr, int, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, 0, err
	}
	p := &parser{src: src, toks: toks, t: t}
	e, err := p.or()
	if err != nil {
		return nil, 0, err
	}
	if p.peek().kind != tkEOF {
		return nil, 0, p.syntax()
	}
	return e, p.params, nil
}

// at returns token i, or the final EOF token past the end.
func (p *parser) at(i int) token {
	if i >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[i]
}

func (p *parser) peek() token { return p.at(p.p) }
func (p *parser) next() token { t := p.at(p.p); p.p++; return t }

func (p *parser) syntax() error {
	return errorf("Syntax error at position %d in '%s'.", p.peek().pos, p.src)
}

func (p *parser) expectPunct(s string) error {
	if t := p.next(); t.kind != tkPunct || t.text != s {
		p.p--
		return p.syntax()
	}
	return nil
}

func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tkWord && t.text == w
}

func (p *parser) or() (expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *parser) and() (expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *parser) unary() (expr, error) {
	if p.isWord("not") {
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{x}, nil
	}
	return p.primary()
}

func (p *parser) column(name string) (colType, error) {
	t, ok := p.t.cols[name]
	if !ok {
		return 0, errorf("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", name, p.t.logical)
	}
	return t, nil
}

func (p *parser) primary() (expr, error) {
	t := p.peek()
	if t.kind == tkPunct && t.text == "(" {
		p.next()
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return e, nil
	}
	if n := p.at(p.p + 1); t.kind == tkWord && n.kind == tkPunct && n.text == "(" {
		return p.call()
	}
	return p.comparison()
}

func (p *parser) call() (expr, error) {
	name := p.next().text
	p.next() // (
	switch name {
	case "contains", "startswith", "endswith":
		c := p.next()
		if c.kind != tkWord {
			p.p--
			return nil, p.syntax()
		}
		ct, err := p.column(c.text)
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(","); err != nil {
			return nil, err
		}
		a := p.next()
		if a.kind != tkString || ct != tString {
			return nil, errorf("No function signature for the function with name '%s' matches the specified arguments. The function signatures considered are: %s(Edm.String Nullable=true, Edm.String Nullable=true).", name, name)
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		p.params++
		return strFunc{name: name, col: c.text, arg: a.text}, nil
	case "Microsoft.Dynamics.CRM.In":
		var col string
		var values []string // grown below for the list read
		var haveValues bool
		for i := 0; i < 2; i++ {
			arg := p.next()
			if arg.kind != tkWord {
				p.p--
				return nil, p.syntax()
			}
			if err := p.expectPunct("="); err != nil {
				return nil, err
			}
			switch arg.text {
			case "PropertyName":
				v := p.next()
				if v.kind != tkString {
					p.p--
					return nil, p.syntax()
				}
				col = v.text
			case "PropertyValues":
				if err := p.expectPunct("["); err != nil {
					return nil, err
				}
				values = slices.Grow(values, p.listLen())
				for {
					v := p.next()
					if v.kind != tkString {
						p.p--
						return nil, p.syntax()
					}
					values = append(values, v.text)
					if n := p.next(); n.kind == tkPunct && n.text == "]" {
						break
					} else if n.kind != tkPunct || n.text != "," {
						p.p--
						return nil, p.syntax()
					}
				}
				haveValues = true
			default:
				return nil, errorf("The parameter '%s' is not defined for the function 'Microsoft.Dynamics.CRM.In'.", arg.text)
			}
			if i == 0 {
				if err := p.expectPunct(","); err != nil {
					return nil, err
				}
			}
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		if col == "" || !haveValues {
			return nil, errorf("Microsoft.Dynamics.CRM.In requires PropertyName and PropertyValues.")
		}
		ct, err := p.column(col)
		if err != nil {
			return nil, err
		}
		p.params += len(values)
		set := make(map[string]bool, len(values))
		for _, v := range values {
			set[sqlNorm(v)] = true
		}
		return inExpr{col: col, t: ct, set: set}, nil
	}
	return nil, errorf("An unknown function with name '%s' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.", name)
}

// listLen is the number of string literals from the current token on
// that are separated by commas: the values of an In list before its ].
func (p *parser) listLen() int {
	n := 0
	for _, t := range p.toks[min(p.p, len(p.toks)):] {
		if t.kind == tkString {
			n++
		} else if t.kind != tkPunct || t.text != "," {
			break
		}
	}
	return n
}

func (p *parser) comparison() (expr, error) {
	l := p.next()
	opTok := p.next()
	r := p.next()
	op := opTok.text
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
	default:
		p.p -= 2
		return nil, p.syntax()
	}
	if opTok.kind != tkWord {
		p.p -= 2
		return nil, p.syntax()
	}
	colTok, litTok, flipped := l, r, false
	if l.kind != tkWord || isLiteralWord(l.text) {
		colTok, litTok, flipped = r, l, true
	}
	if colTok.kind != tkWord || isLiteralWord(colTok.text) {
		return nil, errorf("Comparing two literals is not supported: position %d in '%s'.", l.pos, p.src)
	}
	ct, err := p.column(colTok.text)
	if err != nil {
		return nil, err
	}
	lit, err := p.literal(litTok, ct, op)
	if err != nil {
		return nil, err
	}
	p.params++
	return cmpExpr{op: op, col: colTok.text, t: ct, lit: lit, flipped: flipped}, nil
}

func isLiteralWord(w string) bool { return w == "true" || w == "false" || w == "null" }

var opNames = map[string]string{"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual", "lt": "LessThan", "le": "LessThanOrEqual"}

func (p *parser) literal(t token, ct colType, op string) (value, error) {
	mismatch := func(found string) error {
		return errorf("A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.", ct.edm(), found, opNames[op])
	}
	switch t.kind {
	case tkString:
		if ct != tString {
			return value{}, mismatch("Edm.String")
		}
		return value{t: tString, s: t.text}, nil
	case tkWord:
		switch t.text {
		case "null":
			return value{t: ct, null: true}, nil
		case "true", "false":
			if ct != tBool {
				return value{}, mismatch("Edm.Boolean")
			}
			return value{t: tBool, b: t.text == "true"}, nil
		}
		return value{}, errorf("Comparing two properties is not supported: '%s' at position %d in '%s'.", t.text, t.pos, p.src)
	case tkAtom:
		switch {
		case guidRe.MatchString(t.text):
			if ct != tGUID {
				return value{}, mismatch("Edm.Guid")
			}
			return value{t: tGUID, s: t.text}, nil
		case dateRe.MatchString(t.text):
			if ct != tDate {
				return value{}, mismatch("Edm.DateTimeOffset")
			}
			d, err := parseDate(t.text)
			if err != nil {
				return value{}, errorf("Syntax error: '%s' is not a valid Edm.DateTimeOffset.", t.text)
			}
			return value{t: tDate, d: d}, nil
		case intRe.MatchString(t.text) || decRe.MatchString(t.text):
			if ct != tInt {
				return value{}, mismatch("Edm.Int32")
			}
			f, _ := strconv.ParseFloat(t.text, 64)
			return value{t: tInt, i: f}, nil
		}
	}
	return value{}, p.syntax()
}

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if d, err := time.Parse(layout, s); err == nil {
			return d.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q", s)
}
