package salesforcetest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SOQL subset:
//
//	SELECT f, ... FROM Obj [WHERE cond AND cond ...] [ORDER BY f [ASC|DESC]] [LIMIT n]
//	cond: f = v | f != v | f <> v | f < v | f <= v | f > v | f >= v | f [NOT] IN (v, ...) | f LIKE 'x%'
//	v: 'string' (\' \\ \n ... escapes) | number | true | false | null | 2026-01-02 | 2026-01-02T10:00:00Z
//
// Values are type-checked against the field like Salesforce does (a quoted
// date is an error, a long text area cannot be filtered); text compares
// case-insensitively. OR only inside one level of parentheses:
// "a AND (b OR c)".

type tokenKind int

const (
	tIdent tokenKind = iota
	tString
	tLiteral // number, date, dateTime
	tSymbol
	tEOF
)

type token struct {
	kind tokenKind
	text string
	pos  int
}

func malformedQuery(msg string) *requestError {
	return &requestError{status: http.StatusBadRequest, code: "MALFORMED_QUERY", msg: msg}
}

func lex(q string) ([]token, *requestError) {
	var out []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(q) {
				if q[j] == '\\' && j+1 < len(q) {
					switch q[j+1] {
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					case 'b':
						b.WriteByte('\b')
					case 'f':
						b.WriteByte('\f')
					case '\'', '"', '\\', '_', '%':
						if q[j+1] == '_' || q[j+1] == '%' {
							b.WriteByte('\\')
						}
						b.WriteByte(q[j+1])
					default:
						return nil, malformedQuery(fmt.Sprintf("Invalid string literal: illegal escape sequence \\%c", q[j+1]))
					}
					j += 2
					continue
				}
				if q[j] == '\'' {
					closed = true
					break
				}
				b.WriteByte(q[j])
				j++
			}
			if !closed {
				return nil, malformedQuery("unexpected end of query: unterminated string literal")
			}
			out = append(out, token{kind: tString, text: b.String(), pos: i})
			i = j + 1
		case strings.IndexByte("(),", c) >= 0:
			out = append(out, token{kind: tSymbol, text: string(c), pos: i})
			i++
		case c == '=' || c == '<' || c == '>' || c == '!':
			j := i + 1
			if j < len(q) && (q[j] == '=' || (c == '<' && q[j] == '>')) {
				j++
			}
			op := q[i:j]
			if op == "!" {
				return nil, malformedQuery(fmt.Sprintf("unexpected token: '!' at %d", i))
			}
			out = append(out, token{kind: tSymbol, text: op, pos: i})
			i = j
		case c >= '0' && c <= '9' || c == '-' || c == '+':
			j := i + 1
			for j < len(q) && strings.IndexByte("0123456789-:.TZ+", q[j]) >= 0 {
				j++
			}
			out = append(out, token{kind: tLiteral, text: q[i:j], pos: i})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(q) && (q[j] == '_' || q[j] == '.' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z' || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			out = append(out, token{kind: tIdent, text: q[i:j], pos: i})
			i = j
		default:
			return nil, malformedQuery(fmt.Sprintf("unexpected token: '%c' at %d", c, i))
		}
	}
	return append(out, token{kind: tEOF, pos: len(q)}), nil
}

type cond struct {
	f      *field
	op     string // = != < <= > >= IN NOTIN LIKE
	values []any
	lower  map[string]bool
	// or holds the alternatives of a parenthesised "(c OR c ...)" group.
	or []cond
}

type soqlQuery struct {
	obj    *object
	fields []*field
	conds  []cond
	order  *field
	desc   bool
	limit  int
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}
func (p *parser) keyword(kw string) bool {
	if t := p.peek(); t.kind == tIdent && strings.EqualFold(t.text, kw) {
		p.i++
		return true
	}
	return false
}
func (p *parser) symbol(s string) bool {
	if t := p.peek(); t.kind == tSymbol && t.text == s {
		p.i++
		return true
	}
	return false
}
func unexpected(t token) *requestError {
	if t.kind == tEOF {
		return malformedQuery("unexpected end of query")
	}
	return malformedQuery(fmt.Sprintf("unexpected token: '%s' at %d", t.text, t.pos))
}

