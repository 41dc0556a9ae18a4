package jobs

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/store"
)

// createsAll is a CRM that answers every write "created".
type createsAll struct{ crm.Client }

func (createsAll) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	out := make([]crm.WriteResult, len(acts))
	for i, a := range acts {
		out[i] = crm.WriteResult{Key: a.Key, ID: "crm-" + a.EnreachID, Status: crm.Created}
	}
	return out, nil
}

// ledgerRows counts the rows and decision log entries saved, and keeps
// none.
type ledgerRows struct {
	Store
	mu         sync.Mutex
	rows, logs int
}

func (l *ledgerRows) SaveLedger(ctx context.Context, entries []store.LedgerEntry, log ...store.Decision) error {
	l.mu.Lock()
	l.rows, l.logs = l.rows+len(entries), l.logs+len(log)
	l.mu.Unlock()
	return nil
}

// noDecisions is a decision log that keeps nothing (the entries of
// written calls go to SaveLedger).
type noDecisions struct{}

func (noDecisions) AddDecisions(context.Context, []store.Decision) error { return nil }

// BenchmarkWritePass is a backfill window's write pass without the CRM's
// and the store's own cost: 10 windows of 2,000 decided calls on one
// write pipe, in batches of 200 and ledger flushes of 2,000 rows with
// their decision log entries (`go test -bench WritePass -benchmem
// ./jobs`).
func BenchmarkWritePass(b *testing.B) {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	cfg := config.Tenant{Name: "bench", PhoneCalls: settings()}
	t := NewTenant(cfg, nil, createsAll{}, nil)
	windows := make([][]*pending, 10)
	for w := range windows {
		ps := make([]*pending, 2000)
		for i := range ps {
			id := fmt.Sprintf("0f6b2c1e-9f7a-4f6e-%04d-%012d", w, i)
			c := Call{ID: id, ANum: "+358401234567", BNum: "+358201234567", Start: start, End: start.Add(time.Minute), Duration: 60}
			p := newPending("bench", c, id, store.LedgerEntry{}, false)
			p.number = "+358401234567"
			p.dec = Decision{Activity: crm.Activity{Key: p.ckey, EnreachID: id, Kind: crm.KindCall, Number: p.number,
				Regarding: &crm.Ref{Entity: crm.Contact, ID: "c1"}, Start: start, End: start.Add(time.Minute)}}
			ps[i] = p
		}
		windows[w] = ps
	}
	ledger := &ledgerRows{}
	s := &Syncer{Store: ledger, Decisions: noDecisions{}, Now: func() time.Time { return start }}
	b.ReportAllocs()
	for b.Loop() {
		pipe := s.newWritePipe(true)
		for _, ps := range windows {
			sum := Summary{Skipped: map[string]int{}}
			if err := s.writeVia(context.Background(), t, ps, SyncOptions{}, &sum, pipe.next()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if ledger.rows != b.N*20000 || ledger.logs != b.N*20000 {
		b.Fatalf("%d rows, %d entries saved for %d calls", ledger.rows, ledger.logs, b.N*20000)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*20000), "ns/call")
}
