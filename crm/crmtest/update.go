package crmtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/callsync/callsync/crm"
)

// MethodUpdateActivities counts UpdateActivities calls of Memory.
const MethodUpdateActivities Method = "UpdateActivities"

var _ crm.Updater = (*Memory)(nil)

// UpdateActivities changes activities found by ID (or by Key when ID is
// empty): Updated, or Failed with ErrNotFound (no such activity), ErrClosed
// (OnlyOpen and the activity is completed) or ErrPermanent (a regarding or
// related record that does not exist).
func (m *Memory) UpdateActivities(ctx context.Context, ups []crm.ActivityUpdate) ([]crm.WriteResult, error) {
	if len(ups) == 0 {
		return nil, nil
	}
	if err := m.begin(ctx, MethodUpdateActivities); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]crm.WriteResult, 0, len(ups))
	for _, u := range ups {
		r := crm.WriteResult{Key: u.Key, ID: u.ID}
		a := m.byID[u.ID]
		if u.ID == "" {
			a = m.byKey[u.Key]
		}
		refs := slices.Clone(u.Related)
		if u.Regarding != nil {
			refs = append(refs, *u.Regarding)
		}
		var missing error
		for _, ref := range refs {
			if !m.hasRecord(ref) {
				missing = fmt.Errorf("%s does not exist: %w", ref, crm.ErrPermanent)
			}
		}
		switch err := m.keyFailure(u.Key); {
		case err != nil:
			r.Status, r.Err = crm.Failed, fmt.Errorf("crmtest: update %s: %w", u.Key, err)
		case a == nil:
			r.Status, r.Err = crm.Failed, fmt.Errorf("crmtest: update %s: %w: %w", u.Key, crm.ErrNotFound, crm.ErrPermanent)
		case u.OnlyOpen && (!a.act.Open || a.closed):
			r.ID, r.Status, r.Err = a.id, crm.Failed, fmt.Errorf("crmtest: update %s: %w", u.Key, crm.ErrClosed)
		case missing != nil:
			r.ID, r.Status, r.Err = a.id, crm.Failed, fmt.Errorf("crmtest: update %s: %w", u.Key, missing)
		default:
			if u.Regarding != nil {
				ref := *u.Regarding
				a.act.Regarding = &ref
				a.act.Related = slices.Clone(u.Related)
			}
			if u.Description != "" {
				a.act.Description = u.Description
			}
			r.ID, r.Status = a.id, crm.Updated
		}
		out = append(out, r)
	}
	return out, nil
}

// RunUpdate checks a client's crm.Updater: an unlinked completed call gets
// its link (and stays completed), an open callback request gets a new
// description, a closed one is refused with crm.ErrClosed when OnlyOpen,
// an unknown activity fails, nothing is created, and one batch stays within
// WriteBudget requests. Run calls it for clients that implement crm.Updater.
func RunUpdate(t *testing.T, b Backend) {
	ctx := context.Background()
	up, ok := b.Client().(crm.Updater)
	if !ok {
		t.Skip("client does not implement crm.Updater")
	}
	w := newWorld(t, b)
	call, call2, cb, closed := w.activity(3), w.activity(7), w.activity(19), w.activity(9)
	if call.Regarding != nil || call.Open || call2.Regarding != nil || cb.Regarding != nil || !cb.Open || !closed.Open || cb.Kind != crm.KindCallback {
		t.Fatal("suite bug: activities 3 and 7 must be unlinked completed calls, 19 and 9 open callbacks, 19 unlinked")
	}
	acts := []crm.Activity{call, call2, cb, closed}
	res, err := b.Client().WriteActivities(ctx, acts)
	if err != nil {
		t.Fatal(err)
	}
	ids := checkResults(t, "write", acts, res, crm.Created)
	if res, err := b.Client().CloseActivities(ctx, []crm.CloseRequest{{Key: closed.Key, ID: ids[3]}}); err != nil || res[0].Status == crm.Failed {
		t.Fatalf("close: %+v %v", res, err)
	}
	desc := "Callback request 19\nOther open requests from this number: a, b"
	ups := []crm.ActivityUpdate{
		{Key: call.Key, ID: ids[0], Kind: call.Kind, Direction: call.Direction, Regarding: w.refs[0], Related: []crm.Ref{*w.refs[0]}, Completed: true},
		{Key: call2.Key, ID: ids[1], Kind: call2.Kind, Direction: call2.Direction, Regarding: w.refs[2], Related: []crm.Ref{*w.refs[2]}, Completed: true},
		{Key: cb.Key, ID: ids[2], Kind: cb.Kind, Direction: cb.Direction, Description: desc, OnlyOpen: true},
		{Key: closed.Key, ID: ids[3], Kind: closed.Kind, Direction: closed.Direction, Description: "must not be written", OnlyOpen: true},
	}
	before := b.Requests()
	got, err := up.UpdateActivities(ctx, ups)
	if err != nil {
		t.Fatalf("UpdateActivities: %v", err)
	}
	if n := b.Requests() - before; n > WriteBudget {
		t.Errorf("UpdateActivities of %d made %d requests, want at most %d", len(ups), n, WriteBudget)
	}
	if len(got) != len(ups) {
		t.Fatalf("%d results for %d updates", len(got), len(ups))
	}
	for i := 0; i < 3; i++ {
		if got[i].Status != crm.Updated || got[i].Err != nil || got[i].Key != ups[i].Key {
			t.Errorf("update %d: %+v, want Updated", i, got[i])
		}
	}
	if got[3].Status != crm.Failed || !errors.Is(got[3].Err, crm.ErrClosed) {
		t.Errorf("update of a closed request: %+v, want Failed with ErrClosed", got[3])
	}
	stored := map[string]Stored{}
	for _, s := range b.Activities() {
		stored[s.ID] = s
	}
	if len(stored) != 4 {
		t.Errorf("CRM holds %d activities after the updates, want 4", len(stored))
	}
	for i, want := range []*crm.Ref{w.refs[0], w.refs[2]} {
		s := stored[ids[i]]
		if s.Regarding == nil || *s.Regarding != *want || s.Open {
			t.Errorf("call %d after the link: regarding %v open %v, want %v and completed", i, s.Regarding, s.Open, want)
		}
	}
	s := stored[ids[2]]
	if !s.Open || (!slices.Contains(s.NotHeld, "Description") && !sameText(s.Description, desc)) {
		t.Errorf("open request after the update: open %v description %q", s.Open, s.Description)
	}
	if s := stored[ids[3]]; sameText(s.Description, "must not be written") {
		t.Error("a closed request was updated")
	}
	got, err = up.UpdateActivities(ctx, []crm.ActivityUpdate{{Key: crm.Key("suite", crm.KindCall, "never-written"), ID: w.refs[0].ID, Kind: crm.KindCall, Direction: crm.Inbound, Description: "x"}})
	if err != nil || len(got) != 1 || got[0].Status != crm.Failed {
		t.Errorf("update of an activity that does not exist (a contact's id): %+v %v, want Failed", got, err)
	}
	if res, err := up.UpdateActivities(ctx, nil); err != nil || len(res) != 0 {
		t.Errorf("UpdateActivities(empty) = %v, %v", res, err)
	}
}

func sameText(stored, want string) bool {
	return stored == want || stored == replaceCRLF(want) || replaceCRLF(stored) == replaceCRLF(want)
}

func replaceCRLF(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}
