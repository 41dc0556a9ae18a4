package zohotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The COQL subset of the double: select <fields> from <module>
// [where <criteria>] [limit n [offset m] | limit m, n]. Criteria: =, !=, <>,
// >, <, >=, <=, [not] in (...), [not] like, is [not] null, [not] between ...
// and ..., combined with and/or in pairs: more than two criteria at one level
// must be bracketed ((A and B) and C), as at Zoho. Limits: 25 criteria, 100
// values per in, LIMIT 2000, 100,000 rows through OFFSET; multi-line fields
// (textarea) cannot be used in criteria. No rows → 204.

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tString
	tNumber
	tOp
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	text string
}

func (t token) is(word string) bool { return t.kind == tWord && strings.EqualFold(t.text, word) }

func lex(q string) ([]token, *apiError) {
	// Sized from lexTokens, so an in (...) list of a few hundred numbers
	// is not read into a slice grown by doubling.
	out := make([]token, 0, lexTokens(q))
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tLParen, "("})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")"})
			i++
		case c == ',':
			out = append(out, token{tComma, ","})
			i++
		case c == '\'' || c == '"':
			// A literal without a backslash before its closing quote is a
			// slice of q, as the loop below reads it.
			if k := strings.IndexByte(q[i+1:], c); k >= 0 && strings.IndexByte(q[i+1:i+1+k], '\\') < 0 {
				out = append(out, token{tString, q[i+1 : i+1+k]})
				i += k + 2
				continue
			}
			var b strings.Builder
			j := i + 1
			for ; j < len(q) && q[j] != c; j++ {
				if q[j] == '\\' && j+1 < len(q) {
					j++
				}
				b.WriteByte(q[j])
			}
			if j >= len(q) {
				return nil, syntaxError("where", q[i:])
			}
			out = append(out, token{tString, b.String()})
			i = j + 1
		case strings.ContainsRune("=!<>", rune(c)):
			j := i + 1
			if j < len(q) && (q[j] == '=' || (c == '<' && q[j] == '>')) {
				j++
			}
			op := q[i:j]
			if op == "!" {
				return nil, syntaxError("where", "!")
			}
			out = append(out, token{tOp, op})
			i = j
		case c >= '0' && c <= '9' || c == '-':
			j := i + 1
			for j < len(q) && (q[j] >= '0' && q[j] <= '9' || q[j] == '.') {
				j++
			}
			out = append(out, token{tNumber, q[i:j]})
			i = j
		case isWordByte(c):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			out = append(out, token{tWord, q[i:j]})
			i = j
		default:
			return nil, syntaxError("select", string(c))
		}
	}
	return append(out, token{kind: tEOF}), nil
}

// lexTokens is about how many tokens lex reads from q, the room it makes
// for them: a word, number, string or operator ends at a parenthesis, a
// comma, white space or the end (or where another kind of token begins),
// so q holds about twice as many as those, plus the end.
func lexTokens(q string) int {
	n := 0
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '(', ')', ',', ' ', '\t', '\n', '\r':
			n++
		}
	}
	return 2*n + 2
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c == '.'
}

func syntaxError(clause, near string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "SYNTAX_ERROR",
		message: fmt.Sprintf("error occured in the %s clause near %s", clause, near),
		details: map[string]any{"clause": clause, "near": near}}
}

func invalidQuery(msg string, details map[string]any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "INVALID_QUERY", message: msg, details: details}
}

func limitExceeded(msg string, details map[string]any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "LIMIT_EXCEEDED", message: msg, details: details}
}

type expr interface{ isExpr() }

type binary struct {
	op   string // and | or
	l, r expr
}

type cond struct {
	field  string
	op     string // = != > < >= <= in like null between
	not    bool
	values []token
}

func (*binary) isExpr() {}
func (*cond) isExpr()   {}

type query struct {
	fields   []string
	module   string
	where    expr
	limit    int
	offset   int
	criteria int
}

