package routing

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/store"
)

type fakeUserMaps struct {
	mu    sync.Mutex
	maps  map[string]map[string]store.UserMapping
	err   error
	calls atomic.Int64
}

func (f *fakeUserMaps) UserMap(ctx context.Context, tenant string) (map[string]store.UserMapping, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return f.maps[tenant], nil
}

func mapping(pairs ...string) map[string]store.UserMapping {
	out := map[string]store.UserMapping{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out[pairs[i]] = store.UserMapping{EnreachUserID: pairs[i], CRMUserID: pairs[i+1]}
	}
	return out
}

// fakeEnreachUsers serves users per tenant; with gate set, each call waits
// for a value on it.
type fakeEnreachUsers struct {
	mu    sync.Mutex
	users map[string][]enreach.User
	err   error
	gate  chan struct{}
	calls atomic.Int64
}

func (f *fakeEnreachUsers) get(ctx context.Context, tenant string) ([]enreach.User, error) {
	f.calls.Add(1)
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return f.users[tenant], nil
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestUserDirectoryInvertsTheUserMap(t *testing.T) {
	maps := &fakeUserMaps{maps: map[string]map[string]store.UserMapping{
		tenantID: mapping(
			"aaaa-1", "CRM-ANNA",
			"bbbb-2", "crm-bob",
			"cccc-3", "crm-carl",
			"dddd-4", "", // no CRM user
			"eeee-5", "crm-shared",
			"ffff-6", "crm-shared",
			"gggg-7", "crm-old", // overridden in the config
		),
		"other": mapping("aaaa-1", "crm-anna-elsewhere"),
	}}
	users := &fakeEnreachUsers{users: map[string][]enreach.User{
		tenantID: {
			{ID: "AAAA-1", WorkNumber: "+358401110001"},
			{ID: "bbbb-2", WorkNumber: ""}, // no work number
			{ID: "cccc-3", WorkNumber: " 040 111 0003 "},
			{ID: "dddd-4", WorkNumber: "+358401110004"},
			{ID: "ffff-6", WorkNumber: "+358401110006"},
			{ID: "eeee-5", WorkNumber: "+358401110005"},
			{ID: "gggg-7", WorkNumber: "+358401110007"},
			{ID: "hhhh-8", WorkNumber: "+358401110008"}, // only in the overrides
		},
		"other": {{ID: "aaaa-1", WorkNumber: "+46701110001"}},
	}}
	d := NewUserDirectory(maps, users.get, DirectoryOptions{Overrides: func(tenant string) map[string]string {
		if tenant != tenantID {
			return nil
		}
		return map[string]string{"GGGG-7": "crm-overridden", "HHHH-8": "crm-h"}
	}})
	ctx := context.Background()
	for _, c := range []struct {
		tenant, crmUser, want string
		ok                    bool
	}{
		{tenantID, "crm-anna", "+358401110001", true}, // case-insensitive on both ids
		{tenantID, "CRM-ANNA", "+358401110001", true},
		{tenantID, "crm-bob", "", false},
		{tenantID, "crm-carl", "040 111 0003", true}, // the handler normalises
		{tenantID, "", "", false},
		{tenantID, "crm-nobody", "", false},
		{tenantID, "crm-shared", "+358401110005", true}, // lowest Enreach id
		{tenantID, "crm-overridden", "+358401110007", true},
		{tenantID, "crm-old", "", false},
		{tenantID, "crm-h", "+358401110008", true},
		{"other", "crm-anna-elsewhere", "+46701110001", true},
		{"other", "crm-anna", "", false},
	} {
		got, ok := d.OwnerTarget(ctx, c.tenant, c.crmUser)
		if got != c.want || ok != c.ok {
			t.Errorf("OwnerTarget(%s, %q) = %q, %v; want %q, %v", c.tenant, c.crmUser, got, ok, c.want, c.ok)
		}
	}
	if n := users.calls.Load(); n != 2 {
		t.Errorf("%d Enreach user requests, want one per tenant", n)
	}
}

func TestUserDirectoryRefreshesInTheBackground(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	maps := &fakeUserMaps{maps: map[string]map[string]store.UserMapping{tenantID: mapping("u1", "crm-1")}}
	users := &fakeEnreachUsers{users: map[string][]enreach.User{tenantID: {{ID: "u1", WorkNumber: "+358401110001"}}}}
	d := NewUserDirectory(maps, users.get, DirectoryOptions{TTL: time.Minute, Now: clock.Now})
	ctx := context.Background()
	if got, _ := d.OwnerTarget(ctx, tenantID, "crm-1"); got != "+358401110001" {
		t.Fatalf("first build: %q", got)
	}

	// The user's number changes; the map is stale after the TTL.
	gate := make(chan struct{})
	users.mu.Lock()
	users.users[tenantID] = []enreach.User{{ID: "u1", WorkNumber: "+358401119999"}}
	users.gate = gate
	users.mu.Unlock()
	clock.Add(2 * time.Minute)
	// The stale map answers at once while the rebuild waits on the gate.
	if got, _ := d.OwnerTarget(ctx, tenantID, "crm-1"); got != "+358401110001" {
		t.Fatalf("stale answer: %q", got)
	}
	if got, _ := d.OwnerTarget(ctx, tenantID, "crm-1"); got != "+358401110001" {
		t.Fatalf("stale answer while rebuilding: %q", got)
	}
	gate <- struct{}{} // let the one rebuild finish
	// Wait for the rebuild to land (no sleeping on a guess: poll the
	// state through the public API with a bound).
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := d.OwnerTarget(ctx, tenantID, "crm-1")
		if got == "+358401119999" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rebuild never landed; still %q", got)
		}
		time.Sleep(time.Millisecond)
	}
	if n := users.calls.Load(); n != 2 {
		t.Errorf("%d Enreach user requests, want 2 (one rebuild only)", n)
	}
}

