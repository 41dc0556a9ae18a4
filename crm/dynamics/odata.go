package dynamics

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// OData query building [Finding a caller by phone: $filter, Escaping].

// literal quotes s as an OData string literal: a ' inside is doubled.
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// inFilter is Dataverse's In query function over one column; one value
// collapses to eq, which is shorter.
func inFilter(column string, values []string) string {
	if len(values) == 1 {
		return column + " eq " + literal(values[0])
	}
	var b strings.Builder
	b.WriteString("Microsoft.Dynamics.CRM.In(PropertyName=")
	b.WriteString(literal(column))
	b.WriteString(",PropertyValues=[")
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(literal(v))
	}
	b.WriteString("])")
	return b.String()
}

// orJoin joins terms with or, parenthesised so an "and" can follow.
func orJoin(terms []string) string {
	if len(terms) == 1 {
		return terms[0]
	}
	return "(" + strings.Join(terms, " or ") + ")"
}

// dateLiteral formats a DateTimeOffset literal (unquoted, UTC).
func dateLiteral(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// queryEscape percent-encodes a query option value. Unreserved characters and
// the OData punctuation that is safe in a query stay as they are; '+' becomes
// %2B (a raw + would arrive as a space), '&', '#', ';', '%', space and
// brackets are encoded.
func queryEscape(s string) string {
	n := encodedLen(s)
	if n == len(s) {
		return s
	}
	b := make([]byte, 0, n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if queryKeeps(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return string(b)
}

const upperHex = "0123456789ABCDEF"

// queryKeeps reports whether queryEscape keeps c as it is.
func queryKeeps(c byte) bool {
	const keep = "-._~'()*,:=$@!/"
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(keep, c) >= 0
}

// queryURL builds {api}/{set}?$select=..&$filter=.. with the options encoded.
func queryURL(api, set string, sel []string, filter string) string {
	var b strings.Builder
	b.WriteString(api)
	b.WriteByte('/')
	b.WriteString(set)
	b.WriteString("?$select=")
	b.WriteString(queryEscape(strings.Join(sel, ",")))
	if filter != "" {
		b.WriteString("&$filter=")
		b.WriteString(queryEscape(filter))
	}
	return b.String()
}

// encodedLen is the length a filter fragment takes once encoded
// (len(queryEscape(s)), counted without building it).
func encodedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if !queryKeeps(s[i]) {
			n += 2
		}
	}
	return n
}

// column names are interpolated into filters and URLs: allow only what
// Dataverse logical names are made of.
func validColumn(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// row is one JSON object of a Web API collection.
type row map[string]any

func (r row) str(k string) string {
	switch v := r[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// has reports whether the key is present with a non-null value.
func (r row) has(k string) bool {
	v, ok := r[k]
	return ok && v != nil
}
