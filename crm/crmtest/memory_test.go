package crmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
)

// memoryBackend adapts Memory to the suite. client, when set, replaces the
// Memory as the client under test (for the broken clients below).
type memoryBackend struct {
	*Memory
	match  crm.UserMatch
	client crm.Client
}

func (b memoryBackend) Client() crm.Client {
	if b.client != nil {
		return b.client
	}
	return b.Memory
}

func (b memoryBackend) UserMatch() crm.UserMatch { return b.match }

func (b memoryBackend) PhoneFields(e crm.Entity) []string {
	switch e {
	case crm.Account:
		return []string{"telephone1", "telephone2"}
	default:
		return []string{"telephone1", "telephone2", "mobilephone"}
	}
}

func (b memoryBackend) ExtraField(e crm.Entity) string { return "tier_" + string(e) }

func TestMemoryConformance(t *testing.T) {
	for _, match := range []crm.UserMatch{{By: "email"}, {By: "field", Field: UserField}} {
		t.Run(match.By, func(t *testing.T) {
			Run(t, func(t *testing.T) Backend { return memoryBackend{Memory: NewMemory(), match: match} })
		})
	}
}

// TestSuiteCatchesBrokenClients proves the suite can fail: each broken client
// runs the suite in a child test process, which must fail in the named subtest.
func TestSuiteCatchesBrokenClients(t *testing.T) {
	if os.Getenv("CRMTEST_BROKEN") != "" {
		t.Skip("child process")
	}
	cases := map[string]string{
		"replay-duplicates":   "WriteActivities",
		"unbatched-writes":    "WriteActivities",
		"drops-owner":         "WriteActivities",
		"hides-failed-items":  "WriteItemFailure",
		"lookup-no-phones":    "Lookup",
		"lookup-returns-all":  "Lookup",
		"lookup-per-number":   "Lookup",
		"users-keyed-by-mail": "Users",
		"find-ignores-range":  "FindActivities",
		"close-noop":          "CloseActivities",
	}
	for mode, subtest := range cases {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenClient$", "-test.v")
			cmd.Env = append(os.Environ(), "CRMTEST_BROKEN="+mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("suite passed a client with %s:\n%s", mode, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestBrokenClient/"+subtest+" ") {
				t.Errorf("%s: subtest %s did not fail:\n%s", mode, subtest, out)
			}
		})
	}
}

func TestBrokenClient(t *testing.T) {
	mode := os.Getenv("CRMTEST_BROKEN")
	if mode == "" {
		t.Skip("run by TestSuiteCatchesBrokenClients")
	}
	Run(t, func(t *testing.T) Backend {
		m := NewMemory()
		return memoryBackend{Memory: m, match: crm.UserMatch{By: "field", Field: UserField}, client: &broken{Memory: m, mode: mode}}
	})
}

// broken is a Memory with one defect.
type broken struct {
	*Memory
	mode string
	mu   sync.Mutex
	n    int
}

func (b *broken) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	switch b.mode {
	case "replay-duplicates":
		b.mu.Lock()
		b.n++
		n := b.n
		b.mu.Unlock()
		in := make([]crm.Activity, len(acts))
		for i, a := range acts {
			a.Key = fmt.Sprintf("%s#%d", a.Key, n)
			in[i] = a
		}
		res, err := b.Memory.WriteActivities(ctx, in)
		for i := range res {
			res[i].Key = acts[i].Key
		}
		return res, err
	case "unbatched-writes":
		var out []crm.WriteResult
		for _, a := range acts {
			res, err := b.Memory.WriteActivities(ctx, []crm.Activity{a})
			if err != nil {
				return nil, err
			}
			out = append(out, res...)
		}
		return out, nil
	case "drops-owner":
		in := make([]crm.Activity, len(acts))
		for i, a := range acts {
			a.OwnerID = ""
			in[i] = a
		}
		return b.Memory.WriteActivities(ctx, in)
	case "hides-failed-items":
		res, err := b.Memory.WriteActivities(ctx, acts)
		for i := range res {
			if res[i].Status == crm.Failed {
				res[i].Status, res[i].Err = crm.Created, nil
			}
		}
		return res, err
	}
	return b.Memory.WriteActivities(ctx, acts)
}

