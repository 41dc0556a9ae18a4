package phonedir_test

// The directory over each real CRM client and its double: a full load reads
// every record's phone values with its address country, an incremental sync
// picks up a changed number and (where the CRM lists them) a deleted record.

import (
	"context"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/crm/zoho/zohotest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/phonedir"
)

var fast = httpclient.Options{WaitMin: time.Millisecond, WaitMax: 2 * time.Millisecond}

// crmWorld seeds a Finnish contact without a country and a Swedish one with
// it, and changes or deletes them as a user would.
type crmWorld struct {
	lister      crm.PhoneLister
	finn, swede string
	changeFinn  func()
	deleteSwede func() bool // false: the CRM lists no deletions
	// expire, when set, makes the CRM forget the change-tracking tokens
	// it gave.
	expire func()
	tick   func(time.Duration)
	now    func() time.Time
}

func dynamicsWorld(t *testing.T) crmWorld { return dynamicsShaped(t, dynamicstest.Options{}) }

// dynamicsUntracked is an org whose tables do not track changes: deletions
// wait for the next full load.
func dynamicsUntracked(t *testing.T) crmWorld {
	return dynamicsShaped(t, dynamicstest.Options{NoChangeTracking: true})
}

func dynamicsShaped(t *testing.T, o dynamicstest.Options) crmWorld {
	srv := dynamicstest.NewServer(o)
	t.Cleanup(srv.Close)
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	srv.SetClock(clk.Now)
	c, err := dynamics.New(srv.Config(), dynamics.Options{HTTP: fast})
	if err != nil {
		t.Fatal(err)
	}
	w := crmWorld{lister: c, tick: clk.Add, now: clk.Now}
	w.finn = srv.AddContact(dynamicstest.Record{Name: "Matti", Phones: map[string]string{"mobilephone": "040-123 45 67"}})
	w.swede = srv.AddContact(dynamicstest.Record{Name: "Sven", Phones: map[string]string{"telephone1": "08-123 456 02"},
		Fields: map[string]any{"address1_country": "Sverige"}})
	w.changeFinn = func() { srv.UpdateRecord("contacts", w.finn, map[string]any{"mobilephone": "(050) 765 4321"}) }
	w.deleteSwede = func() bool { srv.DeleteRecord("contacts", w.swede); return !o.NoChangeTracking }
	w.expire = srv.ExpireDeltaTokens
	return w
}

