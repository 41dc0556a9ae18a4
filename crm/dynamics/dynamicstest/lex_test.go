package dynamicstest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// lexRef is lex as it was before a plain string literal was sliced from
// the filter, kept to compare lex with.
func lexRef(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case strings.IndexByte("(),[]=", c) >= 0:
			out = append(out, token{tkPunct, string(c), i})
			i++
		case c == '\'':
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
			var v string
			if err := json.Unmarshal([]byte(s[i:j+1]), &v); err != nil {
				return nil, errorf("Syntax error: bad string literal at position %d in '%s'.", i, s)
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

// lexSeeds are $filter texts: the backfill's searches, and string
// literals of every shape (doubled quotes, JSON escapes, control bytes,
// non-ASCII and invalid UTF-8, unterminated).
func lexSeeds() []string {
	return []string{
		`Microsoft.Dynamics.CRM.In(PropertyName='telephone1',PropertyValues=["+358401002543","0401002543","00358401002543"]) and statecode eq 0`,
		"actualstart ge 2026-11-01T00:00:00Z and actualstart le 2026-11-02T00:00:00Z and _regardingobjectid_value eq 0d5954e3-287b-5646-a667-0acf1067d299",
		"name eq 'O''Brien'", "name eq ''", "name eq ''''", "name eq 'a''", "name eq 'a'''", "name eq 'x' or name eq 'y'",
		"contains(description,'CallId is 1')", "name eq 'unterminated", "name eq '", "x eq 'tab\there'",
		`x eq "a\"b"`, `x eq "\u00e9\n"`, `x eq "é"`, "x eq \"a\x01b\"", "x eq \"a\x7fb\"", "x eq \"a\xffb\"", `x eq "unterminated`, `x eq "a\`,
		`In(PropertyName='x',PropertyValues=["",""])`, "telephone1 eq '+358 40 100'",
	}
}

// lex reads what lexRef reads, and fails where it fails with its message.
func TestLexAsRef(t *testing.T) {
	for _, s := range lexSeeds() {
		checkLex(t, s)
	}
}

func FuzzLexAsRef(f *testing.F) {
	for _, s := range lexSeeds() {
		f.Add(s)
	}
	f.Fuzz(checkLex)
}

func checkLex(t *testing.T, s string) {
	got, err := lex(s)
	want, werr := lexRef(s)
	if (err != nil) != (werr != nil) || err != nil && err.Error() != werr.Error() || !reflect.DeepEqual(got, want) {
		t.Errorf("%q: got %v, %v; want %v, %v", s, got, err, want, werr)
	}
}

// plainJSONString takes the content of a JSON string as it is only where
// json.Unmarshal reads it so, and takes printable ASCII without an escape.
func TestPlainJSONString(t *testing.T) {
	for _, c := range []struct {
		content string
		plain   bool
	}{{"", true}, {"abc", true}, {"+358 40 100", true}, {"a\x7fb", true}, {`a\"b`, false}, {`\u00e9`, false}, {"é", false},
		{"a\x01b", false}, {"\xff", false}, {"\u2028", false}, {"a\tb", false}} {
		v, ok := plainJSONString(c.content)
		if ok != c.plain {
			t.Errorf("%q: ok %v, want %v", c.content, ok, c.plain)
		}
		var want string
		err := json.Unmarshal([]byte(`"`+c.content+`"`), &want)
		if ok && (err != nil || v != want) {
			t.Errorf("%q: %q, json.Unmarshal %q, %v", c.content, v, want, err)
		}
	}
}
