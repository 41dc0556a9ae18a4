package jobs

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/store"
)

// The purge runs daily at purge.run_at (UTC); a reload moves it, and it
// stays one job.
func TestSetPurgeSchedulesAtRunAt(t *testing.T) {
	s, err := NewScheduler(&Syncer{}, NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.sched.Shutdown()
	s.sched.Start()
	for _, at := range []string{"02:30", "23:05"} {
		p := config.Defaults().Purge
		p.RunAt = at
		if err := s.SetPurge(p); err != nil {
			t.Fatal(err)
		}
		next, err := s.jobs["purge"].NextRun()
		if err != nil {
			t.Fatal(err)
		}
		if got := next.UTC().Format("15:04:05"); got != at+":00" {
			t.Errorf("run_at %s: next purge at %s", at, next.UTC())
		}
		n := 0
		for _, j := range s.sched.Jobs() {
			if j.Name() == "purge" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d purge jobs after SetPurge(%s)", n, at)
		}
	}
	if err := s.SetPurge(config.Purge{RunAt: "7am"}); err == nil {
		t.Error("SetPurge accepted run_at 7am")
	}
}

// Syncer.Purge applies the two retentions: payloads after retention, ledger
// rows after ledger_retention, open work never.
func TestSyncerPurgeRetentions(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	old := []store.LedgerEntry{
		{Tenant: "a", Kind: KindCall, EnreachID: "w", Key: "w", State: store.Written, Payload: []byte(`{"id":"w"}`)},
		{Tenant: "a", Kind: KindCall, EnreachID: "u", Key: "u", State: store.Written, Reason: ReasonUnlinked, Payload: []byte(`{"id":"u"}`)},
	}
	if err := st.SaveLedger(ctx, old); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	sy := &Syncer{Store: st, Now: func() time.Time { return now }}
	p := config.Purge{RunAt: "03:00", Retention: config.Duration(14 * 24 * time.Hour), LedgerRetention: config.Duration(90 * 24 * time.Hour)}

	// 20 days on: past retention, not past ledger_retention.
	now = now.Add(20 * 24 * time.Hour)
	r, err := sy.Purge(ctx, []string{"a"}, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Ledger != 0 || r.Payloads != 1 {
		t.Errorf("after 20 days: %+v, want the written row's payload only", r)
	}
	rows, _ := st.WrittenWithPayload(ctx, "a", KindCall, ReasonUnlinked, MaxAttempts, 10)
	if len(rows) != 1 || len(rows[0].Payload) == 0 {
		t.Errorf("the unlinked call lost its payload: %+v", rows)
	}
	// 100 days on: the finished row goes, the unlinked call stays.
	now = now.Add(80 * 24 * time.Hour)
	if r, err = sy.Purge(ctx, []string{"a"}, p); err != nil || r.Ledger != 1 {
		t.Errorf("after 100 days: %+v %v, want one ledger row", r, err)
	}
	got, _ := st.Ledger(ctx, "a", KindCall, []string{"w", "u"})
	if _, ok := got["u"]; !ok || len(got) != 1 {
		t.Errorf("left %v, want the unlinked call only", got)
	}
	at, last, ok, err := st.LastPurge(ctx)
	if err != nil || !ok || last.Ledger != 1 || at.IsZero() {
		t.Errorf("LastPurge = %v %+v %v %v", at, last, ok, err)
	}
}
