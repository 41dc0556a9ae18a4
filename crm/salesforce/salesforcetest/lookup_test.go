package salesforcetest

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// fieldNames are names lookup is checked with: every field of the org in
// its own, lower and upper case, names that lower-case to a field's only
// outside ASCII (the Kelvin sign lower-cases to k), and names longer than
// lookup's buffer.
func fieldNames(s *Server) []string {
	var names []string
	for _, o := range s.schema {
		for _, f := range o.fields {
			names = append(names, f.name, strings.ToLower(f.name), strings.ToUpper(f.name),
				strings.ReplaceAll(f.name, "k", "\u212a"), strings.Repeat(f.name, 8), f.name+"\u00e9")
		}
	}
	return append(names, "", "TASKSUBTYPE", "İd", "\u212aind", strings.Repeat("a", 64), strings.Repeat("A", 65), "\xff")
}

// TestFieldLookup: lookup finds what o.byName[strings.ToLower(name)] does.
func TestFieldLookup(t *testing.T) {
	s := NewServer(Config{Username: "u@example.invalid"})
	defer s.Close()
	for _, name := range fieldNames(s) {
		for _, o := range s.schema {
			if got, want := o.lookup(name), o.byName[strings.ToLower(name)]; got != want {
				t.Errorf("%s.lookup(%q) = %v, want %v", o.name, name, got, want)
			}
		}
	}
}

func FuzzFieldLookup(f *testing.F) {
	s := NewServer(Config{Username: "u@example.invalid"})
	defer s.Close()
	for _, name := range fieldNames(s) {
		f.Add(name)
	}
	task := s.schema["task"]
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := task.lookup(name), task.byName[strings.ToLower(name)]; got != want {
			t.Errorf("lookup(%q) = %v, want %v", name, got, want)
		}
	})
}

// TestFormatID: newID's ids are those fmt.Sprintf("%s%012dAAA") made.
func TestFormatID(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 99999, 123456789012, 1234567890123, math.MaxInt} {
		for _, prefix := range []string{"00T", "003", ""} {
			if got, want := formatID(prefix, n), fmt.Sprintf("%s%012dAAA", prefix, n); got != want {
				t.Errorf("formatID(%q, %d) = %q, want %q", prefix, n, got, want)
			}
		}
	}
}

// TestIDSet: an idSet holds what a map of the same adds and removes holds.
func TestIDSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 200 {
		var set idSet
		want := map[string]struct{}{}
		for step := range 40 {
			id := fmt.Sprint("id", rng.IntN(4))
			if rng.IntN(3) == 0 {
				set.remove(id)
				delete(want, id)
			} else {
				set.add(id)
				want[id] = struct{}{}
			}
			got := map[string]struct{}{}
			for id := range set.all {
				got[id] = struct{}{}
			}
			if set.len() != len(want) || !maps.Equal(got, want) {
				t.Fatalf("run %d step %d: set holds %v (len %d), want %v", run, step, got, set.len(), want)
			}
		}
	}
}
