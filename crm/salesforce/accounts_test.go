package salesforce_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
)

// Smart Routing fetches a contact's parent account through this interface.
var _ crm.ParentFetcher = (*salesforce.Client)(nil)

func TestAccountsByID(t *testing.T) {
	srv := newOrg(t, func(c *salesforcetest.Config) { c.QueryPageSize = 100 }) // paging exercised
	c := newClient(t, ccConfig(srv), testOptions())
	ctx := context.Background()
	owner := srv.AddUser("Anna", "anna@contoso.example", true, nil)
	vip := srv.Add("Account", map[string]any{"Name": "Big Co", "OwnerId": owner, "Tier__c": "VIP", "Region__c": "north"})
	plain := srv.Add("Account", map[string]any{"Name": "Small Co", "Tier__c": "basic"})
	// A known 15/18-character pair: 15-character ids are completed with
	// their case checksum before they are sent.
	legacy := srv.Add("Account", map[string]any{"Id": "001A0000006Vm9rIAC", "Name": "Legacy"})
	contact := srv.Add("Contact", map[string]any{"LastName": "Carl", "AccountId": vip})
	var many []string
	for i := range 450 {
		many = append(many, srv.Add("Account", map[string]any{"Name": fmt.Sprint("Filler ", i)}))
	}
	before := len(srv.Log())

	ids := append([]string{vip, plain, "001A0000006Vm9r", contact, "not an id", "", vip}, many...)
	got, err := c.Accounts(ctx, ids, []string{"Tier__c"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3+len(many) {
		t.Fatalf("%d accounts, want %d", len(got), 3+len(many))
	}
	if r := got[vip]; r.Entity != crm.Account || r.ID != vip || r.Name != "Big Co" || r.OwnerID != owner ||
		len(r.Fields) != 1 || r.Fields["Tier__c"] != "VIP" {
		t.Errorf("vip: %+v", r)
	}
	if r := got[plain]; r.Fields["Tier__c"] != "basic" || r.OwnerID != srv.RunAsUserID() {
		t.Errorf("plain: %+v", r)
	}
	if r, ok := got["001A0000006Vm9r"]; !ok || r.ID != legacy || r.Name != "Legacy" {
		t.Errorf("15-character id: %+v, %v", r, ok)
	}
	for _, id := range []string{contact, "not an id", ""} {
		if _, ok := got[id]; ok {
			t.Errorf("%q answered", id)
		}
	}

	// 453 ids: three IN lists (200 each at most), sent in one composite
	// batch, plus the next pages.
	var reqs []salesforcetest.Request
	for _, r := range srv.Log()[before:] {
		if strings.HasPrefix(r.Path, "/services/data/") { // not the token
			reqs = append(reqs, r)
		}
	}
	if len(reqs) == 0 {
		t.Fatal("no API request")
	}
	if !strings.HasSuffix(reqs[0].Path, "/composite/batch") || reqs[0].Subrequests != 3 {
		t.Fatalf("%d API requests, the first %s with %d subrequests; want one composite batch of 3 queries",
			len(reqs), reqs[0].Path, reqs[0].Subrequests)
	}
	q, _ := url.QueryUnescape(reqs[0].Batch[0])
	if !strings.Contains(q, "SELECT Id,Name,OwnerId,Tier__c FROM Account WHERE Id IN ('") {
		t.Errorf("query %s", q)
	}
	if len(reqs) > 4 { // the batch, then at most 3 rounds of next pages
		t.Errorf("%d requests for 453 ids", len(reqs))
	}
}

func TestAccountsEdges(t *testing.T) {
	srv := newOrg(t)
	c := newClient(t, ccConfig(srv), testOptions())
	ctx := context.Background()
	acc := srv.Add("Account", map[string]any{"Name": "Big Co"})

	before := srv.Requests()
	if got, err := c.Accounts(ctx, []string{"nope", ""}, nil); err != nil || len(got) != 0 || srv.Requests() != before {
		t.Fatalf("no valid id: %v, %v, %d requests", got, err, srv.Requests()-before)
	}
	if _, err := c.Accounts(ctx, []string{acc}, []string{"Tier__c FROM Account--"}); err == nil {
		t.Fatal("a field that is not a field name was sent")
	}
	if _, err := c.Accounts(ctx, []string{acc}, []string{"Nope__c"}); err == nil || !strings.Contains(err.Error(), "INVALID_FIELD") {
		t.Fatalf("unknown field: %v", err)
	}
	// One id: a plain query; a null field reads "" as in Lookup.
	got, err := c.Accounts(ctx, []string{acc}, []string{"Industry"})
	if err != nil || got[acc].Name != "Big Co" || got[acc].Fields["Industry"] != "" {
		t.Fatalf("one id: %+v, %v", got, err)
	}
	// A 503 is retried; then it answers.
	srv.Fail(salesforcetest.Fault{Status: 503})
	if got, err := c.Accounts(ctx, []string{acc}, nil); err != nil || got[acc].ID != acc {
		t.Fatalf("after a 503: %+v, %v", got, err)
	}
	srv.Fail(salesforcetest.Fault{Status: 500, Times: 20})
	if _, err := c.Accounts(ctx, []string{acc}, nil); err == nil || !strings.Contains(err.Error(), "salesforce: accounts") {
		t.Fatalf("a failing org: %v", err)
	}
}
