package dynamics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/phone"
)

// env is a client wired to a fresh double.
type env struct {
	srv *dynamicstest.Server
	c   *dynamics.Client
}

func newEnv(t *testing.T, o dynamicstest.Options, cfg func(*dynamics.Config), opts dynamics.Options) env {
	t.Helper()
	srv := dynamicstest.NewServer(o)
	t.Cleanup(srv.Close)
	dc := srv.Config()
	if cfg != nil {
		cfg(&dc)
	}
	if opts.HTTP.WaitMin == 0 {
		base := opts.HTTP.Transport
		opts.HTTP = fastRetries
		opts.HTTP.Transport = base
	}
	c, err := dynamics.New(dc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return env{srv: srv, c: c}
}

func (e env) requests() int { return e.srv.Requests() }

func forms(t *testing.T, e164 string) []string {
	t.Helper()
	n, ok := phone.Normalize(e164, "FI")
	if !ok {
		t.Fatalf("%s does not normalise", e164)
	}
	return phone.Forms(n)
}

func TestActivityIDIsStable(t *testing.T) {
	// Pinned: a changed namespace or derivation would turn every replayed
	// call into a duplicate.
	const key = "callsync/v1/contoso/call/6f1c7c2e-0000-4000-8000-000000000001"
	if got, want := dynamics.ActivityID(key), "ef19bcb1-dbe7-5f75-ad78-817ebf34f974"; got != want {
		t.Fatalf("ActivityID(%q) = %s, want %s", key, got, want)
	}
	if dynamics.ActivityID(key) == dynamics.ActivityID(key+"x") {
		t.Fatal("ActivityID collides")
	}
}

func TestNewValidates(t *testing.T) {
	good := dynamics.Config{URL: "https://contoso.crm4.dynamics.com", TenantID: "t", ClientID: "c", ClientSecret: "s3cr3t-value"}
	if _, err := dynamics.New(good, dynamics.Options{}); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	bad := map[string]func(*dynamics.Config){
		"relative url":       func(c *dynamics.Config) { c.URL = "contoso.crm4.dynamics.com" },
		"no tenant":          func(c *dynamics.Config) { c.TenantID = "" },
		"no secret":          func(c *dynamics.Config) { c.ClientSecret = "" },
		"unknown entity":     func(c *dynamics.Config) { c.PhoneFields = map[string][]string{"opportunity": {"telephone1"}} },
		"injected phone col": func(c *dynamics.Config) { c.PhoneFields = map[string][]string{"contact": {"telephone1 eq 'x'"}} },
	}
	for name, mod := range bad {
		c := good
		mod(&c)
		_, err := dynamics.New(c, dynamics.Options{})
		if err == nil {
			t.Errorf("%s: New accepted it", name)
		} else if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: error leaks the secret: %v", name, err)
		}
	}
}

func TestBadCredentials(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, func(c *dynamics.Config) { c.ClientSecret = "wrong-s3cr3t" }, dynamics.Options{})
	_, err := e.c.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567"}}})
	if err == nil || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "wrong-s3cr3t") {
		t.Errorf("wrong secret: %v, want invalid_client without the secret", err)
	}
	if n := e.srv.APIRequests(); n != 0 {
		t.Errorf("%d Web API requests without a token", n)
	}
}