func TestUserDirectoryFailures(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	maps := &fakeUserMaps{maps: map[string]map[string]store.UserMapping{tenantID: mapping("u1", "crm-1")}, err: errors.New("database is locked")}
	users := &fakeEnreachUsers{users: map[string][]enreach.User{tenantID: {{ID: "u1", WorkNumber: "+358401110001"}}}}
	d := NewUserDirectory(maps, users.get, DirectoryOptions{TTL: 10 * time.Minute, Now: clock.Now})
	ctx := context.Background()
	if _, ok := d.OwnerTarget(ctx, tenantID, "crm-1"); ok {
		t.Fatal("resolved without a user map")
	}
	// Within the back-off no new attempt is made.
	maps.mu.Lock()
	maps.err = nil
	maps.mu.Unlock()
	if _, ok := d.OwnerTarget(ctx, tenantID, "crm-1"); ok {
		t.Fatal("retried during the back-off")
	}
	if n := maps.calls.Load(); n != 1 {
		t.Fatalf("%d store reads, want 1", n)
	}
	clock.Add(retryAfterFailure)
	if got, ok := d.OwnerTarget(ctx, tenantID, "crm-1"); !ok || got != "+358401110001" {
		t.Fatalf("after the back-off: %q, %v", got, ok)
	}

	// An explicit Refresh reports errors and keeps the previous map.
	users.mu.Lock()
	users.err = errors.New("enreach: 429")
	users.mu.Unlock()
	if err := d.Refresh(ctx, tenantID); err == nil {
		t.Fatal("Refresh hid the error")
	}
	if got, ok := d.OwnerTarget(ctx, tenantID, "crm-1"); !ok || got != "+358401110001" {
		t.Fatalf("after a failed refresh: %q, %v", got, ok)
	}
}

func TestUserDirectoryFirstBuildWaitsWithinTheBudget(t *testing.T) {
	maps := &fakeUserMaps{maps: map[string]map[string]store.UserMapping{tenantID: mapping("u1", "crm-1")}}
	gate := make(chan struct{})
	users := &fakeEnreachUsers{users: map[string][]enreach.User{tenantID: {{ID: "u1", WorkNumber: "+358401110001"}}}, gate: gate}
	d := NewUserDirectory(maps, users.get, DirectoryOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the request's budget is spent
	if _, ok := d.OwnerTarget(ctx, tenantID, "crm-1"); ok {
		t.Fatal("answered before the map was built")
	}
	close(gate) // the build goes on without the request and lands
	for i := 0; ; i++ {
		if got, ok := d.OwnerTarget(context.Background(), tenantID, "crm-1"); ok {
			if got != "+358401110001" {
				t.Fatalf("got %q", got)
			}
			break
		}
		if i > 5000 {
			t.Fatal("the build never landed")
		}
		time.Sleep(time.Millisecond)
	}
	if n := users.calls.Load(); n != 1 {
		t.Errorf("%d builds, want 1", n)
	}
}

var _ UserMaps = (*store.Store)(nil)
