package jobs

import (
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/callsync/callsync/config"
)

func TestSyncTenantsFollowsTheRegistry(t *testing.T) {
	tenant := func(name string) *Tenant {
		c := config.DefaultTenant()
		c.Name, c.DefaultRegion = name, "FI"
		return NewTenant(c, nil, nil, nil)
	}
	reg := NewRegistry(tenant("a"), tenant("b"))
	s, err := NewScheduler(&Syncer{}, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.sched.Shutdown()
	names := func() []string {
		var out []string
		for _, j := range s.sched.Jobs() {
			out = append(out, j.Name())
		}
		sort.Strings(out)
		return out
	}
	if err := s.SyncTenants(); err != nil {
		t.Fatal(err)
	}
	if got := len(names()); got != 2+2*len(s.perTenant) {
		t.Fatalf("jobs %v: want the 2 global ones and %d per tenant", names(), len(s.perTenant))
	}
	// A reload drops tenant b and adds c; global jobs stay.
	reg.Replace([]*Tenant{tenant("a"), tenant("c")})
	if err := s.SyncTenants(); err != nil {
		t.Fatal(err)
	}
	got := names()
	for _, n := range got {
		if n == "calls/b" || n == "callbacks/b" || n == "retroactive/b" {
			t.Fatalf("tenant b's job %s survived its removal: %v", n, got)
		}
	}
	want := map[string]bool{"inbox": true, "purge": true, "calls/a": true, "calls/c": true, "callbacks/c": true}
	for _, n := range got {
		delete(want, n)
	}
	if len(want) != 0 {
		t.Fatalf("jobs %v lack %v", got, want)
	}

	// A held tenant (preflight failed) has no jobs until it is released.
	reg.Hold("c", "enreach auth: HTTP 401")
	if err := s.SyncTenants(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names() {
		if strings.HasSuffix(n, "/c") {
			t.Fatalf("held tenant c kept job %s: %v", n, names())
		}
	}
	if got := len(names()); got != 2+len(s.perTenant) {
		t.Fatalf("jobs %v: want the global ones and tenant a's", names())
	}
	reg.Release("c")
	if err := s.SyncTenants(); err != nil {
		t.Fatal(err)
	}
	if got := len(names()); got != 2+2*len(s.perTenant) {
		t.Fatalf("after release, jobs %v", names())
	}
	// A removed tenant's hold goes with it.
	reg.Hold("c", "x")
	reg.Replace([]*Tenant{tenant("a")})
	if held := reg.HeldNames(); len(held) != 0 {
		t.Fatalf("holds of removed tenants stayed: %v", held)
	}
}