// TestLookupBatching looks up 1,000 numbers, each with its ~10 forms, over
// the default phone fields of contacts, accounts and leads.
func TestLookupBatching(t *testing.T) {
	// phone.Forms (libphonenumber) is the slow part: compute once.
	numForms := make([][]string, 1000)
	for i := range numForms {
		numForms[i] = forms(t, fmt.Sprintf("+3584%08d", 10000000+i*7))
	}
	for _, pageSize := range []int{0, 4} {
		t.Run(fmt.Sprintf("pagesize=%d", pageSize), func(t *testing.T) {
			e := newEnv(t, dynamicstest.Options{PageSize: pageSize}, nil, dynamics.Options{})
			owner := e.srv.AddUser(dynamicstest.User{Name: "Owner", Email: "owner@x"})
			var req crm.LookupRequest
			want := map[string][]crm.Ref{}
			for i := range 1000 {
				num := fmt.Sprintf("+3584%08d", 10000000+i*7)
				fs := numForms[i]
				req.Numbers = append(req.Numbers, crm.NumberQuery{Number: num, Forms: fs})
				if i%10 != 0 {
					continue
				}
				// Every tenth number is stored, in another form and field
				// each time; every 30th twice (a contact and a lead).
				stored := fs[(i/10)%len(fs)]
				r := dynamicstest.Record{Name: "Customer " + num, OwnerID: owner}
				switch (i / 10) % 3 {
				case 0:
					r.Phones = map[string]string{[]string{"telephone1", "telephone2", "mobilephone"}[(i/30)%3]: stored}
					want[num] = append(want[num], crm.Ref{Entity: crm.Contact, ID: e.srv.AddContact(r)})
					r.Phones = map[string]string{"mobilephone": num}
					want[num] = append(want[num], crm.Ref{Entity: crm.Lead, ID: e.srv.AddLead(r)})
				case 1:
					r.Phones = map[string]string{"telephone2": stored}
					want[num] = append(want[num], crm.Ref{Entity: crm.Account, ID: e.srv.AddAccount(r)})
				case 2:
					r.Phones = map[string]string{"telephone1": stored}
					want[num] = append(want[num], crm.Ref{Entity: crm.Lead, ID: e.srv.AddLead(r)})
				}
			}
			// Records that must not come back: the same digits in another
			// country, a number nobody asked for, telephone3 (not configured).
			e.srv.AddContact(dynamicstest.Record{Name: "Sweden", Phones: map[string]string{"telephone1": "+464" + "10000000"}})
			e.srv.AddContact(dynamicstest.Record{Name: "Unasked", Phones: map[string]string{"telephone1": "+358499999999"}})
			e.srv.AddContact(dynamicstest.Record{Name: "Tel3", Phones: map[string]string{"telephone3": "+358410000000"}})

			res, err := e.c.Lookup(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			api := e.srv.APIRequests()
			t.Logf("1,000 numbers (%d forms) -> %d Web API requests + %d token request(s)", countForms(req), api, e.srv.TokenRequests())
			limit := 2
			if pageSize > 0 {
				limit = 4 // each extra page depth is one more $batch
			}
			if api > limit {
				t.Errorf("lookup of 1,000 numbers made %d Web API requests, want <= %d", api, limit)
			}
			for _, r := range e.srv.Log() {
				if r.Path != dynamicstest.APIPath+"/$batch" || r.Status != http.StatusOK {
					t.Errorf("request %+v, want a 200 $batch", r)
				}
			}
			for num, refs := range want {
				var got []crm.Ref
				for _, r := range res[num] {
					got = append(got, r.Ref)
					if r.OwnerID != owner || r.Name != "Customer "+num || len(r.Phones) != 1 {
						t.Errorf("%s: record %+v", num, r)
					}
				}
				if !slices.Equal(got, refs) {
					t.Errorf("%s: got %v, want %v (in contact, account, lead order)", num, got, refs)
				}
			}
			for num, recs := range res {
				if _, ok := want[num]; !ok {
					t.Errorf("%s: unexpected records %v", num, recs)
				}
			}
		})
	}
}

func countForms(req crm.LookupRequest) int {
	n := 0
	for _, q := range req.Numbers {
		n += len(q.Forms)
	}
	return n
}

func TestLookupEscaping(t *testing.T) {
	// Contacts only, so the lookup is one plain GET whose URL can be read.
	e := newEnv(t, dynamicstest.Options{}, func(c *dynamics.Config) {
		c.PhoneFields = map[string][]string{"contact": {"telephone1"}, "account": nil, "lead": nil}
	}, dynamics.Options{})
	odd := []string{"+358 40 123'4567", "040#123&4567;x=1", "+358 (40) 123 45%67", "'''"}
	var ids []string
	for _, v := range odd {
		ids = append(ids, e.srv.AddContact(dynamicstest.Record{Name: "Odd " + v, Phones: map[string]string{"telephone1": v}}))
	}
	e.srv.AddContact(dynamicstest.Record{Name: "Space", Phones: map[string]string{"telephone1": " 358 40 123'4567"}})
	var req crm.LookupRequest
	for i, v := range odd {
		req.Numbers = append(req.Numbers, crm.NumberQuery{Number: fmt.Sprintf("+35840000000%d", i), Forms: []string{v}})
	}
	res, err := e.c.Lookup(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for i := range odd {
		got := res[req.Numbers[i].Number]
		if len(got) != 1 || got[0].ID != ids[i] || got[0].Phones["telephone1"] != odd[i] {
			t.Errorf("%q: got %+v, want only %s", odd[i], got, ids[i])
		}
	}
	// One direct GET (after the $batch of table definitions): its query
	// string carries %2B, never a raw '+'.
	for _, r := range e.srv.Log() {
		if r.Path == dynamicstest.APIPath+"/$batch" {
			continue
		}
		if strings.Contains(r.Query, "+") || !strings.Contains(r.Query, "%2B") {
			t.Errorf("query %q: '+' must be sent as %%2B", r.Query)
		}
	}
	// Suffix search with a quote.
	res, err = e.c.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567", Suffix: "123'4567"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res["+358401234567"]; len(got) != 2 {
		t.Errorf("suffix 123'4567: got %v, want the two records ending so", got)
	}
}

func TestLookupParentFieldsAndConfig(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, func(c *dynamics.Config) {
		c.PhoneFields = map[string][]string{"contact": {"telephone3"}, "lead": {}}
	}, dynamics.Options{})
	acc := e.srv.AddAccount(dynamicstest.Record{Name: "Contoso", Phones: map[string]string{"telephone1": "+358401111111"}, Fields: map[string]any{"cs_tier": "gold"}})
	con := e.srv.AddContact(dynamicstest.Record{Name: "Anna", Phones: map[string]string{"telephone3": "+358401111111", "telephone1": "+358401111111"},
		ParentAccountID: acc, Fields: map[string]any{"cs_vip": true}})
	e.srv.AddLead(dynamicstest.Record{Name: "Lead", Phones: map[string]string{"telephone1": "+358401111111"}})
	res, err := e.c.Lookup(context.Background(), crm.LookupRequest{
		Numbers: []crm.NumberQuery{{Number: "+358401111111", Forms: []string{"+358401111111"}}},
		Fields:  map[crm.Entity][]string{crm.Contact: {"cs_vip"}, crm.Account: {"cs_tier"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := res["+358401111111"]
	if len(got) != 2 {
		t.Fatalf("got %+v, want the contact (telephone3) and the account; leads are switched off", got)
	}
	if got[0].Ref != (crm.Ref{Entity: crm.Contact, ID: con}) || got[0].ParentAccountID != acc || got[0].Fields["cs_vip"] != "true" ||
		len(got[0].Phones) != 1 || got[0].Phones["telephone3"] != "+358401111111" {
		t.Errorf("contact %+v", got[0])
	}
	if got[1].Ref != (crm.Ref{Entity: crm.Account, ID: acc}) || got[1].Fields["cs_tier"] != "gold" || got[1].ParentAccountID != "" {
		t.Errorf("account %+v", got[1])
	}
	// A column the org does not have is left out (a Smart Routing rule on
	// it cannot match); the lookup still finds the caller.
	res, err = e.c.Lookup(context.Background(), crm.LookupRequest{
		Numbers: []crm.NumberQuery{{Number: "+358401111111"}},
		Fields:  map[crm.Entity][]string{crm.Account: {"nosuchcolumn", "cs_tier"}},
	})
	if got := res["+358401111111"]; err != nil || len(got) != 2 || got[1].Fields["cs_tier"] != "gold" {
		t.Errorf("unknown extra field: %+v, %v; want the records with the columns that exist", got, err)
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{})
	ctx := context.Background()
	var qs []crm.UserQuery
	want := map[string]string{}
	for i := range 300 {
		email := fmt.Sprintf("agent%03d@contoso.example", i)
		id := e.srv.AddUser(dynamicstest.User{Name: fmt.Sprintf("Agent %d", i), Email: email, Disabled: i%10 == 3,
			Fields: map[string]any{"cs_enreachid": fmt.Sprintf("E-%d", i)}})
		if i%10 != 3 {
			want[fmt.Sprintf("e%d", i)] = id
		}
		qs = append(qs, crm.UserQuery{EnreachUserID: fmt.Sprintf("e%d", i), Email: strings.ToUpper(email)})
	}
	qs = append(qs, crm.UserQuery{EnreachUserID: "nobody", Email: "nobody@contoso.example"}, crm.UserQuery{EnreachUserID: "blank"})
	before := e.requests()
	got, err := e.c.Users(ctx, crm.UserMatch{By: "email"}, qs)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.requests() - before; n > 2 {
		t.Errorf("300 users by e-mail: %d requests, want <= 2", n)
	}
	if len(got) != len(want) {
		t.Errorf("got %d users, want %d (disabled users never match)", len(got), len(want))
	}
	for k, id := range want {
		if got[k].ID != id || !strings.HasSuffix(got[k].Email, "@contoso.example") {
			t.Errorf("%s: %+v, want %s", k, got[k], id)
		}
	}
	// By a custom column holding the Enreach id.
	byField := []crm.UserQuery{{EnreachUserID: "E-1"}, {EnreachUserID: "E-3"}, {EnreachUserID: "e-2"}}
	got, err = e.c.Users(ctx, crm.UserMatch{By: "field", Field: "cs_enreachid"}, byField)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["E-1"].ID != want["e1"] || got["e-2"].ID != want["e2"] {
		t.Errorf("by field: %+v", got)
	}
	if _, err := e.c.Users(ctx, crm.UserMatch{By: "field", Field: "x eq 'y' or fullname"}, byField); err == nil {
		t.Error("a filter expression as the match field was accepted")
	}
	if _, err := e.c.Users(ctx, crm.UserMatch{By: "field", Field: "cs_nosuch"}, byField); err == nil {
		t.Error("unknown user column: no error")
	}
}

// world is a seeded org for write tests.
type world struct {
	owner, agent, queue, queueOwner string
	customers                       []*crm.Ref
}

func newWorld(e env) world {
	w := world{
		owner:      e.srv.AddUser(dynamicstest.User{Name: "Owner", Email: "owner@x"}),
		agent:      e.srv.AddUser(dynamicstest.User{Name: "Agent", Email: "agent@x"}),
		queueOwner: e.srv.AddUser(dynamicstest.User{Name: "Queue Owner", Email: "qo@x"}),
	}
	w.queue = e.srv.AddQueue(dynamicstest.Queue{Name: "Sales", OwnerID: w.queueOwner})
	w.customers = []*crm.Ref{
		{Entity: crm.Contact, ID: e.srv.AddContact(dynamicstest.Record{Name: "C"})},
		{Entity: crm.Account, ID: e.srv.AddAccount(dynamicstest.Record{Name: "A"})},
		{Entity: crm.Lead, ID: e.srv.AddLead(dynamicstest.Record{Name: "L"})},
		nil,
	}
	return w
}

var t0 = time.Date(2025, 10, 26, 0, 30, 0, 0, time.UTC) // EU DST ends that night

func (w world) call(i int) crm.Activity {
	dir := crm.Inbound
	if i%2 == 1 {
		dir = crm.Outbound
	}
	start := t0.Add(time.Duration(i) * time.Minute).In(time.FixedZone("EEST", 3*3600))
	dur := time.Duration(30+i%300) * time.Second
	return crm.Activity{
		Key:         crm.Key("contoso", crm.KindCall, fmt.Sprintf("call-%d", i)),
		Kind:        crm.KindCall,
		EnreachID:   fmt.Sprintf("call-%d", i),
		Subject:     fmt.Sprintf("Call %d", i),
		Description: fmt.Sprintf("Enreach call call-%d", i),
		Direction:   dir,
		Number:      fmt.Sprintf("+35840%07d", i),
		Start:       start,
		End:         start.Add(dur),
		Duration:    dur,
		OwnerID:     w.owner,
		UserID:      w.agent,
		Regarding:   w.customers[i%len(w.customers)],
	}
}

func TestWriteActivities(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{})
	e.srv.AddStatusReason(0, 100000001)
	w := newWorld(e)
	ctx := context.Background()
	in, out := w.call(0), w.call(1) // inbound→contact, outbound→account
	multi := w.call(2)
	multi.Open, multi.StatusReason, multi.Regarding = true, 100000001, nil
	unlinked := w.call(3) // regarding nil
	due := t0.Add(24 * time.Hour)
	cbQueue := crm.Activity{Key: crm.Key("contoso", crm.KindCallback, "cb-1"), Kind: crm.KindCallback, Subject: "Callback",
		Description: "Please call back", Direction: crm.Outbound, Number: "+358401234567", Start: t0, Open: true,
		OwnerID: w.owner, Regarding: w.customers[0], QueueID: w.queue, QueueName: "Sales", Due: &due, RecipientIsQueue: true, RecipientID: w.queue}
	cbOwner := cbQueue
	cbOwner.Key, cbOwner.RecipientIsQueue, cbOwner.RecipientID = crm.Key("contoso", crm.KindCallback, "cb-2"), false, w.queueOwner
	long := w.call(4)
	long.Subject = strings.Repeat("Ä", 250)
	acts := []crm.Activity{in, out, multi, unlinked, cbQueue, cbOwner, long, in} // in twice: Created, then Existed
	res, err := e.c.WriteActivities(ctx, acts)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := []crm.WriteStatus{crm.Created, crm.Created, crm.Created, crm.Created, crm.Created, crm.Created, crm.Created, crm.Existed}
	for i, r := range res {
		if r.Key != acts[i].Key || r.Status != wantStatus[i] || r.Err != nil || r.ID != dynamics.ActivityID(acts[i].Key) {
			t.Errorf("item %d: %+v, want %s", i, r, wantStatus[i])
		}
	}
	if n := len(e.srv.PhoneCalls()); n != 7 {
		t.Fatalf("%d phone calls, want 7", n)
	}
	get := func(a crm.Activity) dynamicstest.PhoneCall {
		pc, ok := e.srv.PhoneCall(dynamics.ActivityID(a.Key))
		if !ok {
			t.Fatalf("%s not written", a.Key)
		}
		return pc
	}
	pc := get(in)
	if pc.Outbound || pc.StateCode != 1 || pc.StatusCode != 4 || pc.OwnerID != w.owner ||
		pc.From() == nil || *pc.From() != (dynamicstest.Ref{Entity: "contact", ID: in.Regarding.ID}) ||
		pc.To() == nil || *pc.To() != (dynamicstest.Ref{Entity: "systemuser", ID: w.agent}) ||
		pc.Regarding == nil || pc.Regarding.ID != in.Regarding.ID || pc.Subject != in.Subject || pc.PhoneNumber != in.Number ||
		!pc.ActualStart.Equal(in.Start.Truncate(time.Second)) || pc.ActualStart.Location() != time.UTC ||
		!pc.ActualEnd.Equal(in.End.Truncate(time.Second)) || pc.DurationMinutes != int(in.Duration/time.Minute) || pc.Description != in.Description {
		t.Errorf("inbound call stored as %+v", pc)
	}
	pc = get(out)
	if !pc.Outbound || pc.StateCode != 1 || pc.StatusCode != 2 ||
		pc.From() == nil || pc.From().ID != w.agent || pc.To() == nil || *pc.To() != (dynamicstest.Ref{Entity: "account", ID: out.Regarding.ID}) ||
		pc.Regarding == nil || pc.Regarding.Entity != "account" {
		t.Errorf("outbound call stored as %+v", pc)
	}
	if pc = get(multi); pc.StateCode != 0 || pc.StatusCode != 100000001 || pc.Regarding != nil || len(pc.Parties) != 1 {
		t.Errorf("multiple-match call stored as %+v", pc)
	}
	if pc = get(unlinked); pc.Regarding != nil || len(pc.Parties) != 1 || pc.From() == nil || pc.From().ID != w.agent {
		t.Errorf("unlinked call stored as %+v", pc)
	}
	pc = get(cbQueue)
	if pc.StateCode != 0 || pc.StatusCode != 1 || !pc.ScheduledEnd.Equal(due) || len(pc.Queues) != 1 || pc.Queues[0] != w.queue ||
		pc.To() == nil || *pc.To() != (dynamicstest.Ref{Entity: "queue", ID: w.queue}) ||
		pc.From() == nil || pc.From().ID != w.customers[0].ID || pc.Description != "Please call back" {
		t.Errorf("callback to a queue stored as %+v, want the queue as its \"to\" party", pc)
	}
	pc = get(cbOwner)
	if pc.StateCode != 0 || pc.To() == nil || pc.To().ID != w.queueOwner || len(pc.Queues) != 1 || pc.Description != "Please call back" {
		t.Errorf("callback to the queue owner stored as %+v", pc)
	}
	if pc = get(long); len([]rune(pc.Subject)) != 200 {
		t.Errorf("subject of %d characters stored with %d, want truncated to 200", 250, len([]rune(pc.Subject)))
	}

	// Replay: everything Existed, nothing new, nothing changed.
	res, err = e.c.WriteActivities(ctx, acts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != crm.Existed || r.Err != nil {
			t.Errorf("replay item %d: %+v, want Existed", i, r)
		}
	}
	if n := len(e.srv.PhoneCalls()); n != 7 {
		t.Errorf("%d phone calls after replay, want 7", n)
	}
}

func TestWriteUnlinked(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{})
	w := newWorld(e)
	a := w.call(3)
	a.Regarding, a.UserID, a.OwnerID = nil, "", ""
	res, err := e.c.WriteActivities(context.Background(), []crm.Activity{a})
	if err != nil || res[0].Status != crm.Created {
		t.Fatalf("%+v %v", res, err)
	}
	pc, _ := e.srv.PhoneCall(res[0].ID)
	if pc.Regarding != nil || len(pc.Parties) != 0 || pc.OwnerID != e.srv.AppUserID() || pc.StateCode != 1 {
		t.Errorf("unlinked call stored as %+v", pc)
	}
}

func TestWritePartialFailure(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{})
	w := newWorld(e)
	acts := []crm.Activity{w.call(0), w.call(1), w.call(2), w.call(3), w.call(4)}
	acts[1].OwnerID = "6f1c7c2e-0000-4000-8000-00000000dead" // no such user
	acts[2].Open, acts[2].StatusReason = true, 99            // not an open status reason
	acts[3].Regarding = &crm.Ref{Entity: crm.Contact, ID: "not-a-guid"}
	res, err := e.c.WriteActivities(context.Background(), acts)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status crm.WriteStatus
		msg    string
	}{{crm.Created, ""}, {crm.Failed, "0x80040217"}, {crm.Failed, "not a valid status code"}, {crm.Failed, "not-a-guid"}, {crm.Created, ""}}
	for i, r := range res {
		if r.Status != want[i].status || (want[i].msg == "") != (r.Err == nil) ||
			(r.Err != nil && (!strings.Contains(r.Err.Error(), want[i].msg) || !errors.Is(r.Err, crm.ErrPermanent))) {
			t.Errorf("item %d: %+v, want %s %q (permanent)", i, r, want[i].status, want[i].msg)
		}
	}
	// The failed status PATCH rolled its create back: no half-written call.
	if _, ok := e.srv.PhoneCall(dynamics.ActivityID(acts[2].Key)); ok {
		t.Error("changeset with a failed close left its phone call behind")
	}
	if n := len(e.srv.PhoneCalls()); n != 2 {
		t.Errorf("%d phone calls, want 2", n)
	}
	var dv *dynamics.Error
	if !errors.As(res[1].Err, &dv) || dv.Status != http.StatusNotFound || dv.Code != "0x80040217" {
		t.Errorf("item 1 error %v is not the Dataverse error", res[1].Err)
	}
}

