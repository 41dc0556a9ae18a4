package routing

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// fakeResolver records who it was asked about and answers from a map.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string]string
	err     error
	asked   [][]string
}

func (f *fakeResolver) resolve(_ context.Context, tenant string, users []enreach.User) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	f.asked = append(f.asked, ids)
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]string{}
	for _, id := range ids {
		if v, ok := f.answers[strings.ToLower(id)]; ok {
			out[id] = v
		}
	}
	return out, nil
}

func TestUserDirectoryResolvesUsersNoCallHasMapped(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	now := clock.Now()
	maps := &fakeUserMaps{maps: map[string]map[string]store.UserMapping{tenantID: {
		"u1": {EnreachUserID: "u1", CRMUserID: "crm-1", FetchedAt: now.Add(-time.Minute)},       // fresh
		"u2": {EnreachUserID: "u2", CRMUserID: "crm-2-old", FetchedAt: now.Add(-2 * time.Hour)}, // stale
		"u5": {EnreachUserID: "u5", CRMUserID: "", FetchedAt: now.Add(-time.Minute)},            // fresh "none"
	}}}
	users := &fakeEnreachUsers{users: map[string][]enreach.User{tenantID: {
		{ID: "U1", WorkNumber: "+358401110001"},
		{ID: "u2", WorkNumber: "+358401110002"},
		{ID: "u3", WorkNumber: "+358401110003"}, // never seen in a call
		{ID: "u4", WorkNumber: "+358401110004"}, // overridden
		{ID: "u5", WorkNumber: "+358401110005"},
		{ID: "u6"}, // no work number: resolved too, for the calls job
	}}}
	res := &fakeResolver{answers: map[string]string{"u2": "crm-2", "u3": "crm-3", "u6": "crm-6"}}
	d := NewUserDirectory(maps, users.get, DirectoryOptions{Now: clock.Now, Resolve: res.resolve,
		Overrides: func(string) map[string]string { return map[string]string{"U4": "crm-4"} }})
	ctx := context.Background()
	for _, c := range []struct {
		crmUser, want string
		ok            bool
	}{
		{"crm-1", "+358401110001", true},
		{"crm-2", "+358401110002", true}, // the fresh answer replaces the stale one
		{"crm-2-old", "", false},
		{"crm-3", "+358401110003", true}, // never mapped by a call
		{"crm-4", "+358401110004", true},
		{"crm-6", "", false}, // no work number
	} {
		got, ok := d.OwnerTarget(ctx, tenantID, c.crmUser)
		if got != c.want || ok != c.ok {
			t.Errorf("OwnerTarget(%q) = %q, %v; want %q, %v", c.crmUser, got, ok, c.want, c.ok)
		}
	}
	if want := [][]string{{"u2", "u3", "u6"}}; !slicesEqual(res.asked, want) {
		t.Errorf("asked %v, want %v (no fresh mapping, no override)", res.asked, want)
	}
}

