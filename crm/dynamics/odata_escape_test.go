package dynamics

import (
	"fmt"
	"strings"
	"testing"
)

// escapeRef is queryEscape as first written: letters, digits and the
// OData punctuation kept, every other byte as %XX.
func escapeRef(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~'()*,:=$@!/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// queryEscape encodes every byte as escapeRef does, and encodedLen is the
// length of its result.
func TestQueryEscapeEveryByte(t *testing.T) {
	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
	}
	for _, s := range []string{"", "contactid,telephone1", all.String(), "telephone1 eq '+358 40 123 4567' or Microsoft.Dynamics.CRM.In(PropertyName='mobilephone',PropertyValues=['0401234567','358401234567'])", "ä&#;%[]"} {
		if got, want := queryEscape(s), escapeRef(s); got != want {
			t.Errorf("queryEscape(%q) = %q, want %q", s, got, want)
		}
		if got, want := encodedLen(s), len(escapeRef(s)); got != want {
			t.Errorf("encodedLen(%q) = %d, want %d", s, got, want)
		}
	}
	if got := queryEscape("+ &"); got != "%2B%20%26" {
		t.Errorf("queryEscape(%q) = %q", "+ &", got)
	}
}

func FuzzQueryEscape(f *testing.F) {
	f.Add("telephone1 eq '+358401234567'")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := queryEscape(s), escapeRef(s); got != want || encodedLen(s) != len(want) {
			t.Fatalf("queryEscape(%q) = %q (%d), want %q", s, got, encodedLen(s), want)
		}
	})
}

// BenchmarkQueryEscape is a lookup filter's encoding (`go test -bench
// QueryEscape ./crm/dynamics`), its length counted first as chunkValues
// does.
func BenchmarkQueryEscape(b *testing.B) {
	filter := "Microsoft.Dynamics.CRM.In(PropertyName='telephone1',PropertyValues=['+358401234567','+358 40 1234567','040 1234567','0401234567','358401234567','00358401234567'])"
	b.ReportAllocs()
	for b.Loop() {
		if encodedLen(filter) != len(queryEscape(filter)) {
			b.Fatal("length")
		}
	}
}