// TestWrite1000 writes a 1,000-call backfill and counts the HTTP requests.
func TestWrite1000(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{})
	w := newWorld(e)
	acts := make([]crm.Activity, 1000)
	for i := range acts {
		acts[i] = w.call(i)
	}
	res, err := e.c.WriteActivities(context.Background(), acts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != crm.Created {
			t.Fatalf("item %d: %+v", i, r)
		}
	}
	total := e.requests()
	t.Logf("1,000 activities: %d HTTP requests (%d Web API, %d token)", total, e.srv.APIRequests(), e.srv.TokenRequests())
	if total > 12 {
		t.Errorf("1,000 activities took %d HTTP requests, want <= 12", total)
	}
	for _, r := range e.srv.Log() {
		if r.Path != dynamicstest.APIPath+"/$batch" || r.Ops > 1000 {
			t.Errorf("request %+v", r)
		}
	}
	if n := len(e.srv.PhoneCalls()); n != 1000 {
		t.Errorf("%d phone calls, want 1000", n)
	}
	e.srv.ResetLog()
	res, err = e.c.WriteActivities(context.Background(), acts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != crm.Existed {
			t.Fatalf("replay item %d: %+v", i, r)
		}
	}
	if n := e.requests(); n > 10 {
		t.Errorf("replay of 1,000 took %d requests", n)
	}
	if n := len(e.srv.PhoneCalls()); n != 1000 {
		t.Errorf("%d phone calls after replay, want 1000", n)
	}
}

