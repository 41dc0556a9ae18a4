package zohotest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// lexRef is lex as it was before a string literal without a backslash was
// sliced from the query, kept to compare lex with.
func lexRef(q string) ([]token, *apiError) {
	var out []token
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

// coqlSeeds are COQL texts: the backfill's searches, and string literals
// of every shape (both quotes, backslash escapes, a backslash at the end,
// unterminated).
func coqlSeeds() []string {
	return []string{
		"select id, Call_Start_Time from Calls where ((Call_Start_Time between '2026-11-01T00:00:00+00:00' and '2026-11-02T00:00:00+00:00') and Telephony_External_ID__s in ('a1', 'b2')) limit 2000",
		"select Phone from Contacts where Phone in ('+358401002543', \"0401002543\", '00358401002543')",
		`select id from Calls where Subject = 'it\'s'`, `select id from Calls where Subject = "say \"hi\""`, `select id from Calls where Subject = 'a\\'`,
		`select id from Calls where Subject = 'a\`, "select id from Calls where Subject = 'unterminated", "select id from Calls where Subject = ''",
		`select id from Calls where Subject = "it's" or Subject = 'say "hi"'`, "where x = 'é' and y != 'tab\there'", "'", `"`, `'\'`,
	}
}

// lex reads what lexRef reads, and fails where it fails alike.
func TestLexAsRef(t *testing.T) {
	for _, s := range coqlSeeds() {
		checkLex(t, s)
	}
}

func FuzzLexAsRef(f *testing.F) {
	for _, s := range coqlSeeds() {
		f.Add(s)
	}
	f.Fuzz(checkLex)
}

func checkLex(t *testing.T, s string) {
	got, err := lex(s)
	want, werr := lexRef(s)
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(err, werr) {
		t.Errorf("%q: got %v, %v; want %v, %v", s, got, err, want, werr)
	}
}

// readLimited reads what io.ReadAll of the body limited to limit bytes
// reads, with a Content-Length, without one, and over the limit.
func TestReadLimited(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 4096, 100_000} {
		body := strings.Repeat("x", n)
		for _, limit := range []int64{int64(n), int64(n) + 1, max(int64(n)-1, 0), 1 << 20} {
			for _, known := range []bool{true, false} {
				r := httptest.NewRequest(http.MethodPost, "/crm/v8/Calls", strings.NewReader(body))
				if !known {
					r.ContentLength = -1
				}
				got, err := readLimited(r, limit)
				want, _ := io.ReadAll(io.LimitReader(strings.NewReader(body), limit))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%d bytes, limit %d, Content-Length known %v: %d bytes, %v; want %d", n, limit, known, len(got), err, len(want))
				}
			}
		}
	}
}
