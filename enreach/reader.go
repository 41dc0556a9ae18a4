package enreach

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// record is one JSON object read tolerantly: field names match
// case-insensitively, JSON null counts as absent, and the first field that
// cannot be read is remembered in err (the record is then quarantined as
// Malformed with that reason).
type record struct {
	raw    json.RawMessage
	fields map[string]json.RawMessage // lower-cased names
	id     string                     // best-effort id for Malformed
	err    error
}

func newRecord(raw json.RawMessage) (*record, error) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("not a JSON object: %s", snippet(b))
	}
	// Sized for its names: growing the map while decoding rehashed it
	// several times.
	m := make(map[string]json.RawMessage, min(bytes.Count(b, []byte(`":`)), 64))
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("invalid JSON object: %v", err)
	}
	// Names are lower-cased in place (one map per record, not two). A name
	// given twice in different casings keeps the value that is not null.
	r := &record{raw: raw, fields: m}
	for k, v := range m {
		lk := strings.ToLower(k)
		if lk == k {
			continue
		}
		delete(m, k)
		old, dup := m[lk]
		switch {
		case !dup || isNull(old):
			m[lk] = v
		case isNull(v) || bytes.Equal(bytes.TrimSpace(old), bytes.TrimSpace(v)):
		default:
			r.fail(k, "given twice in different casing with different values")
		}
	}
	return r, nil
}

func isNull(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

func snippet(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// lookup returns the first of names present and not null.
func (r *record) lookup(names ...string) (string, json.RawMessage, bool) {
	var buf [64]byte
	for _, n := range names {
		if v, ok := r.fields[string(lowerKey(buf[:0], n))]; ok && !isNull(v) {
			return n, v, true
		}
	}
	return names[0], nil, false
}

// lowerKey is n in lower case, written into buf: a map index of
// string(bytes) does not allocate.
func lowerKey(buf []byte, n string) []byte {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= 0x80 {
			return []byte(strings.ToLower(n))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

func (r *record) fail(field, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...))
	}
}

// idField reads the record's identifier (required) and remembers it for the
// quarantine.
func (r *record) idField(names ...string) string {
	id := r.str(names...)
	if id == "" {
		r.fail(names[0], "missing")
	}
	r.id = id
	return id
}

// str reads a string; numbers are accepted as their text.
func (r *record) str(names ...string) string {
	name, v, ok := r.lookup(names...)
	if !ok {
		return ""
	}
	s, err := scalarText(v)
	if err != nil {
		r.fail(name, "%v", err)
	}
	return s
}

// scalarText returns a JSON string's value or a number's literal.
func scalarText(v json.RawMessage) (string, error) {
	switch v[0] {
	case '"':
		// v is a string of a valid JSON object: without escapes its bytes
		// are the value, unless they are not UTF-8 (json.Unmarshal then
		// replaces them with U+FFFD).
		if len(v) >= 2 && v[len(v)-1] == '"' {
			if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
				return string(in), nil
			}
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", err
		}
		return s, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(v), nil
	}
	return "", fmt.Errorf("expected a string, got %s", snippet(v))
}

// integer reads a whole number from a JSON number or numeric string;
// fractions are rounded.
func (r *record) integer(names ...string) int {
	name, v, ok := r.lookup(names...)
	if !ok {
		return 0
	}
	s, err := scalarText(v)
	if err == nil && s == "" {
		return 0
	}
	f, perr := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || perr != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > math.MaxInt32 {
		r.fail(name, "not a number: %s", snippet(v))
		return 0
	}
	return int(math.Round(f))
}

// boolean reads true/false, 0/1 or their string forms.
func (r *record) boolean(names ...string) bool {
	name, v, ok := r.lookup(names...)
	if !ok {
		return false
	}
	b, err := parseBool(v)
	if err != nil {
		r.fail(name, "%v", err)
	}
	return b
}