func (b *broken) Lookup(ctx context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	if b.mode == "lookup-per-number" {
		out := crm.LookupResult{}
		for _, q := range req.Numbers {
			res, err := b.Memory.Lookup(ctx, crm.LookupRequest{Numbers: []crm.NumberQuery{q}, Fields: req.Fields})
			if err != nil {
				return nil, err
			}
			out[q.Number] = res[q.Number]
		}
		return out, nil
	}
	res, err := b.Memory.Lookup(ctx, req)
	switch b.mode {
	case "lookup-no-phones":
		for _, recs := range res {
			for i := range recs {
				recs[i].Phones = nil
			}
		}
	case "lookup-returns-all":
		var all []crm.Record
		for _, recs := range res {
			all = append(all, recs...)
		}
		for _, q := range req.Numbers {
			res[q.Number] = all
		}
	}
	return res, err
}

func (b *broken) Users(ctx context.Context, match crm.UserMatch, qs []crm.UserQuery) (map[string]crm.User, error) {
	res, err := b.Memory.Users(ctx, match, qs)
	if b.mode == "users-keyed-by-mail" {
		out := map[string]crm.User{}
		for _, u := range res {
			out[u.Email] = u
		}
		return out, err
	}
	return res, err
}

func (b *broken) FindActivities(ctx context.Context, qs []crm.ActivityQuery) ([]crm.ExistingActivity, error) {
	if b.mode == "find-ignores-range" {
		wide := make([]crm.ActivityQuery, len(qs))
		for i, q := range qs {
			q.From, q.To = q.From.Add(-24*time.Hour), q.To.Add(24*time.Hour)
			wide[i] = q
		}
		qs = wide
	}
	return b.Memory.FindActivities(ctx, qs)
}

func (b *broken) CloseActivities(ctx context.Context, reqs []crm.CloseRequest) ([]crm.WriteResult, error) {
	if b.mode == "close-noop" {
		out := make([]crm.WriteResult, len(reqs))
		for i, r := range reqs {
			out[i] = crm.WriteResult{Key: r.Key, ID: r.ID, Status: crm.Created}
		}
		return out, nil
	}
	return b.Memory.CloseActivities(ctx, reqs)
}

// seed returns a Memory with a user and a contact, and an activity to write.
func seed(t *testing.T) (*Memory, crm.Activity) {
	t.Helper()
	m := NewMemory()
	u := m.AddUser("a@contoso.example", "A", "e-a", false)
	c := m.AddCustomer(crm.Contact, "C", map[string]string{"telephone1": "+358401234567"}, u, nil)
	return m, crm.Activity{
		Key: crm.Key("t", crm.KindCall, "1"), Kind: crm.KindCall, Subject: "Incoming direct call",
		Direction: crm.Inbound, Number: "+358401234567", Start: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Duration: time.Minute, OwnerID: u, UserID: u, Regarding: &crm.Ref{Entity: crm.Contact, ID: c},
	}
}

func nth(a crm.Activity, i int) crm.Activity {
	a.Key = crm.Key("t", crm.KindCall, fmt.Sprint(i))
	return a
}

func TestMemoryFailNext(t *testing.T) {
	ctx := context.Background()
	m, a := seed(t)
	boom := errors.New("503 service unavailable")
	m.FailNext(MethodWriteActivities, 2, boom)
	for range 2 {
		if _, err := m.WriteActivities(ctx, []crm.Activity{a}); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want %v", err, boom)
		}
	}
	if n := len(m.Written()); n != 0 {
		t.Fatalf("failed batches wrote %d", n)
	}
	if res, err := m.WriteActivities(ctx, []crm.Activity{a}); err != nil || res[0].Status != crm.Created {
		t.Fatalf("third call = %+v, %v", res, err)
	}
	if got := m.Calls(MethodWriteActivities); got != 3 {
		t.Errorf("Calls(Write) = %d, want 3 (failed calls count)", got)
	}
	m.FailNext(MethodLookup, -1, nil)
	for range 3 {
		if _, err := m.Lookup(ctx, crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567"}}}); !errors.Is(err, ErrInjected) {
			t.Fatalf("Lookup err = %v, want ErrInjected", err)
		}
	}
	m.FailNext(MethodLookup, 0, nil)
	res, err := m.Lookup(ctx, crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567"}}})
	if err != nil || len(res["+358401234567"]) != 1 {
		t.Fatalf("Lookup after clearing = %v, %v", res, err)
	}
	if m.Requests() != 7 || m.Calls(MethodLookup) != 4 {
		t.Errorf("Requests = %d, Calls(Lookup) = %d; want 7, 4", m.Requests(), m.Calls(MethodLookup))
	}
}