// TestWriteBatchOpsLimit: with batch_size 1000 and three requests per
// callback, batches are split at 1,000 requests, which the double enforces.
func TestWriteBatchOpsLimit(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, func(c *dynamics.Config) { c.BatchSize = 1000 }, dynamics.Options{})
	e.srv.AddStatusReason(0, 100000001)
	w := newWorld(e)
	due := t0.Add(time.Hour)
	var acts []crm.Activity
	for i := range 600 {
		a := w.call(i)
		a.Kind, a.Key, a.Open, a.StatusReason, a.QueueID, a.Due = crm.KindCallback, crm.Key("contoso", crm.KindCallback, fmt.Sprint(i)), true, 100000001, w.queue, &due
		acts = append(acts, a)
	}
	res, err := e.c.WriteActivities(context.Background(), acts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != crm.Created {
			t.Fatalf("item %d: %+v", i, r)
		}
	}
	var ops []int
	for _, r := range e.srv.Log() {
		ops = append(ops, r.Ops)
	}
	if len(ops) != 2 || ops[0]+ops[1] != 1800 || ops[0] > 1000 || ops[1] > 1000 {
		t.Errorf("batches carried %v requests, want two of at most 1,000 totalling 1,800", ops)
	}
}

// expireAt is a transport that makes the double expire every token just
// before the nth $batch request, i.e. mid-run.
type expireAt struct {
	srv  *dynamicstest.Server
	n    int32
	seen atomic.Int32
}

