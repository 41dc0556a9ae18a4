package salesforce_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
)

type sfClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *sfClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *sfClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestListPhonesQueryPagesModstampAndDeleted(t *testing.T) {
	ctx := context.Background()
	clk := &sfClock{t: time.Now().UTC().Truncate(time.Minute)}
	srv := newOrg(t, func(c *salesforcetest.Config) { c.QueryPageSize = 3; c.Now = clk.now })
	c := newClient(t, ccConfig(srv), salesforce.Options{Now: clk.now})
	var ids []string
	for i := range 7 {
		ids = append(ids, srv.Add("Contact", map[string]any{"LastName": fmt.Sprint("c", i),
			"Phone": fmt.Sprintf("08-123 456 0%d", i), "MailingCountry": "Sweden"}))
	}
	var got []crm.PhoneRecord
	page, pages := "", 0
	for {
		p, err := c.ListPhones(ctx, crm.PhoneListRequest{Entity: crm.Contact, Page: page})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, p.Records...)
		if p.Next == "" {
			break
		}
		page = p.Next
	}
	if pages != 3 || len(got) != 7 {
		t.Fatalf("%d pages, %d records; want 3 pages (nextRecordsUrl, 3 a page) of 7", pages, len(got))
	}
	if r := got[0]; r.ID != ids[0] || r.Phones["Phone"] != "08-123 456 00" || r.Country != "Sweden" || !r.Modified.Equal(clk.now()) || r.OwnerID == "" {
		t.Fatalf("first record %+v", r)
	}
	// An expired query locator restarts the load.
	_, err := c.ListPhones(ctx, crm.PhoneListRequest{Entity: crm.Contact, Page: "/services/data/v62.0/query/01g000000000000999-3"})
	if !errors.Is(err, crm.ErrPageExpired) {
		t.Fatalf("unknown locator: %v, want crm.ErrPageExpired", err)
	}

	since := clk.now()
	clk.add(5 * time.Minute)
	srv.Update(ids[2], map[string]any{"Phone": "+46 8 765 43 21"})
	srv.Delete(ids[4])
	clk.add(time.Minute)
	p, err := c.ListPhones(ctx, crm.PhoneListRequest{Entity: crm.Contact, Since: since.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 || p.Records[0].ID != ids[2] || p.Records[0].Phones["Phone"] != "+46 8 765 43 21" {
		t.Fatalf("modified since: %+v", p.Records)
	}
	d, err := c.DeletedRecords(ctx, crm.DeletedRequest{Entity: crm.Contact, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.IDs) != 1 || d.IDs[0] != ids[4] || !d.Until.Equal(clk.now()) {
		t.Fatalf("deleted: %+v, want %s until %s", d, ids[4], clk.now())
	}
}

// Salesforce lists deletions of the last 15 days only: an older cursor asks
// for a full load instead of missing them.
func TestDeletedRecordsOlderThanTheLog(t *testing.T) {
	clk := &sfClock{t: time.Now().UTC().Truncate(time.Minute)}
	srv := newOrg(t, func(c *salesforcetest.Config) { c.Now = clk.now })
	c := newClient(t, ccConfig(srv), salesforce.Options{Now: clk.now})
	_, err := c.DeletedRecords(context.Background(), crm.DeletedRequest{Entity: crm.Contact, Since: clk.now().Add(-16 * 24 * time.Hour)})
	if !errors.Is(err, crm.ErrDeletedTooOld) {
		t.Fatalf("err = %v, want crm.ErrDeletedTooOld", err)
	}
	if _, err := c.DeletedRecords(context.Background(), crm.DeletedRequest{Entity: crm.Contact, Since: clk.now().Add(-14 * 24 * time.Hour)}); err != nil {
		t.Fatalf("14 days back: %v", err)
	}
}