type parser struct {
	toks []token
	pos  int
	q    *query
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func parseQuery(src string) (*query, *apiError) {
	toks, e := lex(src)
	if e != nil {
		return nil, e
	}
	p := &parser{toks: toks, q: &query{limit: 200}}
	if !p.next().is("select") {
		return nil, syntaxError("select", toks[0].text)
	}
	for {
		t := p.next()
		if t.kind != tWord && t.kind != tString {
			return nil, syntaxError("select", t.text)
		}
		p.q.fields = append(p.q.fields, t.text)
		if p.peek().kind != tComma {
			break
		}
		p.next()
	}
	if !p.next().is("from") {
		return nil, syntaxError("from", p.toks[p.pos-1].text)
	}
	mod := p.next()
	if mod.kind != tWord {
		return nil, syntaxError("from", mod.text)
	}
	p.q.module = mod.text
	if p.peek().is("where") {
		p.next()
		w, e := p.parseGroup()
		if e != nil {
			return nil, e
		}
		p.q.where = w
	}
	if p.peek().is("limit") {
		p.next()
		n1, e := p.number("limit")
		if e != nil {
			return nil, e
		}
		p.q.limit = n1
		switch {
		case p.peek().kind == tComma:
			p.next()
			n2, e := p.number("limit")
			if e != nil {
				return nil, e
			}
			p.q.offset, p.q.limit = n1, n2
		case p.peek().is("offset"):
			p.next()
			n2, e := p.number("offset")
			if e != nil {
				return nil, e
			}
			p.q.offset = n2
		}
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, syntaxError("limit", t.text)
	}
	return p.q, nil
}

func (p *parser) number(clause string) (int, *apiError) {
	t := p.next()
	n, err := strconv.Atoi(t.text)
	if t.kind != tNumber || err != nil || n < 0 {
		return 0, syntaxError(clause, t.text)
	}
	return n, nil
}

// parseGroup parses one bracket level: a term, or two terms joined by and/or.
func (p *parser) parseGroup() (expr, *apiError) {
	l, e := p.parseTerm()
	if e != nil {
		return nil, e
	}
	t := p.peek()
	if !t.is("and") && !t.is("or") {
		return l, nil
	}
	p.next()
	r, e := p.parseTerm()
	if e != nil {
		return nil, e
	}
	if t2 := p.peek(); t2.is("and") || t2.is("or") {
		return nil, syntaxError("where", t2.text+" (more than two criteria must be grouped in brackets)")
	}
	return &binary{op: strings.ToLower(t.text), l: l, r: r}, nil
}

func (p *parser) parseTerm() (expr, *apiError) {
	if p.peek().kind == tLParen {
		p.next()
		e, err := p.parseGroup()
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tRParen {
			return nil, syntaxError("where", t.text)
		}
		return e, nil
	}
	f := p.next()
	if f.kind != tWord && f.kind != tString {
		return nil, syntaxError("where", f.text)
	}
	c := &cond{field: f.text}
	p.q.criteria++
	value := func() (token, *apiError) {
		t := p.next()
		if t.kind != tString && t.kind != tNumber && !t.is("true") && !t.is("false") {
			return t, syntaxError("where", t.text)
		}
		return t, nil
	}
	t := p.next()
	if t.is("not") {
		c.not = true
		t = p.next()
	}
	switch {
	case t.kind == tOp && !c.not:
		c.op = t.text
		if c.op == "<>" {
			c.op = "!="
		}
		v, e := value()
		if e != nil {
			return nil, e
		}
		c.values = []token{v}
	case t.is("in"):
		c.op = "in"
		if p.next().kind != tLParen {
			return nil, syntaxError("where", "in")
		}
		for {
			v, e := value()
			if e != nil {
				return nil, e
			}
			c.values = append(c.values, v)
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			break
		}
		if t := p.next(); t.kind != tRParen {
			return nil, syntaxError("where", t.text)
		}
	case t.is("like"):
		c.op = "like"
		v, e := value()
		if e != nil || v.kind != tString {
			return nil, syntaxError("where", v.text)
		}
		c.values = []token{v}
	case t.is("between"):
		c.op = "between"
		a, e := value()
		if e != nil {
			return nil, e
		}
		if !p.next().is("and") {
			return nil, syntaxError("where", "between")
		}
		b, e := value()
		if e != nil {
			return nil, e
		}
		c.values = []token{a, b}
	case t.is("is") && !c.not:
		c.op = "null"
		if p.peek().is("not") {
			p.next()
			c.not = true
		}
		if !p.next().is("null") {
			return nil, syntaxError("where", "is")
		}
	default:
		return nil, syntaxError("where", t.text)
	}
	return c, nil
}

// coqlInput is a /coql request body, read and its query parsed
// (readCOQL) before the handler runs.
type coqlInput struct {
	query string // select_query; "" when the body holds none
	q     *query
	err   *apiError // the query's syntax error
}

func readCOQL(body []byte) coqlInput {
	var req struct {
		SelectQuery string `json:"select_query"`
	}
	if json.Unmarshal(body, &req) != nil || strings.TrimSpace(req.SelectQuery) == "" {
		return coqlInput{}
	}
	in := coqlInput{query: req.SelectQuery}
	in.q, in.err = parseQuery(req.SelectQuery)
	return in
}

// handleCOQL serves POST /coql.
func (s *Server) handleCOQL(in coqlInput, entry *Request) (int, any, int64, *apiError) {
	if in.query == "" {
		return 0, nil, 1, &apiError{status: http.StatusBadRequest, code: "MANDATORY_NOT_FOUND", message: "required field not found",
			details: map[string]any{"api_name": "select_query"}}
	}
	entry.COQL = in.query
	q, e := in.q, in.err
	if e != nil {
		return 0, nil, 1, e
	}
	m := s.modules[q.module]
	if m == nil {
		return 0, nil, 1, invalidQuery("invalid module given", map[string]any{"module": q.module, "clause": "from"})
	}
	switch {
	case q.criteria > MaxCriteria:
		return 0, nil, 1, limitExceeded("the number of criteria exceeds the limit", map[string]any{"clause": "where", "limit": MaxCriteria})
	case q.limit > MaxLimit || q.limit < 1:
		return 0, nil, 1, limitExceeded("limit exceeded", map[string]any{"clause": "limit", "limit": MaxLimit})
	case q.offset+q.limit > MaxOffset:
		return 0, nil, 1, limitExceeded("offset exceeded", map[string]any{"clause": "offset", "limit": MaxOffset})
	case len(q.fields) > 500:
		return 0, nil, 1, limitExceeded("too many columns", map[string]any{"clause": "select", "limit": 500})
	}
	for _, f := range q.fields {
		if f != "id" && m.field(f) == nil {
			return 0, nil, 1, invalidQuery("invalid column given", map[string]any{"column_name": f, "clause": "select"})
		}
	}
	pred, e := s.compile(m, q.where)
	if e != nil {
		return 0, nil, 1, e
	}
	cost := int64(1)
	switch {
	case q.limit > 1000:
		cost = 3
	case q.limit > 200:
		cost = 2
	}
	var matched []string
	scan, narrowed := m.candidates(q.where, s.parseTime)
	if !narrowed {
		scan = m.order
	}
	for _, id := range scan {
		if pred(id, m.records[id]) {
			matched = append(matched, id)
		}
	}
	if q.offset >= len(matched) {
		return http.StatusNoContent, nil, cost, nil
	}
	end := min(len(matched), q.offset+q.limit)
	rows := make([]map[string]any, 0, end-q.offset)
	for _, id := range matched[q.offset:end] {
		row := map[string]any{"id": id}
		for _, f := range q.fields {
			if f == "id" {
				continue
			}
			if v, ok := m.records[id][f]; ok {
				row[f] = s.render(v, false)
			} else {
				row[f] = nil
			}
		}
		rows = append(rows, row)
	}
	return http.StatusOK, map[string]any{
		"data": rows,
		"info": map[string]any{"count": len(rows), "more_records": end < len(matched)},
	}, cost, nil
}

type predicate func(id string, rec map[string]any) bool

func (s *Server) compile(m *module, e expr) (predicate, *apiError) {
	switch e := e.(type) {
	case nil:
		return func(string, map[string]any) bool { return true }, nil
	case *binary:
		l, err := s.compile(m, e.l)
		if err != nil {
			return nil, err
		}
		r, err := s.compile(m, e.r)
		if err != nil {
			return nil, err
		}
		if e.op == "and" {
			return func(id string, rec map[string]any) bool { return l(id, rec) && r(id, rec) }, nil
		}
		return func(id string, rec map[string]any) bool { return l(id, rec) || r(id, rec) }, nil
	case *cond:
		return s.compileCond(m, e)
	}
	return nil, syntaxError("where", "?")
}

func (s *Server) compileCond(m *module, c *cond) (predicate, *apiError) {
	typ := Text
	if c.field != "id" {
		f := m.field(c.field)
		if f == nil {
			return nil, invalidQuery("invalid column given", map[string]any{"column_name": c.field, "clause": "where"})
		}
		typ = f.Type
	}
	if typ == TextArea {
		return nil, invalidQuery("multi-line fields are not supported in criteria", map[string]any{"column_name": c.field, "clause": "where"})
	}
	if c.op == "in" && len(c.values) > MaxInValues {
		return nil, limitExceeded("the number of values in the in operator exceeds the limit", map[string]any{"column_name": c.field, "limit": MaxInValues})
	}
	badOp := invalidQuery("invalid operator found", map[string]any{"operator": c.op, "column_name": c.field})
	allowed := map[FieldType]string{
		Text: "= != in like null", Phone: "= != in like null", Email: "= != in like null", Website: "= != in like null",
		Picklist: "= != in like null", DateTime: "= != > < >= <= in between null", Integer: "= != > < >= <= in between null",
		Decimal: "= != > < >= <= in between null", Lookup: "= != in null", OwnerLookup: "= != in null",
		MultiModuleLookup: "= != in null", Boolean: "=",
	}
	if !contains(strings.Fields(allowed[typ]), c.op) {
		return nil, badOp
	}
	if c.op == "null" {
		return func(_ string, rec map[string]any) bool {
			_, ok := rec[c.field]
			return ok == c.not
		}, nil
	}
	get := func(id string, rec map[string]any) (any, bool) {
		if c.field == "id" {
			return id, true
		}
		v, ok := rec[c.field]
		return v, ok
	}
	// Compile the literals into comparable values.
	switch typ {
	case DateTime, Integer, Decimal:
		var nums []float64
		for _, v := range c.values {
			if typ == DateTime {
				t, ok := s.parseTime(v.text)
				if !ok || v.kind != tString {
					return nil, invalidQuery("invalid value given for datetime", map[string]any{"column_name": c.field, "value": v.text})
				}
				nums = append(nums, float64(t.Unix()))
				continue
			}
			n, err := strconv.ParseFloat(v.text, 64)
			if err != nil {
				return nil, invalidQuery("invalid value given for number", map[string]any{"column_name": c.field, "value": v.text})
			}
			nums = append(nums, n)
		}
		return func(id string, rec map[string]any) bool {
			v, ok := get(id, rec)
			if !ok {
				return false
			}
			var x float64
			switch v := v.(type) {
			case time.Time:
				x = float64(v.Unix())
			case float64:
				x = v
			default:
				return false
			}
			return compareNum(c, x, nums)
		}, nil
	case Boolean:
		want := strings.EqualFold(c.values[0].text, "true")
		return func(id string, rec map[string]any) bool {
			v, ok := get(id, rec)
			b, isBool := v.(bool)
			return ok && isBool && b == want
		}, nil
	}
	var like *regexp.Regexp
	if c.op == "like" {
		parts := strings.Split(c.values[0].text, "%")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		like = regexp.MustCompile("(?is)^" + strings.Join(parts, ".*") + "$")
	}
	set := map[string]bool{}
	for _, lit := range c.values {
		set[strings.ToLower(lit.text)] = true
	}
	return func(id string, rec map[string]any) bool {
		v, ok := get(id, rec)
		if !ok {
			return false
		}
		var str string
		switch v := v.(type) {
		case string:
			str = v
		case ref:
			str = v.ID
		default:
			return false
		}
		var hit bool
		switch c.op {
		case "like":
			hit = like.MatchString(str)
		case "=", "!=", "in":
			hit = set[strings.ToLower(str)]
			if c.op == "!=" {
				return !hit
			}
		}
		return hit != c.not
	}, nil
}

func compareNum(c *cond, x float64, nums []float64) bool {
	var hit bool
	switch c.op {
	case "=":
		hit = x == nums[0]
	case "!=":
		hit = x != nums[0]
	case ">":
		hit = x > nums[0]
	case "<":
		hit = x < nums[0]
	case ">=":
		hit = x >= nums[0]
	case "<=":
		hit = x <= nums[0]
	case "between":
		hit = x >= nums[0] && x <= nums[1]
	case "in":
		for _, n := range nums {
			hit = hit || x == n
		}
	}
	if c.op == "in" || c.op == "between" {
		return hit != c.not
	}
	return hit
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