func (x *expireAt) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/$batch") && x.seen.Add(1) == x.n {
		x.srv.ExpireTokens()
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestTokenExpiresMidRun(t *testing.T) {
	srv := dynamicstest.NewServer(dynamicstest.Options{})
	t.Cleanup(srv.Close)
	opts := fastRetries
	opts.Transport = &expireAt{srv: srv, n: 3}
	c, err := dynamics.New(srv.Config(), dynamics.Options{HTTP: opts})
	if err != nil {
		t.Fatal(err)
	}
	e := env{srv: srv, c: c}
	w := newWorld(e)
	acts := make([]crm.Activity, 500)
	for i := range acts {
		acts[i] = w.call(i)
	}
	res, err := c.WriteActivities(context.Background(), acts)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != crm.Created {
			t.Errorf("item %d: %+v", i, r)
		}
	}
	unauthorized := 0
	for _, r := range srv.Log() {
		if r.Status == http.StatusUnauthorized {
			unauthorized++
		}
	}
	if unauthorized == 0 || srv.TokenRequests() != 2 {
		t.Errorf("%d 401s and %d token requests; want the expiry hit and exactly one renewal", unauthorized, srv.TokenRequests())
	}
	if n := len(srv.PhoneCalls()); n != 500 {
		t.Errorf("%d phone calls, want 500 (nothing lost, nothing doubled)", n)
	}
}

