package match_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/match"
)

// lookupAll answers every number with one contact holding it.
type lookupAll struct{}

func (lookupAll) Lookup(_ context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	out := crm.LookupResult{}
	for _, q := range req.Numbers {
		out[q.Number] = []crm.Record{{Ref: crm.Ref{Entity: crm.Contact, ID: q.Number}, Phones: map[string]string{"mobilephone": q.Number}}}
	}
	return out, nil
}

// BenchmarkMatchCached is the backfill's matching of one window's calls
// (`go test -bench MatchCached ./match`): 1,000 calls from 200 callers whose
// numbers are in the cache, so the cost is normalising each call's number
// and reading the cache.
func BenchmarkMatchCached(b *testing.B) {
	ctx := context.Background()
	m := match.New(lookupAll{}, match.Options{Region: "FI"})
	raws := make([]string, 1000)
	for i := range raws {
		raws[i] = fmt.Sprintf("+35840%07d", 1000000+i%200)
	}
	if _, err := m.Match(ctx, raws, true); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := m.Match(ctx, raws, true)
		if err != nil || len(res) != 200 {
			b.Fatal(err, len(res))
		}
	}
}

// BenchmarkMatchLive is the calls job's matching of one cycle's calls with
// crm.directory: live (`go test -bench MatchLive ./match`): 1,000 calls
// from 200 callers seen in earlier cycles, every number asked of the CRM
// (no results cache), so the cost is normalising, the search forms of each
// number and verifying the hits.
func BenchmarkMatchLive(b *testing.B) {
	ctx := context.Background()
	m := match.New(lookupAll{}, match.Options{Region: "FI"})
	raws := make([]string, 1000)
	for i := range raws {
		raws[i] = fmt.Sprintf("+35840%07d", 1000000+i%200)
	}
	if _, err := m.Match(ctx, raws, false); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := m.Match(ctx, raws, false)
		if err != nil || len(res) != 200 {
			b.Fatal(err, len(res))
		}
	}
}

// mapDirectory is a phone directory held in a map: a contact per number.
type mapDirectory map[string][]crm.Record

func (d mapDirectory) Lookup(_ context.Context, numbers []string) (map[string][]crm.Record, error) {
	out := map[string][]crm.Record{}
	for _, n := range numbers {
		if recs, ok := d[n]; ok {
			out[n] = recs
		}
	}
	return out, nil
}

func (mapDirectory) Learn(context.Context, map[string][]crm.Record) error { return nil }

// BenchmarkMatchDirectory is the backfill's matching of one window's calls
// with crm.directory: mirror (`go test -bench MatchDirectory ./match`):
// 2,000 calls from 1,000 callers, 900 of them held by the phone directory
// and 100 unknown callers answered from the results cache, so the cost is
// normalising each call's number, the directory's answer and reading the
// cache.
func BenchmarkMatchDirectory(b *testing.B) {
	ctx := context.Background()
	dir := mapDirectory{}
	raws := make([]string, 2000)
	for i := range raws {
		raws[i] = fmt.Sprintf("+35840%07d", 1000000+i%1000)
		if i%1000 < 900 {
			dir[raws[i]] = []crm.Record{{Ref: crm.Ref{Entity: crm.Contact, ID: raws[i]}, Phones: map[string]string{"mobilephone": raws[i]}}}
		}
	}
	m := match.New(lookupAll{}, match.Options{Region: "FI", Directory: dir})
	if _, err := m.Match(ctx, raws, true); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := m.Match(ctx, raws, true)
		if err != nil || len(res) != 1000 || !res[raws[0]].Directory || !res[raws[999]].Cached {
			b.Fatal(err, len(res))
		}
	}
}
