package zoho_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/crm/zoho/zohotest"
)

// Smart Routing fetches a contact's parent account through this interface.
var _ crm.ParentFetcher = (*zoho.Client)(nil)

func TestAccountsByID(t *testing.T) {
	b, c, s := newClient(t, nil)
	owner := b.AddUser("anna@contoso.example", "Anna", "", false)
	vip := b.AddCustomer(crm.Account, "Big Co", nil, owner, map[string]string{extraField: "VIP"})
	plain := b.AddCustomer(crm.Account, "Small Co", nil, "", nil)
	contact := b.AddCustomer(crm.Contact, "Carl", nil, owner, nil)
	var many []string
	for i := range 2600 { // more than one query (and one page) holds
		many = append(many, b.AddCustomer(crm.Account, fmt.Sprint("Filler ", i), nil, "", nil))
	}
	s.ResetLog()

	ids := append([]string{vip, plain, contact, "12ab", "", " ", vip}, many...)
	got, err := c.Accounts(ctx, ids, []string{extraField})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2+len(many) {
		t.Fatalf("%d accounts, want %d", len(got), 2+len(many))
	}
	if r := got[vip]; r.Entity != crm.Account || r.ID != vip || r.Name != "Big Co" || r.OwnerID != owner ||
		len(r.Fields) != 1 || r.Fields[extraField] != "VIP" {
		t.Errorf("vip: %+v", r)
	}
	if r := got[plain]; r.Name != "Small Co" || r.OwnerID != s.AdminUserID() || r.Fields[extraField] != "" {
		t.Errorf("plain: %+v", r)
	}
	for _, id := range []string{contact, "12ab", "", " "} {
		if _, ok := got[id]; ok {
			t.Errorf("%q answered", id)
		}
	}
	log := s.Log()
	if len(log) != 2 {
		t.Fatalf("%d requests for 2602 ids, want 2", len(log))
	}
	for _, r := range log {
		if r.Path != "/crm/v8/coql" || !strings.HasPrefix(r.COQL, "select id, Account_Name, Owner, "+extraField+" from Accounts where ") ||
			!strings.Contains(r.COQL, "(id in ('") || strings.Count(r.COQL, " in (") > 20 {
			t.Errorf("request %s %s", r.Path, r.COQL[:min(len(r.COQL), 120)])
		}
	}
}

func TestAccountsEdges(t *testing.T) {
	b, c, s := newClient(t, nil)
	acc := b.AddCustomer(crm.Account, "Big Co", nil, "", nil)
	s.ResetLog()
	if got, err := c.Accounts(ctx, []string{"x", ""}, nil); err != nil || len(got) != 0 || s.APIRequests() != 0 {
		t.Fatalf("no valid id: %v, %v, %d requests", got, err, s.APIRequests())
	}
	if _, err := c.Accounts(ctx, []string{acc}, []string{"Tier from Accounts"}); err == nil {
		t.Fatal("a field that is not an API name was sent")
	}
	if _, err := c.Accounts(ctx, []string{acc}, []string{"No_Such_Field"}); err == nil || !strings.Contains(err.Error(), "INVALID_QUERY") {
		t.Fatalf("unknown field: %v", err)
	}
	// One id; an id the org does not have is absent (COQL answers 204).
	got, err := c.Accounts(ctx, []string{acc}, nil)
	if err != nil || got[acc].Name != "Big Co" || got[acc].Fields != nil {
		t.Fatalf("one id: %+v, %v", got, err)
	}
	if got, err := c.Accounts(ctx, []string{"5725767999999999999"}, nil); err != nil || len(got) != 0 {
		t.Fatalf("unknown id: %+v, %v", got, err)
	}
	// Throttled once, then answered; a failing org is an error.
	s.Fail(zohotest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	if got, err := c.Accounts(ctx, []string{acc}, nil); err != nil || got[acc].ID != acc {
		t.Fatalf("after a 429: %+v, %v", got, err)
	}
	s.Fail(zohotest.Fault{Status: 500, Times: 20})
	if _, err := c.Accounts(ctx, []string{acc}, nil); err == nil || !strings.Contains(err.Error(), "zoho: accounts") {
		t.Fatalf("a failing org: %v", err)
	}
}
