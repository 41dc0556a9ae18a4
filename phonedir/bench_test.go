//go:build unix

package phonedir_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/internal/cputime"
	"github.com/callsync/callsync/phonedir"
)

// BenchmarkIncrementalSync is the phone directory's sync of every cycle
// with nothing changed in the CRM (three entities followed by change
// tracking, as Dynamics does; a SQLite store), as process CPU per sync
// (cpu-us/op: the store's SQLite work and its fsyncs' system time
// included; `go test -bench IncrementalSync -benchtime 2000x ./phonedir`).
func BenchmarkIncrementalSync(b *testing.B) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	d := phonedir.New(openStore(b), unchanged{}, phonedir.Options{Tenant: "t1", Region: "FI", Now: clk.Now})
	if _, err := d.Sync(ctx, false, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n, c0 := 0, cputime.Self()
	for b.Loop() {
		clk.Add(time.Minute)
		if _, err := d.Sync(ctx, false, nil); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(cputime.Self()-c0)/float64(n)/1e3, "cpu-us/op")
}

// unchanged is a CRM with no records that tracks changes: every listing
// is one empty page with a delta.
type unchanged struct{}

func (unchanged) ListPhones(context.Context, crm.PhoneListRequest) (crm.PhonePage, error) {
	return crm.PhonePage{Requests: 1, Delta: "delta"}, nil
}

func (unchanged) DeletedRecords(context.Context, crm.DeletedRequest) (crm.DeletedPage, error) {
	return crm.DeletedPage{}, crm.ErrNoDeleted
}

// BenchmarkLookupWindow is the directory's part of a backfill window's
// matching between two syncs (`go test -run '^$' -bench LookupWindow
// ./phonedir`): 1,000 distinct callers, 900 of them held by a directory of
// 1,000 contacts on SQLite, asked again window after window; process CPU per
// window (cpu-us/op) includes the store's SQLite work.
func BenchmarkLookupWindow(b *testing.B) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	m := crmtest.NewMemory()
	var numbers []string
	for i := range 1000 {
		n := fmt.Sprintf("+3584030%05d", i)
		if i < 900 {
			m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"mobilephone": n}})
		}
		numbers = append(numbers, n)
	}
	d := phonedir.New(openStore(b), crmtest.NewLister(m, 500, clk.Now), phonedir.Options{Tenant: "t1", Region: "FI", Now: clk.Now})
	if _, err := d.Sync(ctx, false, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n, c0 := 0, cputime.Self()
	for b.Loop() {
		res, err := d.Lookup(ctx, numbers)
		if err != nil || len(res) != 900 {
			b.Fatal(err, len(res))
		}
		n++
	}
	b.ReportMetric(float64(cputime.Self()-c0)/float64(n)/1e3, "cpu-us/op")
}