func (s *Server) parseSOQL(q string) (*soqlQuery, *requestError) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if !p.keyword("SELECT") {
		return nil, unexpected(p.peek())
	}
	var names []string
	for {
		t := p.next()
		if t.kind != tIdent || strings.EqualFold(t.text, "FROM") {
			return nil, unexpected(t)
		}
		names = append(names, t.text)
		if !p.symbol(",") {
			break
		}
	}
	if !p.keyword("FROM") {
		return nil, unexpected(p.peek())
	}
	ot := p.next()
	o := s.schema[strings.ToLower(ot.text)]
	if ot.kind != tIdent || o == nil {
		return nil, &requestError{status: http.StatusBadRequest, code: "INVALID_TYPE",
			msg: fmt.Sprintf("sObject type '%s' is not supported.", ot.text)}
	}
	sq := &soqlQuery{obj: o, limit: -1}
	for _, n := range names {
		f := o.field(n)
		if f == nil {
			return nil, invalidField(n, o.name)
		}
		sq.fields = append(sq.fields, f)
	}
	if p.keyword("WHERE") {
		for {
			c, err := p.cond(o)
			if err != nil {
				return nil, err
			}
			sq.conds = append(sq.conds, c)
			if p.keyword("AND") {
				continue
			}
			if t := p.peek(); t.kind == tIdent && strings.EqualFold(t.text, "OR") {
				return nil, malformedQuery("the double supports AND only, not OR")
			}
			break
		}
	}
	if p.keyword("ORDER") {
		if !p.keyword("BY") {
			return nil, unexpected(p.peek())
		}
		t := p.next()
		f := o.field(t.text)
		if t.kind != tIdent || f == nil {
			return nil, invalidField(t.text, o.name)
		}
		sq.order = f
		if p.keyword("DESC") {
			sq.desc = true
		} else {
			p.keyword("ASC")
		}
	}
	if p.keyword("LIMIT") {
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind != tLiteral || err != nil || n < 0 {
			return nil, unexpected(t)
		}
		sq.limit = n
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, unexpected(t)
	}
	return sq, nil
}

func (p *parser) cond(o *object) (cond, *requestError) {
	t := p.next()
	if t.kind == tSymbol && t.text == "(" {
		var g cond
		for {
			c, err := p.cond(o)
			if err != nil {
				return cond{}, err
			}
			g.or = append(g.or, c)
			if p.keyword("OR") {
				continue
			}
			if !p.symbol(")") {
				return cond{}, malformedQuery("the double supports (c OR c ...) groups only")
			}
			return g, nil
		}
	}
	if t.kind != tIdent {
		return cond{}, unexpected(t)
	}
	f := o.field(t.text)
	if f == nil {
		return cond{}, invalidField(t.text, o.name)
	}
	if f.typ == FieldTextArea {
		return cond{}, &requestError{status: http.StatusBadRequest, code: "INVALID_FIELD",
			msg: fmt.Sprintf("field '%s' can not be filtered in a query call", f.name)}
	}
	c := cond{f: f}
	switch {
	case p.keyword("IN"):
		c.op = "IN"
	case p.keyword("NOT"):
		if !p.keyword("IN") {
			return cond{}, unexpected(p.peek())
		}
		c.op = "NOTIN"
	case p.keyword("LIKE"):
		c.op = "LIKE"
	default:
		op := p.next()
		if op.kind != tSymbol || !slices.Contains([]string{"=", "!=", "<>", "<", "<=", ">", ">="}, op.text) {
			return cond{}, unexpected(op)
		}
		c.op = op.text
		if c.op == "<>" {
			c.op = "!="
		}
	}
	if c.op == "IN" || c.op == "NOTIN" {
		if !p.symbol("(") {
			return cond{}, unexpected(p.peek())
		}
		for {
			v, err := p.value(f)
			if err != nil {
				return cond{}, err
			}
			c.values = append(c.values, v)
			if p.symbol(",") {
				continue
			}
			if !p.symbol(")") {
				return cond{}, unexpected(p.peek())
			}
			break
		}
		c.lower = map[string]bool{}
		for _, v := range c.values {
			if s, ok := v.(string); ok {
				c.lower[strings.ToLower(s)] = true
			} else {
				c.lower = nil
				break
			}
		}
		return c, nil
	}
	v, err := p.value(f)
	if err != nil {
		return cond{}, err
	}
	if c.op == "LIKE" {
		if _, ok := v.(string); !ok || !f.typ.stringy() {
			return cond{}, &requestError{status: http.StatusBadRequest, code: "INVALID_FIELD",
				msg: fmt.Sprintf("invalid operator on field '%s'", f.name)}
		}
	}
	c.values = []any{v}
	return c, nil
}

