package zoho_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/crm/zoho/zohotest"
	"github.com/callsync/callsync/httpclient"
)

func TestListPhonesPageTokenModifiedAndDeleted(t *testing.T) {
	ctx := context.Background()
	s := zohotest.NewServer()
	defer s.Close()
	clock := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return clock })
	c, err := zoho.New(s.Config(), zoho.Options{HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 2 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2205 // past the 2,000 records page numbers reach
	var ids []string
	for i := range n {
		ids = append(ids, s.AddRecord("Contacts", map[string]any{"Last_Name": fmt.Sprint("c", i),
			"Mobile": fmt.Sprintf("040 1%06d", i), "Mailing_Country": "Suomi"}))
	}
	seen := map[string]bool{}
	page, pages := "", 0
	var first crm.PhoneRecord
	for {
		p, err := c.ListPhones(ctx, crm.PhoneListRequest{Entity: crm.Contact, Page: page})
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		if pages == 0 {
			first = p.Records[0]
		}
		pages++
		for _, r := range p.Records {
			seen[r.ID] = true
		}
		if p.Next == "" {
			break
		}
		page = p.Next
	}
	if pages != 12 || len(seen) != n {
		t.Fatalf("%d pages, %d records; want 12 pages of 200 and %d records", pages, len(seen), n)
	}
	if first.ID != ids[0] || first.Phones["Mobile"] != "040 1000000" || first.Country != "Suomi" || !first.Modified.Equal(clock) {
		t.Fatalf("first record %+v", first)
	}
	if _, err := c.ListPhones(ctx, crm.PhoneListRequest{Entity: crm.Contact, Page: "not-a-token"}); !errors.Is(err, crm.ErrPageExpired) {
		t.Fatalf("unknown page token: %v, want crm.ErrPageExpired", err)
	}

	since := clock.Add(time.Minute)
	clock = clock.Add(time.Hour)
	s.UpdateRecord("Contacts", ids[9], map[string]string{"Mobile": "+46 8 123 456 02", "Mailing_Country": "Sweden"})
	s.DeleteRecord("Contacts", ids[3])
	p, err := c.ListPhones(ctx, crm.PhoneListRequest{Entity: crm.Contact, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 || p.Records[0].ID != ids[9] || p.Records[0].Country != "Sweden" || p.Next != "" {
		t.Fatalf("modified since: %+v next %q", p.Records, p.Next)
	}
	d, err := c.DeletedRecords(ctx, crm.DeletedRequest{Entity: crm.Contact, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.IDs) != 1 || d.IDs[0] != ids[3] {
		t.Fatalf("deleted: %+v", d)
	}
	if d, err := c.DeletedRecords(ctx, crm.DeletedRequest{Entity: crm.Contact, Since: clock.Add(time.Minute)}); err != nil || len(d.IDs) != 0 {
		t.Fatalf("deleted after the deletion: %+v %v", d, err)
	}
}