func TestMemoryFailKey(t *testing.T) {
	ctx := context.Background()
	m, a := seed(t)
	acts := []crm.Activity{nth(a, 1), nth(a, 2), nth(a, 3)}
	m.FailKey(acts[1].Key, 1, nil)
	res, err := m.WriteActivities(ctx, acts)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != crm.Created || res[1].Status != crm.Failed || !errors.Is(res[1].Err, ErrInjected) || res[2].Status != crm.Created {
		t.Fatalf("results %+v", res)
	}
	if errors.Is(res[1].Err, crm.ErrPermanent) {
		t.Error("an injected failure is transient")
	}
	res, _ = m.WriteActivities(ctx, acts)
	if res[0].Status != crm.Existed || res[1].Status != crm.Created || res[2].Status != crm.Existed {
		t.Fatalf("second run %+v", res)
	}
	m.FailKey(acts[0].Key, -1, nil)
	for range 2 {
		if res, _ := m.CloseActivities(ctx, []crm.CloseRequest{{Key: acts[0].Key}}); res[0].Status != crm.Failed {
			t.Fatalf("close of a failing key = %+v", res)
		}
	}
	m.FailKey(acts[0].Key, 0, nil)
	if res, _ := m.CloseActivities(ctx, []crm.CloseRequest{{Key: acts[0].Key}}); res[0].Status != crm.Existed {
		t.Fatalf("close of a completed call by key = %+v, want Existed", res)
	}
}

func TestMemoryValidates(t *testing.T) {
	m, a := seed(t)
	disabled := m.AddUser("d@contoso.example", "D", "e-d", true)
	bad := map[string]func(*crm.Activity){
		"no key":          func(a *crm.Activity) { a.Key = "" },
		"no subject":      func(a *crm.Activity) { a.Subject = " " },
		"no start":        func(a *crm.Activity) { a.Start = time.Time{} },
		"bad direction":   func(a *crm.Activity) { a.Direction = "sideways" },
		"bad kind":        func(a *crm.Activity) { a.Kind = "" },
		"unknown owner":   func(a *crm.Activity) { a.OwnerID = "user-9999" },
		"disabled owner":  func(a *crm.Activity) { a.OwnerID = disabled },
		"unknown user":    func(a *crm.Activity) { a.UserID = "user-9999" },
		"unknown record":  func(a *crm.Activity) { a.Regarding = &crm.Ref{Entity: crm.Lead, ID: a.Regarding.ID} },
		"unknown related": func(a *crm.Activity) { a.Related = []crm.Ref{{Entity: crm.Account, ID: "account-9999"}} },
	}
	for name, mutate := range bad {
		b := a
		mutate(&b)
		res, err := m.WriteActivities(context.Background(), []crm.Activity{b})
		if err != nil || res[0].Status != crm.Failed || !errors.Is(res[0].Err, crm.ErrPermanent) {
			t.Errorf("%s: %+v, %v; want Failed permanent", name, res, err)
		}
	}
	if n := len(m.Written()); n != 0 {
		t.Errorf("invalid items wrote %d", n)
	}
}

