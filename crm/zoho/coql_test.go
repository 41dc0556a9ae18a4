package zoho

import (
	"strings"
	"testing"
)

// groupByConcatenation is how group nested its criteria before it wrote
// them into one buffer: the string so far wrapped at each criterion. The
// reference of TestGroupAsConcatenated and FuzzGroup.
func groupByConcatenation(op string, cs []criterion) criterion {
	switch len(cs) {
	case 0:
		return ""
	case 1:
		return cs[0]
	}
	s := "(" + string(cs[0]) + " " + op + " " + string(cs[1]) + ")"
	for _, c := range cs[2:] {
		s = "(" + s + " " + op + " " + string(c) + ")"
	}
	return criterion(s)
}

// group nests criteria in pairs as before, ((A or B) or C), and returns
// one criterion as it is.
func TestGroupAsConcatenated(t *testing.T) {
	lits := make([]string, 2300)
	for i := range lits {
		lits[i] = "'+35840" + strings.Repeat("1", i%7) + "'"
	}
	for _, c := range []struct {
		op string
		cs []criterion
	}{
		{"or", nil},
		{"or", []criterion{"a = 1"}},
		{"or", []criterion{"a = 1", "b = 2"}},
		{"and", []criterion{"a = 1", "b = 2", "c = 3"}},
		{"and", []criterion{"", "b", ""}},
		{"or", inCriteria("Caller_ID", lits)},
	} {
		got, want := group(c.op, c.cs), groupByConcatenation(c.op, c.cs)
		if got != want {
			t.Fatalf("group(%q, %d criteria) = %q, want %q", c.op, len(c.cs), got, want)
		}
	}
	if got := group("or", []criterion{"a", "b", "c"}); got != "((a or b) or c)" {
		t.Fatalf("group = %q", got)
	}
}

// group writes what the concatenation wrote for any operator and criteria
// (the input split at NUL).
func FuzzGroup(f *testing.F) {
	f.Add("or", "Caller_ID in ('1','2')\x00Dialled_Number in ('1','2')\x00x")
	f.Add("and", "")
	f.Add("", "\x00\x00")
	f.Fuzz(func(t *testing.T, op, in string) {
		var cs []criterion
		if in != "" {
			for _, c := range strings.Split(in, "\x00") {
				cs = append(cs, criterion(c))
			}
		}
		if got, want := group(op, cs), groupByConcatenation(op, cs); got != want {
			t.Fatalf("group(%q, %q) = %q, want %q", op, cs, got, want)
		}
	})
}

// BenchmarkGroup is an existing-call query's number criteria: two fields'
// 23 in-lists of 100 numbers (`go test -bench Group -benchmem
// ./crm/zoho`); concatenation is the former group.
func BenchmarkGroup(b *testing.B) {
	lits := make([]string, 1100)
	for i := range lits {
		lits[i] = "'+3584012" + strings.Repeat("3", 5) + string(rune('0'+i%10)) + "'"
	}
	cs := append(inCriteria(fCallerID, lits), inCriteria(fDialledNumber, lits)...)
	b.Run("concatenation", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			groupByConcatenation("or", cs)
		}
	})
	b.Run("buffer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			group("or", cs)
		}
	})
}