func TestThrottled(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{})
	w := newWorld(e)
	acts := []crm.Activity{w.call(0), w.call(1)}
	e.srv.Fail(dynamicstest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	start := time.Now()
	res, err := e.c.WriteActivities(context.Background(), acts)
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("retried after %s; Retry-After: 1 was not honoured", waited)
	}
	for i, r := range res {
		if r.Status != crm.Created {
			t.Errorf("item %d: %+v", i, r)
		}
	}
	var statuses []int
	for _, r := range e.srv.Log() {
		statuses = append(statuses, r.Status)
	}
	if !slices.Equal(statuses, []int{429, 200}) {
		t.Errorf("statuses %v, want [429 200]", statuses)
	}
	// A 5xx is retried too.
	e.srv.Fail(dynamicstest.Fault{Status: http.StatusServiceUnavailable})
	if _, err := e.c.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567"}}}); err != nil {
		t.Errorf("lookup after a 503: %v", err)
	}
	// A Retry-After beyond the cap gives up cleanly: the whole batch fails
	// with the reason, nothing is written, the next run retries.
	e.srv.Fail(dynamicstest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Minute})
	res, err = e.c.WriteActivities(context.Background(), []crm.Activity{w.call(5)})
	var rae *httpclient.RetryAfterError
	if err == nil || !errors.As(err, &rae) || res != nil {
		t.Errorf("Retry-After 60s over a 5s cap: %v %v, want a RetryAfterError", res, err)
	}
}

