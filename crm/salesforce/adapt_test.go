package salesforce_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
)

func lookupOne(t *testing.T, c interface {
	Lookup(context.Context, crm.LookupRequest) (crm.LookupResult, error)
}, number string) ([]crm.Record, error) {
	t.Helper()
	res, err := c.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: number}}})
	return res[number], err
}

// A phone field hidden by field-level security is dropped from lookups with
// a warning; the other fields still match; an object with no visible phone
// field is not searched; none anywhere is an error.
func TestLookupDropsHiddenPhoneFields(t *testing.T) {
	srv := newOrg(t, func(c *salesforcetest.Config) {
		c.HiddenFields = map[string][]string{"Contact": {"MobilePhone"}, "Lead": {"Phone", "MobilePhone", "Fax"}}
	})
	contact := srv.Add("Contact", map[string]any{"LastName": "Matti", "Phone": "+358401111111", "MobilePhone": "+358402222222"})
	srv.Add("Lead", map[string]any{"LastName": "Liisa", "Company": "X", "Phone": "+358401111111"})
	logs := &logBuffer{}
	opts := testOptions()
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	c := newClient(t, ccConfig(srv), opts)
	recs, err := lookupOne(t, c, "+358401111111")
	if err != nil || len(recs) != 1 || recs[0].ID != contact {
		t.Fatalf("lookup: %v %v", recs, err)
	}
	if _, ok := recs[0].Phones["MobilePhone"]; ok {
		t.Error("hidden field read")
	}
	for _, w := range []string{"Contact.MobilePhone is not visible", "Lead has no visible phone field left"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, logs)
		}
	}
	before := srv.Requests()
	if _, err := lookupOne(t, c, "+358401111111"); err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests() - before; n != 1 {
		t.Errorf("second lookup: %d requests, want 1 (adapted, no refused search)", n)
	}

	for _, f := range []string{"Phone", "HomePhone", "OtherPhone", "AssistantPhone", "Fax"} {
		srv.HideField("Contact", f)
	}
	srv.HideField("Account", "Phone")
	srv.HideField("Account", "Fax")
	if _, err := lookupOne(t, c, "+358401111111"); err == nil || !errors.Is(err, crm.ErrPermanent) {
		t.Errorf("no phone field anywhere: %v", err)
	}
}

// A field an admin deletes or hides at noon does not stop the afternoon's
// lookups and writes: the INVALID_FIELD answer makes the client describe
// again and go on with what is left.
func TestFieldRemovedAtNoon(t *testing.T) {
	srv := newOrg(t)
	contact := srv.Add("Contact", map[string]any{"LastName": "Matti", "Phone": "+358401111111", "MobilePhone": "+358402222222"})
	c := newClient(t, ccConfig(srv), testOptions())
	if recs, err := lookupOne(t, c, "+358402222222"); err != nil || len(recs) != 1 {
		t.Fatalf("morning: %v %v", recs, err)
	}
	if res, err := c.WriteActivities(context.Background(), []crm.Activity{activity(1, nil)}); err != nil || res[0].Status != crm.Created {
		t.Fatalf("morning write: %v %v", res, err)
	}
	// Noon: Contact.Phone is hidden, the number field deleted.
	srv.HideField("Contact", "Phone")
	srv.RemoveField("Task", "Enreach_Number__c")
	recs, err := lookupOne(t, c, "+358402222222")
	if err != nil || len(recs) != 1 || recs[0].ID != contact {
		t.Fatalf("afternoon lookup: %v %v", recs, err)
	}
	res, err := c.WriteActivities(context.Background(), []crm.Activity{activity(2, nil)})
	if err != nil || res[0].Status != crm.Created {
		t.Fatalf("afternoon write: %v %v", res, err)
	}
	now := time.Now()
	if _, err := c.FindActivities(context.Background(), []crm.ActivityQuery{{Number: "+358401111111", From: now.Add(-time.Minute), To: now}}); err != nil {
		t.Fatalf("afternoon find: %v", err)
	}
}

// The describe is trusted for a day: a field made visible again is used
// after the daily re-check.
func TestDailyRedescribe(t *testing.T) {
	srv := newOrg(t, func(c *salesforcetest.Config) { c.HiddenFields = map[string][]string{"Contact": {"MobilePhone"}} })
	srv.Add("Contact", map[string]any{"LastName": "Matti", "MobilePhone": "+358402222222"})
	var mu sync.Mutex
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	opts := testOptions()
	opts.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := newClient(t, ccConfig(srv), opts)
	if _, err := c.Doctor(context.Background()); err != nil { // describes
		t.Fatal(err)
	}
	// The admin fixes field-level security.
	srv.ShowField("Contact", "MobilePhone")
	if recs, _ := lookupOne(t, c, "+358402222222"); len(recs) != 0 {
		t.Fatalf("used MobilePhone before the daily re-check: %v", recs)
	}
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	if recs, err := lookupOne(t, c, "+358402222222"); err != nil || len(recs) != 1 {
		t.Fatalf("after the daily re-check: %v %v", recs, err)
	}
}
