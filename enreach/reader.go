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
	fields []field // each name once, in the order first given
	id     string  // best-effort id for Malformed
	err    error
}

// field is one member of a record: its value is a slice of the record's
// raw text (not a copy).
type field struct {
	// name as given when it is ASCII without escapes (matched ignoring
	// ASCII case), else lowered (strings.ToLower of its value).
	name    []byte
	lowered bool
	v       json.RawMessage
}

// is reports whether f's name in lower case is lower.
func (f *field) is(lower []byte) bool {
	if f.lowered || len(f.name) != len(lower) {
		return f.lowered && bytes.Equal(f.name, lower)
	}
	for i, c := range f.name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func newRecord(raw json.RawMessage) (*record, error) {
	return readRecord(raw, false)
}

// readRecord reads raw as a record; valid says raw is known to be valid
// JSON (an element decodeArray read: json.Decoder checked its syntax), so
// it is not checked again.
func readRecord(raw json.RawMessage, valid bool) (*record, error) {
	r := &record{}
	if err := r.read(raw, valid); err != nil {
		return nil, err
	}
	return r, nil
}

// read makes r the record of raw (as readRecord), reusing r's fields.
func (r *record) read(raw json.RawMessage, valid bool) error {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("not a JSON object: %s", snippet(b))
	}
	if !valid && !json.Valid(b) {
		return invalidObject(b)
	}
	// Members are read from the text itself: names are matched ignoring
	// case where they are looked up, values are slices of raw;
	// json.Unmarshal into a map copied every value and allocated every
	// name.
	*r = record{raw: raw, fields: r.fields[:0]}
	if r.fields == nil {
		r.fields = make([]field, 0, min(bytes.Count(b, []byte(`":`)), 64))
	}
	var buf [64]byte
	i := skipSpace(b, 1)
	for i < len(b) && b[i] == '"' {
		end := skipString(b, i)
		f := field{name: b[i+1 : max(end-1, i+1)]}
		if bytes.IndexByte(f.name, '\\') >= 0 || !isASCII(f.name) {
			var s string
			if json.Unmarshal(b[i:end], &s) != nil {
				return invalidObject(b)
			}
			f.name, f.lowered = []byte(strings.ToLower(s)), true
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return invalidObject(b)
		}
		i = skipSpace(b, i+1)
		end = skipValue(b, i)
		if end <= i {
			return invalidObject(b)
		}
		f.v = b[i:end]
		r.add(f, lowerBytes(buf[:0], f))
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	if i != len(b)-1 || b[i] != '}' {
		return invalidObject(b)
	}
	return nil
}

// invalidObject is the error for b, which is not a valid JSON object.
func invalidObject(b []byte) error {
	var m map[string]json.RawMessage
	err := json.Unmarshal(b, &m) // its error says what is wrong
	if err == nil {
		err = errors.New("unexpected member syntax")
	}
	return fmt.Errorf("invalid JSON object: %v", err)
}

// add adds f, whose lowered name is lower. A name given again in the same
// casing replaces the value (as json.Unmarshal does); in another casing,
// the value that is not null is kept, and two different values fail the
// record.
func (r *record) add(f field, lower []byte) {
	for j := range r.fields {
		old := &r.fields[j]
		if !old.is(lower) {
			continue
		}
		switch {
		case bytes.Equal(old.name, f.name) && old.lowered == f.lowered:
			old.v = f.v
		case isNull(old.v):
			old.v = f.v
		case isNull(f.v) || bytes.Equal(bytes.TrimSpace(old.v), bytes.TrimSpace(f.v)):
		default:
			r.fail(string(f.name), "given twice in different casing with different values")
		}
		return
	}
	r.fields = append(r.fields, f)
}

// lowerBytes is f's name in lower case, written into buf when it is ASCII.
func lowerBytes(buf []byte, f field) []byte {
	if f.lowered {
		return f.name
	}
	for _, c := range f.name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the end of the JSON string starting at b[i] (valid
// JSON): the index after its closing quote.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the end of the JSON value starting at b[i] (valid
// JSON).
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return len(b)
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
		lower := lowerKey(buf[:0], n)
		for j := range r.fields {
			if f := &r.fields[j]; f.is(lower) {
				if !isNull(f.v) {
					return n, f.v, true
				}
				break
			}
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
	var out []string
	// v is a valid JSON array: its elements are read in place.
	for i := skipSpace(v, 1); i < len(v) && v[i] != ']'; {
		end := skipValue(v, i)
		if end <= i {
			r.fail(name, "unreadable list %s", snippet(v))
			return nil
		}
		if e := v[i:end]; !isNull(e) {
			s, err := scalarText(e)
			if err != nil {
				r.fail(name, "list element: %v", err)
				return nil
			}
			if s != "" {
				out = append(out, s)
			}
		}
		i = skipSpace(v, end)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
	return out
}

// time reads an optional time (zero when absent or empty).
func (r *record) time(names ...string) time.Time {
	t, _ := r.timeOf(names...)
	return t
}

// requiredTime reads a time that must be present.
func (r *record) requiredTime(names ...string) time.Time {
	t, ok := r.timeOf(names...)
	if !ok {
		r.fail(names[0], "missing")
	}
	return t
}

// optTime reads an optional time (nil when absent, null or empty).
func (r *record) optTime(names ...string) *time.Time {
	t, ok := r.timeOf(names...)
	if !ok {
		return nil
	}
	return &t
}

// timeOf reads an optional time; ok is false when it is absent, null,
// empty or cannot be read (then r fails).
func (r *record) timeOf(names ...string) (t time.Time, ok bool) {
	name, v, ok := r.lookup(names...)
	if !ok {
		return time.Time{}, false
	}
	if v[0] != '"' {
		r.fail(name, "expected a time string, got %s", snippet(v))
		return time.Time{}, false
	}
	if t, ok := parseSimpleTime(v[1 : len(v)-1]); ok {
		return t, true
	}
	s, err := scalarText(v)
	if err != nil {
		r.fail(name, "expected a time string, got %s", snippet(v))
		return time.Time{}, false
	}
	if strings.TrimSpace(s) == "" {
		return time.Time{}, false
	}
	t, err = ParseTime(s)
	if err != nil {
		r.fail(name, "%v", err)
		return time.Time{}, false
	}
	return t, true
}

// parseSimpleTime reads "yyyy-MM-dd HH:mm:ss" or "yyyy-MM-ddTHH:mm:ss"
// (Enreach's form, UTC) as ParseTime does, without allocating; ok is false
// for any other text (ParseTime then reads it).
func parseSimpleTime(b []byte) (time.Time, bool) {
	if len(b) != len("2006-01-02 15:04:05") || b[4] != '-' || b[7] != '-' || (b[10] != ' ' && b[10] != 'T') ||
		b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // past the month's last day: time.Parse refuses it
		return time.Time{}, false
	}
	return t, true
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
