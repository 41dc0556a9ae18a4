package double

import (
	"encoding/json"
	"errors"
	"slices"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeJSON reads the first JSON value of b as a json.Decoder with
// UseNumber decodes it into an any: objects as map[string]any (a repeated
// name keeps its last value), arrays as []any, strings with invalid UTF-8
// and lone surrogates replaced by U+FFFD, numbers as json.Number, and
// what follows the value is not read. It fails where that Decoder fails
// (errors are not worded alike). A double decodes every request body; this
// reads it in one pass, without the Decoder's buffer and second scan. The
// names, strings and numbers read share one copy of b (a string without
// escapes is a slice of it), so a value kept keeps that copy alive.
func DecodeJSON(b []byte) (any, error) {
	var dec Decoder
	return dec.Decode(b)
}

// DecodeJSONBody is DecodeJSON for a whole body, as json.Unmarshal reads
// one: the value may be followed by white space only.
func DecodeJSONBody(b []byte) (any, error) {
	var dec Decoder
	return dec.DecodeBody(b)
}

// Decoder is DecodeJSON and DecodeJSONBody for bodies read one after the
// other (a $batch's requests): an object or array is read into room the
// Decoder keeps from one body to the next, and made at its size when it
// ends, instead of made empty and grown (a map twice for a phone call
// create's 15 members, a slice by doubling for a collection's records).
// The zero Decoder is ready to use; it is not safe for concurrent use.
type Decoder struct {
	members []member
	elems   []any
}

// member is an object's member as read: its name and value.
type member struct {
	k string
	v any
}

// Decode is DecodeJSON.
func (dec *Decoder) Decode(b []byte) (any, error) {
	d := jsonDecoder{b: b, s: string(b), dec: dec}
	d.space()
	if d.i == len(d.b) {
		return nil, errJSON
	}
	return d.value(0)
}

// DecodeBody is DecodeJSONBody.
func (dec *Decoder) DecodeBody(b []byte) (any, error) {
	d := jsonDecoder{b: b, s: string(b), dec: dec}
	d.space()
	if d.i == len(d.b) {
		return nil, errJSON
	}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.space(); d.i != len(d.b) {
		return nil, errJSON
	}
	return v, nil
}

var errJSON = errors.New("invalid JSON")

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

type jsonDecoder struct {
	b []byte
	// s is b as a string: the strings read without escapes are its slices.
	s string
	i int
	// dec holds the members and elements of the objects and arrays being
	// read, innermost last.
	dec *Decoder
}

func (d *jsonDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// value reads the value at d.i (no white space before it) at the given
// nesting depth.
func (d *jsonDecoder) value(depth int) (any, error) {
	if d.i >= len(d.b) {
		return nil, errJSON
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		return d.str()
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, errJSON
}

func (d *jsonDecoder) literal(lit string) error {
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		return errJSON
	}
	d.i += len(lit)
	return nil
}

func (d *jsonDecoder) object(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errJSON
	}
	d.i++ // {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return map[string]any{}, nil
	}
	dec := d.dec
	if dec.members == nil {
		dec.members = make([]member, 0, 16)
	}
	base := len(dec.members)
	defer func() {
		clear(dec.members[base:])
		dec.members = dec.members[:base]
	}()
	for {
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, errJSON
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, errJSON
		}
		d.i++
		d.space()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		dec.members = append(dec.members, member{k, v})
		done, err := d.next('}')
		if err != nil {
			return nil, err
		}
		if done {
			// In the order read: a repeated name keeps its last value.
			ms := dec.members[base:]
			m := make(map[string]any, len(ms))
			for _, x := range ms {
				m[x.k] = x.v
			}
			return m, nil
		}
	}
}

func (d *jsonDecoder) array(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errJSON
	}
	d.i++ // [
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return []any{}, nil
	}
	dec := d.dec
	if dec.elems == nil {
		dec.elems = make([]any, 0, 16)
	}
	base := len(dec.elems)
	defer func() {
		clear(dec.elems[base:])
		dec.elems = dec.elems[:base]
	}()
	for {
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		dec.elems = append(dec.elems, v)
		done, err := d.next(']')
		if err != nil {
			return nil, err
		}
		if done {
			return slices.Clone(dec.elems[base:]), nil
		}
	}
}

// next reads what follows an element of an object or array: a comma and
// the space after it (done false), or the closing byte end (done true).
func (d *jsonDecoder) next(end byte) (done bool, err error) {
	d.space()
	if d.i >= len(d.b) {
		return false, errJSON
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		d.space()
		return false, nil
	case end:
		d.i++
		return true, nil
	}
	return false, errJSON
}

// number reads a number as the JSON grammar has it (RFC 8259 §6).
func (d *jsonDecoder) number() (any, error) {
	b, start := d.b, d.i
	i := start
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		from := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > from
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil, errJSON
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, errJSON
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, errJSON
		}
	}
	d.i = i
	return json.Number(d.s[start:i]), nil
}

// str reads a string at d.i (its opening quote) as encoding/json unquotes
// it.
func (d *jsonDecoder) str() (string, error) {
	b := d.b
	start := d.i + 1
	i := start
	// The common case: no escape, ASCII or valid UTF-8, no control byte.
	for i < len(b) {
		c := b[i]
		if c == '"' {
			d.i = i + 1
			return d.s[start:i], nil
		}
		if c == '\\' || c < ' ' {
			break
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	out := make([]byte, i-start, i-start+16)
	copy(out, b[start:i])
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			d.i = i + 1
			return string(out), nil
		case c < ' ':
			return "", errJSON
		case c == '\\':
			if i+1 >= len(b) {
				return "", errJSON
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r := hex4(b[i+2:])
				if r < 0 {
					return "", errJSON
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// A pair only if a second valid escape follows.
					if r2 := hex4u(b[i:]); r2 >= 0 {
						if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
							out = utf8.AppendRune(out, dec)
							i += 6
							continue
						}
					}
					r = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				return "", errJSON
			}
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, b[i:i+size]...)
			}
			i += size
		}
	}
	return "", errJSON
}

// hex4 reads the four hex digits at the start of b, or -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// hex4u reads a \uXXXX escape at the start of b, or -1.
func hex4u(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	return hex4(b[2:])
}
