package dynamics_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
)

// Smart Routing fetches a contact's parent account through this interface.
var _ crm.ParentFetcher = (*dynamics.Client)(nil)

func TestAccountsByID(t *testing.T) {
	b := newBackend(t, dynamicstest.Options{PageSize: 7}) // paging exercised
	ctx := context.Background()
	owner := b.srv.AddUser(dynamicstest.User{Name: "Anna", Email: "anna@contoso.example"})
	vip := b.srv.AddAccount(dynamicstest.Record{Name: "Big Co", OwnerID: owner,
		Fields: map[string]any{"cs_tier": "VIP", "cs_region": "north"}})
	plain := b.srv.AddAccount(dynamicstest.Record{Name: "Small Co", Fields: map[string]any{"cs_tier": "basic"}})
	noTier := b.srv.AddAccount(dynamicstest.Record{Name: "No Tier"})
	// A contact with the same id shape must not come back as an account.
	contact := b.srv.AddContact(dynamicstest.Record{Name: "Carl", ParentAccountID: vip})
	var many []string
	for i := range 40 {
		many = append(many, b.srv.AddAccount(dynamicstest.Record{Name: fmt.Sprintf("Filler %d", i)}))
	}
	b.srv.ResetLog()

	ids := append([]string{strings.ToUpper(vip), plain, noTier, contact, "not-a-guid", "", vip}, many...)
	got, err := b.client.Accounts(ctx, ids, []string{"cs_tier"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4+len(many) {
		t.Fatalf("%d accounts, want %d: %v", len(got), 4+len(many), got)
	}
	for _, id := range []string{strings.ToUpper(vip), vip} { // keyed by the id as given
		r := got[id]
		if r.Entity != crm.Account || !strings.EqualFold(r.ID, vip) || r.Name != "Big Co" || r.OwnerID != owner {
			t.Errorf("%s: %+v", id, r)
		}
		if len(r.Fields) != 1 || r.Fields["cs_tier"] != "VIP" {
			t.Errorf("%s: fields %v, want only the requested cs_tier", id, r.Fields)
		}
	}
	if r := got[plain]; r.Fields["cs_tier"] != "basic" || r.OwnerID != b.srv.AppUserID() {
		t.Errorf("plain: %+v", r)
	}
	if r, ok := got[noTier]; !ok || len(r.Fields) != 0 {
		t.Errorf("an account without the field: %+v, %v", r, ok)
	}
	for _, id := range []string{contact, "not-a-guid", ""} {
		if _, ok := got[id]; ok {
			t.Errorf("%q answered", id)
		}
	}

	// One GET for every id (plus its next pages), In over accountid.
	reqs := b.srv.Log()
	if len(reqs) == 0 {
		t.Fatal("no request")
	}
	q, err := url.QueryUnescape(reqs[0].Query)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(q, "Microsoft.Dynamics.CRM.In(PropertyName='accountid'") || !strings.Contains(q, "$select=accountid,name,_ownerid_value,cs_tier") {
		t.Errorf("query %s", q)
	}
	pages := (4 + len(many) + 6) / 7 // 44 rows of 7
	if len(reqs) != pages {
		t.Errorf("%d requests, want %d (one query and its pages)", len(reqs), pages)
	}
	for _, r := range reqs {
		if !strings.HasSuffix(r.Path, "/accounts") || r.Method != "GET" || r.Status != 200 {
			t.Errorf("request %+v", r)
		}
	}
}

func TestAccountsEdges(t *testing.T) {
	b := newBackend(t, dynamicstest.Options{})
	ctx := context.Background()
	acc := b.srv.AddAccount(dynamicstest.Record{Name: "Big Co", Fields: map[string]any{"cs_tier": "VIP"}})

	got, err := b.client.Accounts(ctx, []string{"nope", ""}, nil)
	if err != nil || len(got) != 0 || b.srv.APIRequests() != 0 {
		t.Fatalf("no valid id: %v, %v, %d requests", got, err, b.srv.APIRequests())
	}
	if _, err := b.client.Accounts(ctx, []string{acc}, []string{"cs_tier eq 'x'"}); err == nil {
		t.Fatal("a field that is not a column name was sent")
	}
	if _, err := b.client.Accounts(ctx, []string{acc}, []string{"nosuchcolumn"}); err == nil {
		t.Fatal("Dataverse's error on an unknown column was hidden")
	}

	// Throttled once: retried after Retry-After, then answered.
	b.srv.ResetLog()
	b.srv.Fail(dynamicstest.Fault{Status: 429, RetryAfter: time.Second})
	got, err = b.client.Accounts(ctx, []string{acc}, nil)
	if err != nil || got[acc].Name != "Big Co" || got[acc].Fields != nil {
		t.Fatalf("after a 429: %+v, %v", got, err)
	}
	if n := b.srv.APIRequests(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	// A failing org: the error says so.
	b.srv.Fail(dynamicstest.Fault{Status: 500, Times: 10})
	if _, err := b.client.Accounts(ctx, []string{acc}, nil); err == nil || !strings.Contains(err.Error(), "dynamics: accounts") {
		t.Fatalf("5xx: %v", err)
	}
}