func slicesEqual(a, b [][]string) bool {
	return slices.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

func TestUserDirectoryResolveFailureKeepsTheStoredMap(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	maps := &fakeUserMaps{maps: map[string]map[string]store.UserMapping{tenantID: {
		"u1": {EnreachUserID: "u1", CRMUserID: "crm-1", FetchedAt: clock.Now().Add(-3 * time.Hour)}, // stale
	}}}
	users := &fakeEnreachUsers{users: map[string][]enreach.User{tenantID: {
		{ID: "u1", WorkNumber: "+358401110001"}, {ID: "u2", WorkNumber: "+358401110002"},
	}}}
	res := &fakeResolver{err: errors.New("crm: 503")}
	var logs bytes.Buffer
	d := NewUserDirectory(maps, users.get, DirectoryOptions{Now: clock.Now, Resolve: res.resolve, TTL: time.Minute,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	if err := d.Refresh(ctx, tenantID); err != nil {
		t.Fatalf("a failing CRM failed the build: %v", err)
	}
	if got, ok := d.OwnerTarget(ctx, tenantID, "crm-1"); !ok || got != "+358401110001" {
		t.Errorf("stale stored mapping: %q, %v", got, ok)
	}
	if !strings.Contains(logs.String(), "resolving Enreach users failed") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
	// The CRM is back: the next build resolves.
	res.mu.Lock()
	res.err, res.answers = nil, map[string]string{"u1": "crm-1", "u2": "crm-2"}
	res.mu.Unlock()
	if err := d.Refresh(ctx, tenantID); err != nil {
		t.Fatal(err)
	}
	if got, ok := d.OwnerTarget(ctx, tenantID, "crm-2"); !ok || got != "+358401110002" {
		t.Errorf("after recovery: %q, %v", got, ok)
	}
	if len(res.asked) != 2 {
		t.Errorf("%d resolutions, want 2", len(res.asked))
	}
}

// Wired as cmd/callsync does it: the owner of a caller's record is an Enreach
// user that no call has mapped; the directory resolves them through the CRM
// with the calls job's code (jobs.Syncer.ResolveUsers: crm.users match by
// e-mail), which stores the answer for the calls job.
func TestOwnerTargetForAnEnreachUserNeverSeenInACall(t *testing.T) {
	ctx := context.Background()
	mem := crmtest.NewMemory()
	eve := mem.AddUser("eve@contoso.example", "Eve", "", false)
	mem.AddUser("gone@contoso.example", "Gone", "", true) // disabled
	mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Name: "Carl", OwnerID: eve,
		Phones: map[string]string{"mobilephone": "050 111 2222"}})

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "routing.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	e := newEnv(t, exampleRules()[1])
	e.setConfig(func(c *config.Tenant) { c.CRM.Users = config.Users{Match: config.MatchEmail} })
	e.cli = mem
	e.rebuild()
	syncer := &jobs.Syncer{Store: st}
	jt := jobs.NewTenant(e.cfg, nil, mem, e.m)
	enreachUsers := []enreach.User{
		{ID: "E-EVE", UserName: "Eve@Contoso.example", WorkNumber: "+358407770005"},
		{ID: "e-gone", UserName: "gone@contoso.example", WorkNumber: "+358407770009"},
	}
	dir := NewUserDirectory(st, func(context.Context, string) ([]enreach.User, error) { return enreachUsers, nil },
		DirectoryOptions{UserMapTTL: jobs.UserMapTTL,
			Resolve: func(ctx context.Context, _ string, us []enreach.User) (map[string]string, error) {
				return syncer.ResolveUsers(ctx, jt, us)
			}})
	h := NewHandler(TenantsFunc(func(string) (Tenant, bool) {
		return Tenant{Name: tenantID, Config: e.cfg, Matcher: e.m, CRM: mem}, true
	}), Options{Directory: dir, Metrics: NewMetrics(prometheus.NewRegistry())})
	e.mux.Handle("POST /wired/{tenant}", h)

	if m, _ := st.UserMap(ctx, tenantID); len(m) != 0 {
		t.Fatalf("stored map before: %v", m)
	}
	w := e.post("/wired/"+tenantID, `{"anum":"+358501112222","bnum":"`+queueNum+`"}`, withKey)
	if got := targetOf(t, w); got != (response{InitialTarget: "+358407770005", FailTarget: "+358409999999"}) {
		t.Fatalf("owner never seen in a call: %+v", got)
	}
	m, err := st.UserMap(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	if m["e-eve"].CRMUserID != eve || m["e-gone"].CRMUserID != "" || len(m) != 2 {
		t.Errorf("stored for the calls job: %+v", m)
	}
	if n := mem.Calls(crmtest.MethodUsers); n != 1 {
		t.Errorf("%d CRM user queries, want 1 (batched)", n)
	}
	// A rebuild within the user map's TTL does not ask the CRM again.
	if err := dir.Refresh(ctx, tenantID); err != nil {
		t.Fatal(err)
	}
	if n := mem.Calls(crmtest.MethodUsers); n != 1 {
		t.Errorf("%d CRM user queries after a rebuild, want still 1", n)
	}
}