var dateLiteral = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// value parses a literal and checks it against the field type.
func (p *parser) value(f *field) (any, *requestError) {
	t := p.next()
	mismatch := func(kind string) *requestError {
		return &requestError{status: http.StatusBadRequest, code: "INVALID_FIELD",
			msg: fmt.Sprintf("value of filter criterion for field '%s' must be of type %s and should not be enclosed in quotes", f.name, kind)}
	}
	if t.kind == tIdent && strings.EqualFold(t.text, "null") {
		return nil, nil
	}
	switch {
	case f.typ.stringy():
		if t.kind != tString {
			return nil, &requestError{status: http.StatusBadRequest, code: "INVALID_FIELD",
				msg: fmt.Sprintf("value of filter criterion for field '%s' must be of type string and should be enclosed in quotes", f.name)}
		}
		return t.text, nil
	case f.typ == FieldBool:
		if t.kind == tIdent && (strings.EqualFold(t.text, "true") || strings.EqualFold(t.text, "false")) {
			return strings.EqualFold(t.text, "true"), nil
		}
		return nil, mismatch("boolean")
	case f.typ == FieldInt:
		n, err := strconv.ParseInt(t.text, 10, 64)
		if t.kind != tLiteral || err != nil {
			return nil, mismatch("double")
		}
		return n, nil
	case f.typ == FieldDate:
		if t.kind != tLiteral || !dateLiteral.MatchString(t.text) {
			return nil, mismatch("date")
		}
		return t.text, nil
	case f.typ == FieldDateTime:
		tm, ok := parseDateTime(t.text)
		if t.kind != tLiteral || !ok {
			return nil, mismatch("dateTime")
		}
		return tm, nil
	}
	return nil, unexpected(t)
}

// compare orders a stored value against a literal: -1, 0, 1; ok false when
// either is null.
func compare(f *field, stored, lit any) (int, bool) {
	if stored == nil || lit == nil {
		return 0, false
	}
	switch a := stored.(type) {
	case string:
		b, _ := lit.(string)
		return strings.Compare(strings.ToLower(a), strings.ToLower(b)), true
	case int64:
		b, _ := lit.(int64)
		switch {
		case a < b:
			return -1, true
		case a > b:
			return 1, true
		}
		return 0, true
	case bool:
		b, _ := lit.(bool)
		if a == b {
			return 0, true
		}
		return 1, true
	case time.Time:
		b, _ := lit.(time.Time)
		return a.Compare(b), true
	}
	return 0, false
}

func (c cond) eval(rec map[string]any) bool {
	if c.or != nil {
		for _, alt := range c.or {
			if alt.eval(rec) {
				return true
			}
		}
		return false
	}
	v := rec[c.f.name]
	switch c.op {
	case "=", "!=":
		var eq bool
		if c.values[0] == nil || v == nil {
			eq = c.values[0] == nil && v == nil
		} else {
			n, _ := compare(c.f, v, c.values[0])
			eq = n == 0
		}
		return eq == (c.op == "=")
	case "IN", "NOTIN":
		in := false
		if sv, ok := v.(string); ok && c.lower != nil {
			return c.lower[strings.ToLower(sv)] == (c.op == "IN")
		}
		for _, lit := range c.values {
			if n, ok := compare(c.f, v, lit); ok && n == 0 {
				in = true
				break
			}
		}
		return in == (c.op == "IN")
	case "LIKE":
		s, _ := v.(string)
		return likeMatch(strings.ToLower(s), strings.ToLower(c.values[0].(string)))
	}
	n, ok := compare(c.f, v, c.values[0])
	if !ok {
		return false
	}
	switch c.op {
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	case ">=":
		return n >= 0
	}
	return false
}

