package salesforcetest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"
)

// SOSL subset:
//
//	FIND {term OR term ...} IN PHONE FIELDS RETURNING Obj(f, ...), Obj(...) [LIMIT n]
//
// Terms separated by whitespace are ANDed, OR separates alternatives. Inside
// the braces the reserved characters ? & | ! { } [ ] ( ) ^ ~ * : \ " ' + -
// must be escaped with a backslash; the double refuses them unescaped (real
// SOSL reads them as operators or wildcards, which callsync never means).
// Over 4,000 characters the logical operators are dropped (terms ANDed);
// over 10,000 nothing is returned. At most 2,000 records (or LIMIT).

const (
	soslReserved       = `?&|!{}[]()^~*:\"'+-`
	soslMaxRecords     = 2000
	soslOperatorsLimit = 4000
	soslSearchLimit    = 10000
	// phoneSuffixDigits: the phone index also matches a term whose digits
	// end the stored number's digits when the term has at least this many
	// (Salesforce phone search ignores formatting and prefixes) [assumed].
	phoneSuffixDigits = 7
)

type soslQuery struct {
	groups  [][]string // OR of AND groups of unescaped terms
	raw     string
	objects []soslObject
	limit   int
	tooLong bool
}

type soslObject struct {
	obj    *object
	fields []*field
}

func malformedSearch(msg string) *requestError {
	return &requestError{status: http.StatusBadRequest, code: "MALFORMED_SEARCH", msg: msg}
}

func (s *Server) parseSOSL(q string) (*soslQuery, *requestError) {
	rest := strings.TrimSpace(q)
	kw, ok := cutKeyword(rest, "FIND")
	if !ok {
		return nil, malformedSearch("line 1:1 no viable alternative at input '" + abbreviate(rest) + "'")
	}
	rest = strings.TrimLeftFunc(kw, unicode.IsSpace)
	if !strings.HasPrefix(rest, "{") {
		return nil, malformedSearch("No search term found. The search term must be enclosed in braces.")
	}
	// Scan to the unescaped closing brace.
	end := -1
	for i := 1; i < len(rest); i++ {
		if rest[i] == '\\' {
			i++
			continue
		}
		if rest[i] == '}' {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, malformedSearch("No search term found. The search term must be enclosed in braces.")
	}
	sq := &soslQuery{raw: rest[1:end], limit: soslMaxRecords}
	if err := sq.parseTerms(); err != nil {
		return nil, err
	}
	rest = strings.TrimSpace(rest[end+1:])
	after, ok := cutKeyword(rest, "IN")
	if !ok {
		return nil, malformedSearch("the double supports FIND {...} IN PHONE FIELDS only")
	}
	after = strings.TrimSpace(after)
	after, ok1 := cutKeyword(after, "PHONE")
	after, ok2 := cutKeyword(strings.TrimSpace(after), "FIELDS")
	if !ok1 || !ok2 {
		return nil, malformedSearch("the double supports FIND {...} IN PHONE FIELDS only")
	}
	rest = strings.TrimSpace(after)
	after, ok = cutKeyword(rest, "RETURNING")
	if !ok {
		return nil, malformedSearch("the double needs a RETURNING clause")
	}
	rest = strings.TrimSpace(after)
	for {
		i := strings.IndexFunc(rest, func(r rune) bool { return r == '(' || r == ',' || unicode.IsSpace(r) })
		name := rest
		if i >= 0 {
			name = rest[:i]
		}
		o := s.schema[strings.ToLower(name)]
		if o == nil {
			return nil, &requestError{status: http.StatusBadRequest, code: "INVALID_TYPE",
				msg: fmt.Sprintf("sObject type '%s' is not supported.", name)}
		}
		rest = strings.TrimSpace(rest[len(name):])
		so := soslObject{obj: o}
		if strings.HasPrefix(rest, "(") {
			close := strings.IndexByte(rest, ')')
			if close < 0 {
				return nil, malformedSearch("unexpected end of RETURNING field list")
			}
			for _, fname := range strings.Split(rest[1:close], ",") {
				fname = strings.TrimSpace(fname)
				f := o.field(fname)
				if f == nil {
					return nil, invalidField(fname, o.name)
				}
				so.fields = append(so.fields, f)
			}
			rest = strings.TrimSpace(rest[close+1:])
		} else {
			so.fields = []*field{o.field("Id")}
		}
		sq.objects = append(sq.objects, so)
		if strings.HasPrefix(rest, ",") {
			rest = strings.TrimSpace(rest[1:])
			continue
		}
		break
	}
	if rest != "" {
		after, ok := cutKeyword(rest, "LIMIT")
		n, err := strconv.Atoi(strings.TrimSpace(after))
		if !ok || err != nil || n < 1 {
			return nil, malformedSearch("unexpected token: '" + abbreviate(rest) + "'")
		}
		sq.limit = min(n, soslMaxRecords)
	}
	return sq, nil
}

// parseTerms splits the search text into OR groups of unescaped terms.
func (sq *soslQuery) parseTerms() *requestError {
	sq.tooLong = len(sq.raw) > soslSearchLimit
	dropOperators := len(sq.raw) > soslOperatorsLimit
	var tokens []string
	var cur strings.Builder
	inToken := false
	flush := func() {
		if inToken {
			tokens = append(tokens, cur.String())
			cur.Reset()
			inToken = false
		}
	}
	raw := sq.raw
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '\\':
			if i+1 >= len(raw) {
				return malformedSearch("line 1:" + strconv.Itoa(i) + " dangling escape character")
			}
			i++
			cur.WriteByte(raw[i])
			inToken = true
		case c == ' ' || c == '\t' || c == '\n':
			flush()
		case strings.IndexByte(soslReserved, c) >= 0:
			return malformedSearch(fmt.Sprintf("line 1:%d no viable alternative at character '%c'", i, c))
		default:
			cur.WriteByte(c)
			inToken = true
		}
	}
	flush()
	// "OR" / "AND" tokens typed unescaped are operators.
	group := []string{}
	for _, t := range tokens {
		switch {
		case t == "OR" && !dropOperators:
			if len(group) == 0 {
				return malformedSearch("unexpected token: 'OR'")
			}
			sq.groups = append(sq.groups, group)
			group = []string{}
		case t == "AND" || t == "OR":
		default:
			if len([]rune(t)) < 2 {
				return malformedSearch("search term must be longer than one character: " + t)
			}
			group = append(group, t)
		}
	}
	if len(group) == 0 {
		return malformedSearch("No search term found.")
	}
	sq.groups = append(sq.groups, group)
	return nil
}

