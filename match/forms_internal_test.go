package match

import (
	"context"
	"fmt"
	"testing"

	"github.com/callsync/callsync/crm"
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