// likeMatch matches SOQL LIKE patterns (% any run, _ one character, \% \_ literal).
func likeMatch(s, pat string) bool {
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case c == '\\' && i+1 < len(pat):
			i++
			re.WriteString(regexp.QuoteMeta(string(pat[i])))
		case c == '%':
			re.WriteString("(?s:.*)")
		case c == '_':
			re.WriteString("(?s:.)")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	ok, _ := regexp.MatchString(re.String(), s)
	return ok
}

func (s *Server) query(version, q string) (int, any) {
	if q == "" {
		return http.StatusBadRequest, errArray("MALFORMED_QUERY", "A query string has to be specified")
	}
	sq, err := s.parseSOQL(q)
	if err != nil {
		return err.status, errArray(err.code, err.msg)
	}
	// The narrowest indexed condition gives the candidates (index.go);
	// every condition is still tested on each of them.
	scan := s.records[sq.obj.name]
	if recs, ok := s.narrowest(sq.obj.name, sq.conds); ok {
		scan = recs
	}
	var rows []map[string]any
	for _, rec := range scan {
		ok := true
		for _, c := range sq.conds {
			if !c.eval(rec) {
				ok = false
				break
			}
		}
		if ok {
			rows = append(rows, rec)
		}
	}
	if sq.order != nil {
		slices.SortStableFunc(rows, func(a, b map[string]any) int {
			va, vb := a[sq.order.name], b[sq.order.name]
			var n int
			switch {
			case va == nil && vb == nil:
			case va == nil:
				n = -1 // NULLS FIRST for ASC
			case vb == nil:
				n = 1
			default:
				n, _ = compare(sq.order, va, vb)
			}
			if sq.desc {
				n = -n
			}
			return n
		})
	}
	if sq.limit >= 0 && len(rows) > sq.limit {
		rows = rows[:sq.limit]
	}
	return http.StatusOK, s.page(version, &cursorState{obj: sq.obj, fields: sq.fields, rows: rows}, 0, "")
}

// cursorState is a query whose records are served page by page.
type cursorState struct {
	obj    *object
	fields []*field
	rows   []map[string]any
}

// page renders records [from, from+pageSize) and keeps a cursor for the rest.
func (s *Server) page(version string, cs *cursorState, from int, cursor string) map[string]any {
	end := min(from+s.cfg.QueryPageSize, len(cs.rows))
	recs := make([]any, 0, end-from)
	for _, r := range cs.rows[from:end] {
		recs = append(recs, s.renderOrdered(version, cs.obj, r, cs.fields))
	}
	ans := map[string]any{"totalSize": len(cs.rows), "done": end >= len(cs.rows), "records": recs}
	if end < len(cs.rows) {
		if cursor == "" {
			s.nextCursor++
			cursor = fmt.Sprintf("01g%015d", s.nextCursor)
			s.cursors[cursor] = cs
		}
		ans["nextRecordsUrl"] = fmt.Sprintf("/services/data/v%s/query/%s-%d", version, cursor, end)
	} else if cursor != "" {
		delete(s.cursors, cursor)
	}
	return ans
}

func (s *Server) queryMore(version, locator string) (int, any) {
	cursor, off, ok := strings.Cut(locator, "-")
	n, err := strconv.Atoi(off)
	cs, found := s.cursors[cursor]
	if !ok || err != nil || !found || n < 0 || n > len(cs.rows) {
		return http.StatusNotFound, errArray("INVALID_QUERY_LOCATOR", "invalid query locator")
	}
	return http.StatusOK, s.page(version, cs, n, cursor)
}
