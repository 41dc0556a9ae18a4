package match

import (
	"context"
	"fmt"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/phone"
)

// noHits answers every number with no record (an unknown caller).
type noHits struct{}

func (noHits) Lookup(context.Context, crm.LookupRequest) (crm.LookupResult, error) {
	return crm.LookupResult{}, nil
}

// TestCachedLookupsKeepNoForms: the search forms of a lookup through the
// results cache (a backfill) are not memoized, its answer is; those of a
// lookup bypassing the cache (the calls job) are, and either kind reads
// the memo.
func TestCachedLookupsKeepNoForms(t *testing.T) {
	ctx := context.Background()
	m := New(noHits{}, Options{Region: "FI"})
	raws := make([]string, 100)
	for i := range raws {
		raws[i] = fmt.Sprintf("+35850%07d", 3000000+i)
	}
	if _, err := m.Match(ctx, raws, true); err != nil {
		t.Fatal(err)
	}
	if n := m.forms.Len(); n != 0 {
		t.Errorf("100 numbers looked up through the cache left %d search forms memoized, want 0", n)
	}
	if n := m.cache.Len(); n != 100 {
		t.Errorf("results cached: %d, want 100", n)
	}
	if _, err := m.Match(ctx, raws, false); err != nil {
		t.Fatal(err)
	}
	if n := m.forms.Len(); n != 100 {
		t.Errorf("100 numbers looked up bypassing the cache left %d search forms memoized, want 100", n)
	}
}

// asked records the queries of each Lookup.
type asked struct{ queries []crm.NumberQuery }

func (a *asked) Lookup(_ context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	a.queries = append(a.queries, req.Numbers...)
	return crm.LookupResult{}, nil
}

// A suffix query (numbers_to_cut) carries no search forms, which no client
// reads then; a number too short to cut is searched by its forms.
func TestSuffixQueriesCarryNoForms(t *testing.T) {
	for _, tc := range []struct {
		cut   int
		forms bool
	}{{0, true}, {4, false}, {10, true}} {
		a := &asked{}
		m := New(a, Options{Region: "FI", NumbersToCut: tc.cut})
		if _, err := m.Match(context.Background(), []string{"+358401234567"}, false); err != nil {
			t.Fatal(err)
		}
		if len(a.queries) != 1 {
			t.Fatalf("cut %d: %d queries, want 1", tc.cut, len(a.queries))
		}
		q := a.queries[0]
		if (len(q.Forms) > 0) != tc.forms || (q.Suffix == "") != tc.forms {
			t.Errorf("cut %d: suffix %q, forms %q; want forms %v", tc.cut, q.Suffix, q.Forms, tc.forms)
		}
	}
}

// BenchmarkFormsOf is the search forms of the backfill's unknown callers
// (`go test -bench FormsOf ./match`): Finnish mobiles +35850... with
// default region FI, one distinct number per op, looked up through the
// results cache (forms not memoized), so every op builds them.
func BenchmarkFormsOf(b *testing.B) {
	m := New(noHits{}, Options{Region: "FI"})
	nums := make([]phone.Number, 1000)
	for i := range nums {
		nums[i], _ = phone.NormalizeCaller(fmt.Sprintf("+35850%07d", 1000000+i*8999), "FI")
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if len(m.formsOf(nums[i%len(nums)], false)) == 0 {
			b.Fatal("no forms")
		}
	}
}