func TestCloseActivities(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{})
	w := newWorld(e)
	due := t0.Add(time.Hour)
	cb := w.call(0)
	cb.Kind, cb.Key, cb.Open, cb.QueueID, cb.Due = crm.KindCallback, crm.Key("contoso", crm.KindCallback, "1"), true, w.queue, &due
	done := w.call(1)
	res, err := e.c.WriteActivities(context.Background(), []crm.Activity{cb, done})
	if err != nil || res[0].Status != crm.Created || res[1].Status != crm.Created {
		t.Fatalf("%+v %v", res, err)
	}
	reqs := []crm.CloseRequest{
		{Key: cb.Key}, // id derived from the key
		{Key: done.Key, ID: res[1].ID},
		{Key: "missing", ID: w.customers[0].ID},
		{Key: "garbage", ID: "x'); DROP"},
	}
	cr, err := e.c.CloseActivities(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	want := []crm.WriteStatus{crm.Created, crm.Existed, crm.Failed, crm.Failed}
	for i, r := range cr {
		if r.Key != reqs[i].Key || r.Status != want[i] {
			t.Errorf("close %d: %+v, want %s", i, r, want[i])
		}
	}
	if !errors.Is(cr[2].Err, crm.ErrPermanent) || !errors.Is(cr[3].Err, crm.ErrPermanent) {
		t.Errorf("close errors %v / %v are not permanent", cr[2].Err, cr[3].Err)
	}
	if pc, _ := e.srv.PhoneCall(res[0].ID); pc.StateCode != 1 || pc.StatusCode != 2 {
		t.Errorf("closed callback %d/%d, want 1/2", pc.StateCode, pc.StatusCode)
	}
	if n := len(e.srv.PhoneCalls()); n != 2 {
		t.Errorf("%d phone calls, want 2 (a close must never upsert)", n)
	}
}

func TestFindActivities(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{PageSize: 3}, nil, dynamics.Options{})
	w := newWorld(e)
	var acts []crm.Activity
	for i := range 20 {
		a := w.call(i)
		a.Number = fmt.Sprintf("+35840000%02d", i%4) // four numbers, five calls each
		acts = append(acts, a)
	}
	if _, err := e.c.WriteActivities(context.Background(), acts); err != nil {
		t.Fatal(err)
	}
	margin := 90 * time.Second
	var qs []crm.ActivityQuery
	for _, i := range []int{0, 5, 19} {
		s := acts[i].Start
		qs = append(qs, crm.ActivityQuery{Number: acts[i].Number, From: s.Add(-margin), To: s.Add(margin)})
	}
	before := e.requests()
	got, err := e.c.FindActivities(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	// One GET for the three queries (numbers 0, 1 and 3, the span of their
	// ranges), then pages of three: 15 calls match the span.
	if n := e.requests() - before; n != 5 {
		t.Errorf("%d requests, want 5 pages", n)
	}
	// Within ±90 s of call i on the same number: only call i (calls on one
	// number are four minutes apart).
	var ids []string
	for _, g := range got {
		ids = append(ids, g.ID)
		if g.Start.Location() != time.UTC {
			t.Errorf("start %v not UTC", g.Start)
		}
	}
	want := []string{res(acts[0]), res(acts[5]), res(acts[19])}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("found %v, want %v", ids, want)
	}
}

