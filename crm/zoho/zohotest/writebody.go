package zohotest

import (
	"encoding/json"
	"unicode/utf8"
)

// readWriteFast is readWrite for the bodies clients send: a valid JSON
// object whose members are named exactly data, trigger or
// duplicate_check_fields, each at most once, data null or an array of
// objects, the other two null or arrays of strings, and every name and
// string read without escapes in valid UTF-8. Such a body is split in one
// pass: a record's values are slices of body, as json.Unmarshal's
// json.RawMessage copies would hold the same bytes. ok is false for any
// other body (a name in other case, which json.Unmarshal also takes, a
// repeated member, whose elements it merges, escapes, errors), which the
// caller reads with json.Unmarshal. json.Unmarshal's reflection and its
// copies were most of what the Zoho double spent on a backfill's inserts.
func readWriteFast(body []byte) (writeInput, bool) {
	if !json.Valid(body) {
		return writeInput{}, false
	}
	p := rawJSON{b: body}
	p.space()
	if p.b[p.i] != '{' {
		return writeInput{}, false
	}
	p.i++
	p.space()
	var in writeInput
	if p.b[p.i] == '}' {
		return in, true
	}
	var seen [3]bool
	for {
		name, ok := p.plainString()
		if !ok {
			return writeInput{}, false
		}
		p.space()
		p.i++ // ':'
		p.space()
		switch name {
		case "data":
			if seen[0] {
				return writeInput{}, false
			}
			seen[0] = true
			in.Data, ok = p.records()
		case "trigger":
			if seen[1] {
				return writeInput{}, false
			}
			seen[1] = true
			in.Trigger, ok = p.strings()
		case "duplicate_check_fields":
			if seen[2] {
				return writeInput{}, false
			}
			seen[2] = true
			in.DuplicateCheckFields, ok = p.strings()
		default:
			return writeInput{}, false
		}
		if !ok {
			return writeInput{}, false
		}
		p.space()
		if p.b[p.i] == '}' {
			return in, true
		}
		p.i++ // ','
		p.space()
	}
}

// rawJSON walks a valid JSON text (json.Valid): it does not check syntax.
type rawJSON struct {
	b []byte
	i int
}

func (p *rawJSON) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// null reads a null at p.i, if there is one.
func (p *rawJSON) null() bool {
	if p.b[p.i] == 'n' {
		p.i += len("null")
		return true
	}
	return false
}

// plainString reads the string at p.i when it has no escape and is valid
// UTF-8 (what json.Unmarshal reads from it is then its bytes).
func (p *rawJSON) plainString() (string, bool) {
	if p.b[p.i] != '"' {
		return "", false
	}
	start := p.i + 1
	for i := start; i < len(p.b); i++ {
		switch p.b[i] {
		case '\\':
			return "", false
		case '"':
			s := p.b[start:i]
			if !utf8.Valid(s) {
				return "", false
			}
			p.i = i + 1
			return string(s), true
		}
	}
	return "", false
}

// strings reads null (nil) or an array of plain strings.
func (p *rawJSON) strings() ([]string, bool) {
	if p.null() {
		return nil, true
	}
	if p.b[p.i] != '[' {
		return nil, false
	}
	p.i++
	p.space()
	out := []string{}
	if p.b[p.i] == ']' {
		p.i++
		return out, true
	}
	for {
		s, ok := p.plainString()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		p.space()
		if p.b[p.i] == ']' {
			p.i++
			return out, true
		}
		p.i++ // ','
		p.space()
	}
}

// records reads null (nil) or an array of objects, each member's value as
// the bytes of its JSON text (a repeated name keeps its last value, as
// json.Unmarshal keeps it in a map).
func (p *rawJSON) records() ([]map[string]json.RawMessage, bool) {
	if p.null() {
		return nil, true
	}
	if p.b[p.i] != '[' {
		return nil, false
	}
	p.i++
	p.space()
	out := []map[string]json.RawMessage{}
	if p.b[p.i] == ']' {
		p.i++
		return out, true
	}
	for {
		if p.b[p.i] != '{' {
			return nil, false
		}
		p.i++
		p.space()
		rec := make(map[string]json.RawMessage, 16)
		if p.b[p.i] == '}' {
			p.i++
		} else {
			for {
				name, ok := p.plainString()
				if !ok {
					return nil, false
				}
				p.space()
				p.i++ // ':'
				p.space()
				start := p.i
				p.skip()
				rec[name] = json.RawMessage(p.b[start:p.i:p.i])
				p.space()
				if p.b[p.i] == '}' {
					p.i++
					break
				}
				p.i++ // ','
				p.space()
			}
		}
		out = append(out, rec)
		p.space()
		if p.b[p.i] == ']' {
			p.i++
			return out, true
		}
		p.i++ // ','
		p.space()
	}
}

// skip moves past the value at p.i.
func (p *rawJSON) skip() {
	depth := 0
	for {
		switch p.b[p.i] {
		case '"':
			p.i++
			for p.b[p.i] != '"' {
				if p.b[p.i] == '\\' {
					p.i++
				}
				p.i++
			}
			p.i++
		case '{', '[':
			depth++
			p.i++
		case '}', ']':
			depth--
			p.i++
		default:
			if depth == 0 { // a number or literal: up to what ends it
				for p.i < len(p.b) {
					switch p.b[p.i] {
					case ',', '}', ']', ' ', '\t', '\n', '\r':
						return
					}
					p.i++
				}
				return
			}
			p.i++
		}
		if depth == 0 {
			return
		}
	}
}