func parseBool(v json.RawMessage) (bool, error) {
	switch string(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	s, err := scalarText(v)
	if err != nil {
		return false, fmt.Errorf("not a boolean: %s", snippet(v))
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1":
		return true, nil
	case "false", "no", "0", "":
		return false, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f != 0, nil
	}
	return false, fmt.Errorf("not a boolean: %s", snippet(v))
}

// direction reads a call direction, required: 0/1 (truthy = outbound, as
// the known clients read it), a boolean, or "Out"/"In" style strings.
func (r *record) direction(names ...string) bool {
	name, v, ok := r.lookup(names...)
	if !ok {
		r.fail(name, "missing")
		return false
	}
	if v[0] == '"' {
		var s string
		_ = json.Unmarshal(v, &s)
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "out", "outbound", "outgoing", "o":
			return true
		case "in", "inbound", "incoming", "i":
			return false
		}
	}
	out, err := parseBool(v)
	if err != nil {
		r.fail(name, "unknown direction %s", snippet(v))
	}
	return out
}

// strs reads a list of ids: an array of strings or numbers, or one
// comma-separated string.
func (r *record) strs(names ...string) []string {
	name, v, ok := r.lookup(names...)
	if !ok {
		return nil
	}
	if v[0] != '[' {
		s, err := scalarText(v)
		if err != nil {
			r.fail(name, "expected a list, got %s", snippet(v))
			return nil
		}
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(v, &elems); err != nil {
		r.fail(name, "%v", err)
		return nil
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		if isNull(e) {
			continue
		}
		s, err := scalarText(e)
		if err != nil {
			r.fail(name, "list element: %v", err)
			return nil
		}
		if s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// time reads an optional time (zero when absent or empty).
func (r *record) time(names ...string) time.Time {
	t := r.optTime(names...)
	if t == nil {
		return time.Time{}
	}
	return *t
}

// requiredTime reads a time that must be present.
func (r *record) requiredTime(names ...string) time.Time {
	t := r.optTime(names...)
	if t == nil {
		r.fail(names[0], "missing")
		return time.Time{}
	}
	return *t
}

// optTime reads an optional time (nil when absent, null or empty).
func (r *record) optTime(names ...string) *time.Time {
	name, v, ok := r.lookup(names...)
	if !ok {
		return nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		r.fail(name, "expected a time string, got %s", snippet(v))
		return nil
	}
	if strings.TrimSpace(s) == "" {
		return nil
	}
	t, err := ParseTime(s)
	if err != nil {
		r.fail(name, "%v", err)
		return nil
	}
	return &t
}

var timeLayouts = []string{
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02 15:04:05Z0700",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
}

// ParseTime reads an Enreach time: "yyyy-MM-dd HH:mm:ss" with an optional
// "T" separator, fraction and "Z" or numeric offset; a time without a zone
// is UTC (timestamps are UTC "even not suffixed with Z" [code]
// mokso/benerte-chrome-extension). The .NET "/Date(ms±hhmm)/" form is accepted
// too. The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "/Date(") && strings.HasSuffix(s, ")/") {
		return parseDotNetDate(s)
	}
	// The layout the text's shape names first (a failed time.Parse
	// allocates its error), then all of them; at most one layout reads a
	// given text, or several read it as the same instant.
	if l := likelyLayout(s); l != "" {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	for _, l := range timeLayouts {
		// Go accepts a fraction after the seconds even when the layout has none.
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q (want yyyy-MM-dd HH:mm:ss)", s)
}

// likelyLayout picks the layout of timeLayouts that fits s's separator and
// zone: "2026-11-20T09:30:00" has no zone, "...Z" and "...+02:00" one.
func likelyLayout(s string) string {
	if len(s) < len("2006-01-02 15:04:05") {
		return ""
	}
	sep := s[10]
	rest := s[19:]
	if i := strings.IndexFunc(rest, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		rest = rest[i:]
	} else {
		rest = ""
	}
	var l string
	switch {
	case rest == "":
		l = "2006-01-02 15:04:05"
	case rest == "Z" || (len(rest) == 6 && rest[3] == ':'):
		l = "2006-01-02 15:04:05Z07:00"
	default:
		l = "2006-01-02 15:04:05Z0700"
	}
	if sep == 'T' {
		l = l[:10] + "T" + l[11:]
	}
	return l
}

func parseDotNetDate(s string) (time.Time, error) {
	body := strings.TrimSuffix(strings.TrimPrefix(s, "/Date("), ")/")
	// The optional ±hhmm only says which zone to display; ms are UTC.
	if i := strings.LastIndexAny(body, "+-"); i > 0 {
		body = body[:i]
	}
	ms, err := strconv.ParseInt(body, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("unreadable time " + strconv.Quote(s))
	}
	return time.UnixMilli(ms).UTC(), nil
}