func salesforceWorld(t *testing.T) crmWorld {
	clk := &clock{t: time.Now().UTC().Truncate(time.Minute)}
	srv := salesforcetest.NewServer(salesforcetest.Config{ClientID: "id", ClientSecret: "secret", Now: clk.Now})
	t.Cleanup(srv.Close)
	c, err := salesforce.New(salesforce.Config{LoginURL: srv.URL, Grant: "client_credentials", ClientID: "id",
		ClientSecret: "secret"}, salesforce.Options{HTTP: fast, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	w := crmWorld{lister: c, tick: clk.Add, now: clk.Now}
	w.finn = srv.Add("Contact", map[string]any{"LastName": "Matti", "MobilePhone": "040-123 45 67"})
	w.swede = srv.Add("Contact", map[string]any{"LastName": "Sven", "Phone": "08-123 456 02", "MailingCountry": "Sweden"})
	w.changeFinn = func() { srv.Update(w.finn, map[string]any{"MobilePhone": "(050) 765 4321"}) }
	w.deleteSwede = func() bool { srv.Delete(w.swede); return true }
	return w
}

func zohoWorld(t *testing.T) crmWorld {
	srv := zohotest.NewServer()
	t.Cleanup(srv.Close)
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	srv.SetClock(clk.Now)
	c, err := zoho.New(srv.Config(), zoho.Options{HTTP: fast})
	if err != nil {
		t.Fatal(err)
	}
	w := crmWorld{lister: c, tick: clk.Add, now: clk.Now}
	w.finn = srv.AddRecord("Contacts", map[string]any{"Last_Name": "Matti", "Mobile": "040-123 45 67"})
	w.swede = srv.AddRecord("Contacts", map[string]any{"Last_Name": "Sven", "Phone": "08-123 456 02", "Mailing_Country": "SE"})
	w.changeFinn = func() { srv.UpdateRecord("Contacts", w.finn, map[string]string{"Mobile": "(050) 765 4321"}) }
	w.deleteSwede = func() bool { srv.DeleteRecord("Contacts", w.swede); return true }
	return w
}

func TestDirectoryOverEachCRM(t *testing.T) {
	for name, mk := range map[string]func(*testing.T) crmWorld{
		"dynamics": dynamicsWorld, "dynamics-untracked": dynamicsUntracked, "salesforce": salesforceWorld, "zoho": zohoWorld,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w := mk(t)
			d := phonedir.New(openStore(t), w.lister, phonedir.Options{Tenant: "t1", Region: "FI", Now: w.now})
			if _, err := d.Sync(ctx, false, nil); err != nil {
				t.Fatal(err)
			}
			if r := records(t, d, "+358401234567"); len(r) != 1 || r[0].ID != w.finn {
				t.Fatalf("Finnish contact: %+v", r)
			}
			if r := records(t, d, "+46812345602"); len(r) != 1 || r[0].ID != w.swede {
				t.Fatalf("Swedish contact by its address country: %+v", r)
			}
			if r := records(t, d, "+358812345602"); len(r) != 0 {
				t.Fatalf("Swedish national digits read as Finnish: %+v", r)
			}
			w.tick(10 * time.Minute)
			w.changeFinn()
			deletes := w.deleteSwede()
			w.tick(time.Minute)
			sum, err := d.Sync(ctx, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Full) != 0 {
				t.Fatalf("second sync loaded in full: %+v", sum)
			}
			if r := records(t, d, "+358507654321"); len(r) != 1 || r[0].ID != w.finn {
				t.Fatalf("changed number: %+v", r)
			}
			if r := records(t, d, "+358401234567"); len(r) != 0 {
				t.Fatalf("old number kept: %+v", r)
			}
			if r := records(t, d, "+46812345602"); deletes && len(r) != 0 {
				t.Fatalf("deleted contact kept: %+v", r)
			}
		})
	}
}

// Dataverse forgets a delta token after ExpireChangeTrackingInDays: the
// next sync loads the entity in full (finding what changed meanwhile) and
// tracks changes again from there.
func TestDynamicsExpiredDeltaReloads(t *testing.T) {
	ctx := context.Background()
	w := dynamicsWorld(t)
	d := phonedir.New(openStore(t), w.lister, phonedir.Options{Tenant: "t1", Region: "FI", Now: w.now})
	if _, err := d.Sync(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	w.tick(time.Minute)
	if sum, err := d.Sync(ctx, false, nil); err != nil || len(sum.Full) != 0 || sum.Requests != 1 {
		t.Fatalf("tracked incremental sync: %+v %v, want one request ($batch) for the three entities", sum, err)
	}
	w.expire()
	w.tick(time.Minute)
	w.changeFinn()
	w.deleteSwede()
	sum, err := d.Sync(ctx, false, nil)
	if err != nil || len(sum.Full) != 3 {
		t.Fatalf("after expiry: %+v %v, want a full load of the three entities", sum, err)
	}
	if r := records(t, d, "+358507654321"); len(r) != 1 || r[0].ID != w.finn {
		t.Fatalf("changed number: %+v", r)
	}
	if r := records(t, d, "+46812345602"); len(r) != 0 {
		t.Fatalf("deleted contact kept: %+v", r)
	}
	w.tick(time.Minute)
	if sum, err := d.Sync(ctx, false, nil); err != nil || len(sum.Full) != 0 {
		t.Fatalf("tracking did not start again: %+v %v", sum, err)
	}
}
