package enreach_test

import (
	"context"
	"strings"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
)

// doctorOrg is a complete organisation: users, a queue and two callback
// lists, each read by an active profile.
func doctorOrg(t *testing.T) (*enreachtest.Server, enreach.DoctorOptions) {
	srv := newServer(t)
	srv.AddUsers(alice, bob)
	srv.AddQueues(sales)
	srv.AddCallbackLists(
		enreach.CallbackList{ID: "c0000000-0000-4000-8000-000000000001", Name: "Sales callbacks", QueueID: sales.ID},
		enreach.CallbackList{ID: "c0000000-0000-4000-8000-000000000002", Name: "Support callbacks"},
	)
	return srv, enreach.DoctorOptions{QueueCalls: true, Profiles: []enreach.DoctorProfile{
		{Name: "sales", ListID: "c0000000-0000-4000-8000-000000000001", Polling: true},
		{Name: "support", ListID: "C0000000-0000-4000-8000-000000000002", Polling: true, Webhook: true},
	}}
}

// byName indexes check lines by name.
func byName(t *testing.T, cs []crm.Check) map[string]crm.Check {
	t.Helper()
	m := map[string]crm.Check{}
	for _, c := range cs {
		if c.Area != "enreach" {
			t.Errorf("check %s has area %q", c.Name, c.Area)
		}
		if c.Status != crm.CheckOK && c.Fix == "" {
			t.Errorf("%s %s has no fix: %s", c.Status, c.Name, c.Detail)
		}
		m[c.Name] = c
	}
	return m
}

func TestDoctorCompleteOrgIsAllOK(t *testing.T) {
	srv, opts := doctorOrg(t)
	cs := newClient(t, srv, func(c *enreach.Config) { c.APIURL = ""; c.DiscoveryURL = srv.DiscoveryURL }).Doctor(context.Background(), opts)
	got := byName(t, cs)
	for _, name := range []string{"api_host", "auth", "users", "queues", "callback_lists", "callback_list sales", "callback_list support", "webhooks"} {
		c, ok := got[name]
		if !ok || c.Status != crm.CheckOK {
			t.Errorf("%s: %+v, want ok (all: %+v)", name, c, cs)
		}
	}
	if !strings.Contains(got["api_host"].Detail, "discovered "+srv.URL) {
		t.Errorf("api_host detail %q does not name the discovered host", got["api_host"].Detail)
	}
	// Read-only: only GETs.
	for _, r := range srv.Log() {
		if r.Method != "GET" {
			t.Errorf("doctor sent %s %s", r.Method, r.Path)
		}
	}
}

func TestDoctorWrongSecretFailsWithTheFixAndStops(t *testing.T) {
	srv, opts := doctorOrg(t)
	c := newClient(t, srv)
	srv.SetSecret("sk-rotated-by-an-admin")
	cs := c.Doctor(context.Background(), opts)
	got := byName(t, cs)
	auth := got["auth"]
	if auth.Status != crm.CheckFail || !strings.Contains(auth.Detail, "401") || !strings.Contains(auth.Fix, "secret key") {
		t.Fatalf("auth: %+v", auth)
	}
	if _, ok := got["users"]; ok {
		t.Errorf("checks went on after the credentials failed: %+v", cs)
	}
	for _, c := range cs {
		if strings.Contains(c.Detail+c.Fix, srv.Secret) {
			t.Fatalf("a check line shows the secret: %+v", c)
		}
	}
	if crm.WorstStatus(cs) != crm.CheckFail {
		t.Fatal("worst status is not fail")
	}
}

func TestDoctorUnknownDiscoveryUserFails(t *testing.T) {
	srv, opts := doctorOrg(t)
	c := newClient(t, srv, func(c *enreach.Config) {
		c.APIURL, c.DiscoveryURL, c.User = "", srv.DiscoveryURL, "nobody@contoso.example"
	})
	got := byName(t, c.Doctor(context.Background(), opts))
	if h := got["api_host"]; h.Status != crm.CheckFail || !strings.Contains(h.Fix, "enreach.api_url") || !strings.Contains(h.Detail, "nobody@contoso.example") {
		t.Fatalf("api_host: %+v", h)
	}
}

func TestDoctorNoRightOnACallbackListNamesTheProfileAndTheRight(t *testing.T) {
	srv, opts := doctorOrg(t)
	srv.DenyCallbackList("c0000000-0000-4000-8000-000000000002")
	got := byName(t, newClient(t, srv).Doctor(context.Background(), opts))
	if got["callback_list sales"].Status != crm.CheckOK {
		t.Errorf("sales: %+v", got["callback_list sales"])
	}
	sup := got["callback_list support"]
	if sup.Status != crm.CheckFail || !strings.Contains(sup.Detail, "profile support") || !strings.Contains(sup.Detail, "403") ||
		!strings.Contains(sup.Fix, `"Support callbacks"`) || !strings.Contains(sup.Fix, "right to read and handle") {
		t.Fatalf("support: %+v", sup)
	}
}

func TestDoctorMissingListAndReadRights(t *testing.T) {
	srv, opts := doctorOrg(t)
	opts.Profiles = append(opts.Profiles, enreach.DoctorProfile{Name: "gone", ListID: "c0000000-0000-4000-8000-0000000000ff", Polling: true})
	srv.Deny("/users")
	srv.Deny("/queues")
	got := byName(t, newClient(t, srv).Doctor(context.Background(), opts))
	if u := got["users"]; u.Status != crm.CheckFail || !strings.Contains(u.Detail, "403") || !strings.Contains(u.Fix, "read all users") {
		t.Errorf("users: %+v", u)
	}
	if q := got["queues"]; q.Status != crm.CheckFail || !strings.Contains(q.Fix, "service queues") {
		t.Errorf("queues (queue calls synced): %+v", q)
	}
	if g := got["callback_list gone"]; g.Status != crm.CheckFail || !strings.Contains(g.Fix, `"Sales callbacks"`) {
		t.Errorf("a list the API user cannot see: %+v", g)
	}
	srv.Allow()
	srv.Deny("/callbacklists")
	got = byName(t, newClient(t, srv).Doctor(context.Background(), opts))
	if l := got["callback_lists"]; l.Status != crm.CheckFail || !strings.Contains(l.Fix, "callback lists") {
		t.Errorf("callback lists: %+v", l)
	}
	// Without callback profiles the lists are not needed.
	got = byName(t, newClient(t, srv).Doctor(context.Background(), enreach.DoctorOptions{}))
	if l := got["callback_lists"]; l.Status != crm.CheckOK {
		t.Errorf("callback lists without profiles: %+v", l)
	}
}

func TestDoctorWebhookOnlyProfileWarnsThatSubscriptionsAreNotVisible(t *testing.T) {
	srv, opts := doctorOrg(t)
	opts.Profiles[1].Polling = false
	got := byName(t, newClient(t, srv).Doctor(context.Background(), opts))
	w := got["webhooks"]
	if w.Status != crm.CheckWarn || !strings.Contains(w.Detail, "support") || !strings.Contains(w.Fix, "webhook_and_polling") {
		t.Fatalf("webhooks: %+v", w)
	}
}
