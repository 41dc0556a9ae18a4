package match_test

// The phone directory's fidelity corpus (match/matchcorpus) matched through
// match.Matcher from the directory (crm.directory: mirror).
//
// Precision must be 100% (no caller ever gets a record that is not theirs);
// recall at least 99.5% over the callers whose record states its country or
// is in the tenant's region (the others' national formats cannot be read
// without a country and are reported only).

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/callsync/callsync/match/matchcorpus"
	"github.com/callsync/callsync/store"
)

func TestDirectoryCorpusFidelity(t *testing.T) {
	ctx := context.Background()
	c, err := matchcorpus.New(60)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Customers) < 400 {
		t.Fatalf("corpus has %d customers, want at least 400", len(c.Customers))
	}
	if n := len(matchcorpus.Formats()); n < 15 {
		t.Errorf("%d storage formats, want at least 15", n)
	}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "callsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := c.Mirror(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("directory load: %d records, %d numbers, %d unparseable, %d requests", rep.Load.Records, rep.Load.Numbers, rep.Load.Unparseable, rep.Load.Requests)

	for _, o := range rep.Outcomes {
		for _, rec := range o.Wrong {
			t.Errorf("caller %s matched %v (raw %v), not theirs", o.Caller, rec.Ref, rec.Phones)
		}
	}
	for _, m := range rep.Missed() {
		t.Logf("missed: %s stored as %q (country %q)", m.E164, m.Raw, m.Country)
	}
	for _, o := range rep.Outcomes {
		if o.Caller == matchcorpus.OwnMobile && o.Result.Reason != "internal_number" {
			t.Errorf("the user's own mobile stored on a contact: reason %q, want internal_number", o.Result.Reason)
		}
	}
	bad, err := st.DirectoryUnparseable(ctx, matchcorpus.Tenant, 100)
	if err != nil || !slices.ContainsFunc(bad, func(n store.DirectoryNumber) bool { return n.Raw == matchcorpus.Extension }) {
		t.Errorf("the extension stored on a contact is not listed unparseable: %+v %v", bad, err)
	}

	t.Logf("%-28s %7s %8s %6s %6s %7s", "format", "callers", "eligible", "right", "wrong", "recall")
	for _, f := range rep.Formats {
		t.Logf("%-28s %7d %8d %6d %6d %6.1f%%", f.Format, f.Callers, f.Eligible, f.Right, f.Wrong, 100*f.Recall())
	}
	tot := rep.Total()
	t.Logf("customers %d, eligible %d, found %d: recall %.2f%%, wrong records %d, precision %.2f%%",
		len(c.Customers), tot.Eligible, tot.EligibleRight, 100*tot.Recall(), tot.Wrong, 100*tot.Precision())
	if tot.Wrong != 0 {
		t.Errorf("%d wrong records, want none (precision 100%%)", tot.Wrong)
	}
	if tot.Recall() < 0.995 {
		t.Errorf("recall %.2f%%, want at least 99.5%%", 100*tot.Recall())
	}
	// Every eligible customer came from the directory: misses went live.
	if rep.LookupRequests > 1 {
		t.Errorf("%d live lookups for one batch, want at most 1 (the misses)", rep.LookupRequests)
	}
}