func res(a crm.Activity) string { return dynamics.ActivityID(a.Key) }

func TestSecretsNotLogged(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var ops []string
	var last crm.Quota
	var tokens atomic.Int32
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{Logger: log,
		OnRequest: func(r crm.Request) {
			mu.Lock()
			ops = append(ops, fmt.Sprintf("%s:%d:%v", r.Operation, r.Status, r.Quota.Known))
			if r.Quota.Known {
				last = r.Quota
			}
			mu.Unlock()
		},
		Metrics: dynamics.Metrics{OnToken: func(err error) { tokens.Add(1) }},
	})
	w := newWorld(e)
	e.srv.Fail(dynamicstest.Fault{Status: http.StatusTooManyRequests})
	if _, err := e.c.WriteActivities(context.Background(), []crm.Activity{w.call(0)}); err != nil {
		t.Fatal(err)
	}
	e.srv.ExpireTokens()
	if _, err := e.c.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567"}}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if s := buf.String(); strings.Contains(s, e.srv.Config().ClientSecret) || strings.Contains(s, "eyJ0eXAi") {
		t.Errorf("log leaks a secret or token:\n%s", s)
	}
	// Each attempt, token requests (operation "token") included, with
	// the requests left in the window when the answer says.
	want := []string{"token:200:false", "write:429:true", "write:200:true", "definitions:401:false", "token:200:false", "definitions:200:true", "lookup:200:true"}
	if !slices.Equal(ops, want) || tokens.Load() != 2 {
		t.Errorf("request hook saw %v, want %v; tokens %d", ops, want, tokens.Load())
	}
	if last.Remaining != int64(dynamicstest.BurstLimit-e.srv.APIRequests()) {
		t.Errorf("last remaining %d, want %d", last.Remaining, dynamicstest.BurstLimit-e.srv.APIRequests())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// An org that refuses a queue as a phone call party: the callback request is
// written anyway, named after its queue in the description, and every later
// one goes straight to that form (no refused request per write).
func TestWriteCallbackQueuePartyRefused(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	e.srv.RejectQueueParties(true)
	w := newWorld(e)
	ctx := context.Background()
	due := t0.Add(24 * time.Hour)
	cb := func(id string) crm.Activity {
		return crm.Activity{Key: crm.Key("contoso", crm.KindCallback, id), Kind: crm.KindCallback, Subject: "Callback",
			Description: "Please call back", Direction: crm.Inbound, Number: "+358401234567", Start: t0, Open: true,
			Regarding: w.customers[0], QueueID: w.queue, QueueName: "Sales", Due: &due, RecipientIsQueue: true, RecipientID: w.queue}
	}
	call := w.call(0)
	res, err := e.c.WriteActivities(ctx, []crm.Activity{cb("1"), call})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != crm.Created || r.Err != nil {
			t.Errorf("item %d: %+v, want created", i, r)
		}
	}
	if !e.c.QueuePartyRefused() {
		t.Error("QueuePartyRefused() = false after the org refused the queue party")
	}
	pc, ok := e.srv.PhoneCall(dynamics.ActivityID(cb("1").Key))
	if !ok || pc.To() != nil || !strings.Contains(pc.Description, "Queue: Sales") || len(pc.Queues) != 1 {
		t.Errorf("callback stored as %+v (found %v), want no \"to\" party and the queue in the description", pc, ok)
	}
	e.srv.ResetLog()
	res, err = e.c.WriteActivities(ctx, []crm.Activity{cb("2")})
	if err != nil || res[0].Status != crm.Created {
		t.Fatalf("second callback: %+v, %v", res, err)
	}
	for _, r := range e.srv.Log() {
		if r.Status != http.StatusOK {
			t.Errorf("request %+v after the fallback, want none refused", r)
		}
	}
	if n := e.srv.APIRequests(); n != 1 {
		t.Errorf("second callback took %d requests, want 1", n)
	}
	if n := strings.Count(logs.String(), "refuses a queue"); n != 1 {
		t.Errorf("fallback logged %d times, want once:\n%s", n, logs.String())
	}
}