// cutKeyword removes a leading case-insensitive keyword followed by a space,
// brace or the end.
func cutKeyword(s, kw string) (string, bool) {
	if len(s) < len(kw) || !strings.EqualFold(s[:len(kw)], kw) {
		return s, false
	}
	rest := s[len(kw):]
	if rest != "" && !unicode.IsSpace(rune(rest[0])) && rest[0] != '{' {
		return s, false
	}
	return rest, true
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// phoneMatch is the double's model of the phone index: formatting is
// ignored; the term's digits equal the stored digits or, with at least
// phoneSuffixDigits digits, end them. Both arguments are digit strings.
func phoneMatch(sd, td string) bool {
	if td == "" || sd == "" {
		return false
	}
	return sd == td || (len(td) >= phoneSuffixDigits && strings.HasSuffix(sd, td))
}

func (s *Server) search(version, q string) (int, any) {
	sq, err := s.parseSOSL(q)
	if err != nil {
		return err.status, errArray(err.code, err.msg)
	}
	out := []any{}
	if sq.tooLong {
		return http.StatusOK, map[string]any{"searchRecords": out}
	}
	groups := make([][]string, len(sq.groups))
	for i, g := range sq.groups {
		for _, t := range g {
			groups[i] = append(groups[i], digits(t))
		}
	}
	for _, so := range sq.objects {
		var phones []*field
		for _, f := range so.obj.fields {
			if f.typ == FieldPhone && !f.hidden {
				phones = append(phones, f)
			}
		}
		var stored []string
		for _, rec := range s.phoneCandidates(so.obj.name, phones, groups) {
			if len(out) >= sq.limit {
				break
			}
			stored = stored[:0]
			for _, f := range phones {
				if v, ok := rec[f.name].(string); ok {
					if d := digits(v); d != "" {
						stored = append(stored, d)
					}
				}
			}
			if len(stored) > 0 && matchGroups(groups, stored) {
				out = append(out, s.renderOrdered(version, so.obj, rec, so.fields))
			}
		}
	}
	return http.StatusOK, map[string]any{"searchRecords": out}
}

// phoneKey is what the phone index keeps a phone's digits under: its last
// phoneSuffixDigits digits, or all of them when it has fewer. A term
// matches a stored phone (phoneMatch) only if both have the same key: the
// stored digits either equal the term's or end with at least
// phoneSuffixDigits of them.
func phoneKey(d string) string {
	return d[max(0, len(d)-phoneSuffixDigits):]
}

// phoneCandidates returns, in creation order, the records of obj that can
// match one of the OR groups of term digits on one of the phone fields:
// those holding, in one of them, a phone with the key of a group's first
// term (every term of a matching group matches one of the record's
// phones). The search tests each with matchGroups as a scan of every
// record would; before the index it scanned every contact per search.
func (s *Server) phoneCandidates(obj string, phones []*field, groups [][]string) []map[string]any {
	var ids []string
	for _, f := range phones {
		fi := s.fieldIndex(obj, f.name).withPhones(s.records[obj], f.name)
		for _, g := range groups {
			if g[0] == "" {
				continue // matches nothing
			}
			for id := range fi.phones[phoneKey(g[0])].all {
				ids = append(ids, id)
			}
		}
	}
	return s.inOrder(ids)
}

// matchGroups: some OR group has every term matching a stored phone.
func matchGroups(groups [][]string, stored []string) bool {
	for _, g := range groups {
		all := true
		for _, t := range g {
			hit := false
			for _, sd := range stored {
				if phoneMatch(sd, t) {
					hit = true
					break
				}
			}
			if !hit {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func invalidField(name, object string) *requestError {
	return &requestError{status: http.StatusBadRequest, code: "INVALID_FIELD",
		msg: fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to "+
			"append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "+
			"appropriate names.", name, object)}
}
