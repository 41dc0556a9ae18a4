// Package jsonw appends JSON the way encoding/json's Marshal writes it
// (strings HTML-escaped, a map's keys in sorted order, a json.RawMessage
// compacted), without reflection, for the request bodies and ledger payloads
// built once per call. The output is byte for byte what Marshal gives for
// the same values (see the package's tests, which compare the two).
package jsonw

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// htmlSafe reports whether Marshal writes the ASCII byte b in a string as it
// is: printable, and none of '"', '\\', '<', '>', '&' (encoding/json's
// htmlSafeSet).
func htmlSafe(b byte) bool {
	return b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
}

// AppendString appends s as a JSON string as Marshal writes a string:
// quotes, backslashes and control characters escaped, '<', '>' and '&' as
// \u003c, \u003e, \u0026, U+2028 and U+2029 as \u2028 and \u2029, and each
// byte of invalid UTF-8 as \ufffd.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if htmlSafe(b) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendInt appends n as Marshal writes an int.
func AppendInt(dst []byte, n int) []byte {
	return strconv.AppendInt(dst, int64(n), 10)
}

// AppendBool appends b as Marshal writes a bool.
func AppendBool(dst []byte, b bool) []byte {
	return strconv.AppendBool(dst, b)
}

// AppendRaw appends raw as Marshal writes a json.RawMessage: compacted,
// with '<', '>', '&', U+2028 and U+2029 inside its strings escaped; a nil
// raw is null. raw must be valid JSON (as a json.RawMessage filled by
// encoding/json's decoding is): a value that is already compact and escaped
// is copied after one scan and not validated; any other goes through
// json.Compact and json.HTMLEscape, as Marshal's own compaction does, and
// is an error when invalid.
func AppendRaw(dst []byte, raw []byte) ([]byte, error) {
	if raw == nil {
		return append(dst, "null"...), nil
	}
	if compactSafe(raw, true) {
		return append(dst, raw...), nil
	}
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return dst, err
	}
	var h bytes.Buffer
	json.HTMLEscape(&h, c.Bytes())
	return append(dst, h.Bytes()...), nil
}

// AppendCompact appends raw as json.Compact writes it (no HTML escaping).
// raw must be valid JSON, as for AppendRaw: a value that is already compact
// is copied after one scan and not validated; any other goes through
// json.Compact, and is an error when invalid.
func AppendCompact(dst []byte, raw []byte) ([]byte, error) {
	if compactSafe(raw, false) {
		return append(dst, raw...), nil
	}
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return dst, err
	}
	return append(dst, c.Bytes()...), nil
}

// compactSafe reports whether raw is non-empty, has no whitespace outside
// its strings and (with html) no '<', '>', '&' or byte 0xE2 (the first byte
// of U+2028 and U+2029) anywhere, so that compacting it (and escaping it as
// Marshal does) would change nothing. raw itself is not validated here: a
// false answer sends it through encoding/json, which does.
func compactSafe(raw []byte, html bool) bool {
	if len(raw) == 0 {
		return false
	}
	in := false
	for i := 0; i < len(raw); i++ {
		b := raw[i]
		if html && (b == '<' || b == '>' || b == '&' || b == 0xE2) {
			return false
		}
		switch {
		case in && b == '\\':
			i++
		case b == '"':
			in = !in
		case !in && (b == ' ' || b == '\t' || b == '\n' || b == '\r'):
			return false
		}
	}
	return !in
}

// Object is a JSON object whose members are written in key order, as
// Marshal writes a map[string]any: setting a key again replaces its value.
// The zero Object is empty and ready to use.
type Object struct {
	buf    []byte // the encoded values, one after another
	fields []field
}

type field struct {
	key        string
	start, end int // the value's bytes in buf
}

// set records the value just appended to o.buf from start on under key.
func (o *Object) set(key string, start int) {
	for i := range o.fields {
		if o.fields[i].key == key {
			o.fields[i].start, o.fields[i].end = start, len(o.buf)
			return
		}
	}
	o.fields = append(o.fields, field{key: key, start: start, end: len(o.buf)})
}

// String sets key to a string.
func (o *Object) String(key, v string) {
	start := len(o.buf)
	o.buf = AppendString(o.buf, v)
	o.set(key, start)
}

// Int sets key to an int.
func (o *Object) Int(key string, v int) {
	start := len(o.buf)
	o.buf = AppendInt(o.buf, v)
	o.set(key, start)
}

// Bool sets key to a bool.
func (o *Object) Bool(key string, v bool) {
	start := len(o.buf)
	o.buf = AppendBool(o.buf, v)
	o.set(key, start)
}

// Value sets key to v, JSON already encoded as Marshal would encode the
// value (for example another Object's Append).
func (o *Object) Value(key string, v []byte) {
	start := len(o.buf)
	o.buf = append(o.buf, v...)
	o.set(key, start)
}

// Grow makes room for members more members and bytes more bytes of
// encoded values, so that setting them does not grow o's memory again.
func (o *Object) Grow(members, bytes int) {
	o.fields = slices.Grow(o.fields, members)
	o.buf = slices.Grow(o.buf, bytes)
}

// ValueString is Value for JSON held in a string (a constant).
func (o *Object) ValueString(key, v string) {
	start := len(o.buf)
	o.buf = append(o.buf, v...)
	o.set(key, start)
}

// Len is the number of members.
func (o *Object) Len() int { return len(o.fields) }

// Append appends the object, its members in key order.
func (o *Object) Append(dst []byte) []byte {
	slices.SortFunc(o.fields, func(a, b field) int { return strings.Compare(a.key, b.key) })
	n := 2
	for _, f := range o.fields {
		n += len(f.key) + 4 + f.end - f.start
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, '{')
	for i, f := range o.fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, f.key)
		dst = append(dst, ':')
		dst = append(dst, o.buf[f.start:f.end]...)
	}
	return append(dst, '}')
}

// Reset empties o, keeping its memory for the next object.
func (o *Object) Reset() {
	o.buf, o.fields = o.buf[:0], o.fields[:0]
}