// TestMemoryLostResponse: a context cancelled mid-batch fails the batch
// although earlier items were written, like a lost response; a retry
// completes the batch with no duplicate.
func TestMemoryLostResponse(t *testing.T) {
	m, a := seed(t)
	var acts []crm.Activity
	for i := range 10 {
		acts = append(acts, nth(a, i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	written := 0
	m.OnWrite(func(crm.Activity) {
		if written++; written == 4 {
			cancel()
		}
	})
	if _, err := m.WriteActivities(ctx, acts); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(m.Written()); n != 4 {
		t.Fatalf("written %d before the cancel, want 4", n)
	}
	m.OnWrite(nil)
	res, err := m.WriteActivities(context.Background(), acts)
	if err != nil {
		t.Fatal(err)
	}
	created := 0
	for i, r := range res {
		want := crm.Existed
		if i >= 4 {
			want = crm.Created
		}
		if r.Status != want {
			t.Errorf("item %d = %s, want %s", i, r.Status, want)
		}
		if r.Status == crm.Created {
			created++
		}
	}
	if n := len(m.Written()); n != 10 || created != 6 {
		t.Errorf("written %d (created %d now), want 10 (6)", n, created)
	}
}

func TestMemoryConcurrentWrites(t *testing.T) {
	m, a := seed(t)
	var acts []crm.Activity
	for i := range 50 {
		acts = append(acts, nth(a, i))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := map[string]int{}
	for range 8 {
		wg.Go(func() {
			res, err := m.WriteActivities(context.Background(), acts)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range res {
				if r.Status == crm.Created {
					created[r.Key]++
				}
			}
		})
		wg.Go(func() {
			_, _ = m.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567"}}})
			_ = m.Activities()
		})
	}
	wg.Wait()
	if len(created) != 50 {
		t.Errorf("%d keys created, want 50", len(created))
	}
	for k, n := range created {
		if n != 1 {
			t.Errorf("%s created %d times", k, n)
		}
	}
	if n := len(m.Written()); n != 50 {
		t.Errorf("Memory holds %d, want 50", n)
	}
}

func TestMemoryLookup(t *testing.T) {
	m := NewMemory()
	id := m.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Name: "Parent", ParentAccountID: "account-x",
		Phones: map[string]string{"telephone1": "040 123 4567", "mobilephone": ""},
		Fields: map[string]string{"tier": "gold", "secret": "no"}})
	res, err := m.Lookup(context.Background(), crm.LookupRequest{
		Numbers: []crm.NumberQuery{
			{Number: "+358401234567", Forms: []string{"+358401234567", "040 123 4567"}},
			{Number: "+358401234568", Forms: []string{"+358401234568", "040 123 4568"}},
			{Number: "+358501234567", Suffix: "1234567"}, // digits of "040 123 4567" end with it
		},
		Fields: map[crm.Entity][]string{crm.Contact: {"tier", "missing"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := res["+358401234567"]
	if len(got) != 1 || got[0].ID != id || got[0].ParentAccountID != "account-x" || got[0].Phones["telephone1"] != "040 123 4567" {
		t.Fatalf("exact form: %+v", got)
	}
	if len(got[0].Fields) != 1 || got[0].Fields["tier"] != "gold" {
		t.Errorf("fields = %v, want only the requested tier", got[0].Fields)
	}
	if _, ok := res["+358401234568"]; ok {
		t.Errorf("a number nobody holds is present: %v", res["+358401234568"])
	}
	if len(res["+358501234567"]) != 1 {
		t.Errorf("suffix search: %v", res["+358501234567"])
	}
	// The result is a copy: changing it does not change the CRM.
	got[0].Phones["telephone1"] = "changed"
	res, _ = m.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567", Forms: []string{"040 123 4567"}}}})
	if len(res["+358401234567"]) != 1 {
		t.Error("Lookup result aliases the stored record")
	}
	if _, err := m.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: ""}}}); !errors.Is(err, crm.ErrPermanent) {
		t.Errorf("query without a number: err = %v", err)
	}
	if _, err := m.Users(context.Background(), crm.UserMatch{By: "field", Field: "nope"}, []crm.UserQuery{{EnreachUserID: "x"}}); !errors.Is(err, crm.ErrPermanent) {
		t.Errorf("unknown user field: err = %v", err)
	}
}
