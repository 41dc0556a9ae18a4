package jobstest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// RunEngineUnmatched runs the real engine against a backend for
// phone_calls.write_unmatched, both ways. Off: a call from an unknown number
// is not written; once the caller is in the CRM the nightly retry writes it
// linked. On: it is written unlinked at once; once the caller is in the CRM
// the retry links that same activity (found by the CRM id the ledger holds)
// and later cycles change nothing: one activity, never two.
// It runs on each store engine (eachStore).
func RunEngineUnmatched(t *testing.T, newBackend func(t *testing.T) crmtest.Backend) {
	eachStore(t, func(t *testing.T, open func(t *testing.T) *store.Store) {
		for _, on := range []bool{false, true} {
			name := "off"
			if on {
				name = "on"
			}
			t.Run(name, func(t *testing.T) { runUnmatched(t, newBackend(t), open(t), on) })
		}
	})
}

func runUnmatched(t *testing.T, b crmtest.Backend, st *store.Store, on bool) {
	ctx := context.Background()
	en := enreachtest.NewServer()
	t.Cleanup(en.Close)
	day := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	agent := enreach.User{ID: enreachtest.NewID(), UserName: "aino@contoso.example", WorkNumber: "+358201000001"}
	en.AddUsers(agent)
	crmAgent := b.AddUser(agent.UserName, "Aino Agent", agent.ID, false)
	field := b.PhoneFields(crm.Contact)[0]

	cfg := config.DefaultTenant()
	cfg.Name = "contoso"
	cfg.DefaultRegion = crmtest.Region
	m := b.UserMatch()
	cfg.CRM.Users = config.Users{Match: m.By, Field: m.Field}
	cfg.PhoneCalls.DefaultCRMAssignee = agent.ID
	cfg.PhoneCalls.ExecutionInterval = config.Duration(24 * time.Hour)
	cfg.PhoneCalls.WriteUnmatched = on
	ec, err := enreach.New(enreach.Config{APIURL: en.URL, User: en.User, SecretKey: en.Secret,
		HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	tenant := jobs.NewTenant(cfg, ec, b.Client(), nil)
	now := day.Add(20 * time.Hour)
	syncer := &jobs.Syncer{Store: st, Now: func() time.Time { return now }}

	call := enreachtest.DirectCall(agent, "+358409876543", false, day.Add(13*time.Hour), 5*time.Second, 2*time.Minute)
	en.AddCalls(call)
	ours := func() []crmtest.Stored {
		var out []crmtest.Stored
		for _, a := range b.Activities() {
			if a.Start.UTC().Truncate(time.Second).Equal(call.StartTime.UTC().Truncate(time.Second)) {
				out = append(out, a)
			}
		}
		return out
	}
	reason := func() string {
		t.Helper()
		rows, err := st.Ledger(ctx, "contoso", jobs.KindCall, []string{strings.ToLower(call.CallID)})
		if err != nil {
			t.Fatal(err)
		}
		r := rows[strings.ToLower(call.CallID)]
		return string(r.State) + "/" + r.Reason
	}

	sum, err := syncer.RunCalls(ctx, tenant, jobs.SyncOptions{})
	if err != nil {
		t.Fatalf("calls job: %v", err)
	}
	got := ours()
	if on {
		if len(got) != 1 || got[0].Regarding != nil || got[0].Open || sum.Written != 1 {
			t.Fatalf("write_unmatched on: %d activities %+v (summary %+v), want one unlinked completed", len(got), got, sum)
		}
		if got[0].OwnerID != "" && got[0].OwnerID != crmAgent {
			t.Errorf("owner %q, want %q", got[0].OwnerID, crmAgent)
		}
		if r := reason(); r != string(store.Written)+"/"+jobs.ReasonUnlinked {
			t.Errorf("ledger %s, want written/unlinked", r)
		}
	} else {
		if len(got) != 0 || sum.Unresolved != 1 {
			t.Fatalf("write_unmatched off: %d activities (summary %+v), want none and one unresolved", len(got), sum)
		}
	}
	first := ""
	if on {
		first = got[0].ID
	}

	// The caller is added to the CRM; the nightly retry (no Enreach read)
	// links the call.
	contact := b.AddCustomer(crm.Contact, "Late Comer", map[string]string{field: "+358409876543"}, "", nil)
	now = now.Add(time.Hour)
	sum, err = syncer.Retry(ctx, tenant, true, jobs.SyncOptions{})
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	want := crm.Ref{Entity: crm.Contact, ID: contact}
	got = ours()
	if len(got) != 1 || got[0].Regarding == nil || *got[0].Regarding != want || got[0].Open {
		t.Fatalf("after the retry: %+v, want one completed activity regarding %v (summary %+v)", got, want, sum)
	}
	if on {
		if got[0].ID != first || sum.Linked != 1 || sum.Written != 0 {
			t.Errorf("linked activity %s (first %s), summary %+v: want the same activity linked, nothing written", got[0].ID, first, sum)
		}
		if r := reason(); r != string(store.Written)+"/"+jobs.ReasonLinked {
			t.Errorf("ledger %s, want written/linked", r)
		}
	}

	// A later cycle over the same day, and the retry again: nothing changes.
	before := b.Requests()
	if _, err := syncer.Backfill(ctx, tenant, day, day.Add(24*time.Hour), jobs.SyncOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	sum, err = syncer.Retry(ctx, tenant, true, jobs.SyncOptions{})
	if err != nil || sum.Linked != 0 || sum.Written != 0 {
		t.Errorf("second retry: %+v %v, want nothing", sum, err)
	}
	if got := ours(); len(got) != 1 || got[0].Regarding == nil || *got[0].Regarding != want {
		t.Errorf("after replays: %+v", got)
	}
	if n := b.Requests() - before; n > 0 && on {
		// The backfill re-reads the call, finds it written/linked and
		// asks the CRM nothing for it.
		t.Logf("replays made %d CRM requests", n)
	}
}
