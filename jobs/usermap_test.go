package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/store"
)

// userMapStore counts the user map reads.
type userMapStore struct {
	*store.Store
	whole, some int
}

func (u *userMapStore) UserMap(ctx context.Context, tenant string) (map[string]store.UserMapping, error) {
	u.whole++
	return u.Store.UserMap(ctx, tenant)
}

func (u *userMapStore) UserMapFor(ctx context.Context, tenant string, ids []string) (map[string]store.UserMapping, error) {
	u.some++
	return u.Store.UserMapFor(ctx, tenant, ids)
}

// A cycle whose agents are all mapped and fresh reads only their rows of
// the user map, not the tenant's whole map; one with an agent not mapped
// yet (or stale) reads the whole map and asks the CRM, as before.
func TestCycleReadsOnlyItsAgentsUserRows(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	us := &userMapStore{Store: w.store}
	w.syncer.Store = us
	w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358401111111", false, w.now.Add(-time.Hour), time.Second, time.Minute))
	w.runCalls(ctx) // maps every Enreach user (batch-first)
	if us.whole != 1 {
		t.Fatalf("first cycle read the whole map %d times, want once (nothing mapped yet)", us.whole)
	}
	for i, stale := range []bool{false, true} {
		if stale {
			w.now = w.now.Add(2 * time.Hour) // past the user map's TTL
		} else {
			w.now = w.now.Add(time.Minute)
		}
		w.en.AddCalls(enreachtest.DirectCall(w.alice, "+358912345678", false, w.now.Add(-30*time.Second), time.Second, 10*time.Second))
		us.whole, us.some = 0, 0
		if sum := w.runCalls(ctx); sum.Written != 1 {
			t.Fatalf("cycle %d: %+v, want the call written", i, sum)
		}
		if want := map[bool]int{false: 0, true: 1}[stale]; us.whole != want || us.some != 1 {
			t.Fatalf("cycle %d (stale %v): whole map read %d times, agents' rows %d; want %d and 1", i, stale, us.whole, us.some, want)
		}
	}
	written := w.ours()
	for _, a := range written {
		if a.Activity.OwnerID != w.crmAlice {
			t.Errorf("activity %+v owned by %q, want alice's CRM user %q", a, a.Activity.OwnerID, w.crmAlice)
		}
	}
}
