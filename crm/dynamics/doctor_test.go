package dynamics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
)

// checkNamed returns the check with that name.
func checkNamed(checks []crm.Check, name string) (crm.Check, bool) {
	for _, c := range checks {
		if c.Name == name {
			return c, true
		}
	}
	return crm.Check{}, false
}

func doctor(t *testing.T, e env) []crm.Check {
	t.Helper()
	checks, err := e.c.Doctor(context.Background())
	if err != nil {
		t.Fatalf("Doctor: %v", err)
	}
	for _, c := range checks {
		if c.Area != "crm" || c.Name == "" || (c.Status != crm.CheckOK && c.Fix == "") {
			t.Errorf("check %+v: want area crm, a name, and a fix unless ok", c)
		}
	}
	return checks
}

// fullOrg is a complete org for a tenant that uses every Dynamics feature:
// a custom user id column, a routing rule column, an audit column, a
// callback queue and a default assignee.
func fullOrg(t *testing.T, shape func(*dynamicstest.Server, *dynamics.Config, *dynamics.OrgNeeds), o dynamicstest.Options) env {
	t.Helper()
	srv := dynamicstest.NewServer(o)
	t.Cleanup(srv.Close)
	srv.AddColumn("systemusers", dynamicstest.Column{Name: "new_enreachuserid", Type: "String"})
	srv.AddColumn("phonecalls", dynamicstest.Column{Name: "new_enreachapiaudit", Type: "Memo", MaxLength: 1048576})
	srv.AddColumn("accounts", dynamicstest.Column{Name: "new_tier", Type: "String"})
	agent := srv.AddUser(dynamicstest.User{Name: "Default Agent", Email: "agent@x", Fields: map[string]any{"new_enreachuserid": "enreach-1"}})
	queue := srv.AddQueue(dynamicstest.Queue{Name: "Sales"})
	dc := srv.Config()
	dc.AuditField = "new_enreachapiaudit"
	needs := dynamics.OrgNeeds{
		UserMatch:       crm.UserMatch{By: "field", Field: "new_enreachuserid"},
		RoutingFields:   map[crm.Entity][]string{crm.Account: {"new_tier"}},
		CallbackQueues:  map[string]string{"sales": queue},
		UserOverrides:   map[string]string{"enreach-default": agent},
		DefaultAssignee: "enreach-default",
	}
	if shape != nil {
		shape(srv, &dc, &needs)
	}
	opts := dynamics.Options{Org: needs, HTTP: fastRetries}
	c, err := dynamics.New(dc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return env{srv: srv, c: c}
}

func TestDoctorCompleteOrg(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    func(t *testing.T) env
	}{
		{"default org and config", func(t *testing.T) env { return newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{}) }},
		{"every feature", func(t *testing.T) env { return fullOrg(t, nil, dynamicstest.Options{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.e(t)
			checks := doctor(t, e)
			for _, c := range checks {
				if c.Status != crm.CheckOK {
					t.Errorf("%+v, want ok", c)
				}
			}
			for _, name := range []string{"auth", "identity", "privileges", "contact.telephone1", "account.telephone2", "lead.mobilephone", "phonecall"} {
				if _, ok := checkNamed(checks, name); !ok {
					t.Errorf("no %q check in %+v", name, checks)
				}
			}
			if e.srv.APIRequests() > 4 {
				t.Errorf("doctor made %d Web API requests, want at most 4 (WhoAmI, definitions, reads, one user query)", e.srv.APIRequests())
			}
			for _, r := range e.srv.Log() {
				if r.Method != "GET" && r.Path != dynamicstest.APIPath+"/$batch" {
					t.Errorf("doctor sent %s %s: it must only read", r.Method, r.Path)
				}
			}
			if n := len(e.srv.PhoneCalls()); n != 0 {
				t.Errorf("doctor wrote %d phone calls", n)
			}
		})
	}
	e := fullOrg(t, nil, dynamicstest.Options{})
	checks := doctor(t, e)
	for _, name := range []string{"systemuser.new_enreachuserid", "account.new_tier", "phonecall.new_enreachapiaudit", "queue of profile sales", "default_crm_assignee user"} {
		if c, ok := checkNamed(checks, name); !ok || c.Status != crm.CheckOK {
			t.Errorf("%s: %+v (found %v), want ok", name, c, ok)
		}
	}
}

func TestDoctorShapes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		o      dynamicstest.Options
		shape  func(*dynamicstest.Server, *dynamics.Config, *dynamics.OrgNeeds)
		check  string
		status crm.CheckStatus
		detail string
		worst  crm.CheckStatus
	}{
		{name: "minimal org: no lead table", o: dynamicstest.Options{MinimalOrg: true},
			check: "lead", status: crm.CheckWarn, detail: "no lead table", worst: crm.CheckWarn},
		{name: "missing column", shape: func(s *dynamicstest.Server, _ *dynamics.Config, _ *dynamics.OrgNeeds) {
			s.DropColumn("contacts", "telephone2")
		},
			check: "contact.telephone2", status: crm.CheckWarn, detail: "does not exist", worst: crm.CheckWarn},
		{name: "secured column", shape: func(s *dynamicstest.Server, _ *dynamics.Config, _ *dynamics.OrgNeeds) {
			s.SecureColumn("contacts", "mobilephone")
		},
			check: "contact.mobilephone", status: crm.CheckWarn, detail: "column-level security", worst: crm.CheckWarn},
		{name: "secured address country", shape: func(s *dynamicstest.Server, _ *dynamics.Config, _ *dynamics.OrgNeeds) {
			s.SecureColumn("contacts", "address1_country")
		},
			check: "contact.address1_country", status: crm.CheckWarn, detail: "default_region", worst: crm.CheckWarn},
		{name: "audit column of the wrong type", shape: func(s *dynamicstest.Server, _ *dynamics.Config, _ *dynamics.OrgNeeds) {
			s.AddColumn("phonecalls", dynamicstest.Column{Name: "new_enreachapiaudit", Type: "Integer"})
		}, check: "phonecall.new_enreachapiaudit", status: crm.CheckWarn, detail: "Integer, not a text column", worst: crm.CheckWarn},
		{name: "audit column missing", shape: func(s *dynamicstest.Server, _ *dynamics.Config, _ *dynamics.OrgNeeds) {
			s.DropColumn("phonecalls", "new_enreachapiaudit")
		}, check: "phonecall.new_enreachapiaudit", status: crm.CheckWarn, detail: "does not exist", worst: crm.CheckWarn},
		{name: "user id column of the wrong type", shape: func(s *dynamicstest.Server, _ *dynamics.Config, _ *dynamics.OrgNeeds) {
			s.AddColumn("systemusers", dynamicstest.Column{Name: "new_enreachuserid", Type: "Boolean"})
		}, check: "systemuser.new_enreachuserid", status: crm.CheckFail, detail: "Boolean", worst: crm.CheckFail},
		{name: "routing column missing", shape: func(s *dynamicstest.Server, _ *dynamics.Config, _ *dynamics.OrgNeeds) {
			s.DropColumn("accounts", "new_tier")
		},
			check: "account.new_tier", status: crm.CheckWarn, detail: "never match", worst: crm.CheckWarn},
		{name: "missing queue", shape: func(_ *dynamicstest.Server, _ *dynamics.Config, n *dynamics.OrgNeeds) {
			n.CallbackQueues["sales"] = "5f1c4a52-0000-4000-8000-000000000001"
		}, check: "queue of profile sales", status: crm.CheckFail, detail: "does not exist", worst: crm.CheckFail},
		{name: "inactive queue", shape: func(s *dynamicstest.Server, _ *dynamics.Config, n *dynamics.OrgNeeds) {
			n.CallbackQueues["sales"] = s.AddQueue(dynamicstest.Queue{Name: "Old", Inactive: true})
		}, check: "queue of profile sales", status: crm.CheckFail, detail: "inactive", worst: crm.CheckFail},
		{name: "no read privilege", shape: func(s *dynamicstest.Server, _ *dynamics.Config, _ *dynamics.OrgNeeds) {
			s.DenyPrivilege("prvReadContact")
		},
			check: "read contact", status: crm.CheckFail, detail: "0x80040220", worst: crm.CheckFail},
		{name: "no create privilege", shape: func(s *dynamicstest.Server, _ *dynamics.Config, _ *dynamics.OrgNeeds) {
			s.DenyPrivilege("prvCreateActivity")
		},
			check: "privilege prvCreateActivity", status: crm.CheckFail, detail: "create phone calls", worst: crm.CheckFail},
		{name: "default assignee mapped to a disabled user", shape: func(s *dynamicstest.Server, _ *dynamics.Config, n *dynamics.OrgNeeds) {
			n.UserOverrides["enreach-default"] = s.AddUser(dynamicstest.User{Name: "Gone", Email: "gone@x", Disabled: true})
		}, check: "default_crm_assignee user", status: crm.CheckFail, detail: "is disabled", worst: crm.CheckFail},
		{name: "default assignee mapped to no user", shape: func(_ *dynamicstest.Server, _ *dynamics.Config, n *dynamics.OrgNeeds) {
			n.UserOverrides["enreach-default"] = "5f1c4a52-0000-4000-8000-000000000002"
		}, check: "default_crm_assignee user", status: crm.CheckFail, detail: "Does Not Exist", worst: crm.CheckFail},
		{name: "no phone column left", shape: func(s *dynamicstest.Server, d *dynamics.Config, _ *dynamics.OrgNeeds) {
			d.PhoneFields = map[string][]string{"contact": {"new_phone"}, "account": {}, "lead": {}}
		}, check: "phone lookup", status: crm.CheckFail, detail: "no phone column", worst: crm.CheckFail},
		{name: "bad secret", shape: func(_ *dynamicstest.Server, d *dynamics.Config, _ *dynamics.OrgNeeds) {
			d.ClientSecret = "wrong-secret-value"
		}, check: "auth", status: crm.CheckFail, detail: "invalid_client", worst: crm.CheckFail},
		{name: "token endpoint unreachable", shape: func(_ *dynamicstest.Server, d *dynamics.Config, _ *dynamics.OrgNeeds) {
			closed := httptest.NewServer(http.NotFoundHandler())
			closed.Close()
			d.AuthorityURL = closed.URL
		}, check: "auth", status: crm.CheckFail, detail: "could not reach the Entra ID token endpoint", worst: crm.CheckFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := fullOrg(t, tc.shape, tc.o)
			checks := doctor(t, e)
			c, ok := checkNamed(checks, tc.check)
			if !ok || c.Status != tc.status || !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("%s: %+v (found %v), want %s with %q\nall: %+v", tc.check, c, ok, tc.status, tc.detail, checks)
			}
			if w := crm.WorstStatus(checks); w != tc.worst {
				t.Errorf("worst %s, want %s: %+v", w, tc.worst, checks)
			}
			for _, c := range checks {
				if strings.Contains(c.Detail+c.Fix, "wrong-secret-value") || strings.Contains(c.Detail+c.Fix, "callsync-secret") {
					t.Errorf("check leaks the secret: %+v", c)
				}
			}
		})
	}
}

func TestDoctorReportsQueuePartyFallback(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{})
	if c, ok := checkNamed(doctor(t, e), "queue party"); ok {
		t.Errorf("queue party check %+v before any refusal", c)
	}
	e.srv.RejectQueueParties(true)
	w := newWorld(e)
	cb := crm.Activity{Key: crm.Key("contoso", crm.KindCallback, "1"), Kind: crm.KindCallback, Subject: "Callback",
		Direction: crm.Inbound, Number: "+358401234567", Start: t0, Open: true, QueueID: w.queue, QueueName: "Sales",
		RecipientIsQueue: true, RecipientID: w.queue}
	if _, err := e.c.WriteActivities(context.Background(), []crm.Activity{cb}); err != nil {
		t.Fatal(err)
	}
	if c, ok := checkNamed(doctor(t, e), "queue party"); !ok || c.Status != crm.CheckWarn {
		t.Errorf("queue party check %+v (found %v), want warn", c, ok)
	}
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func lookupOne(t *testing.T, e env, number string) ([]crm.Record, error) {
	t.Helper()
	res, err := e.c.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: number, Forms: []string{number}}}})
	return res[number], err
}

// A configured phone column the org lacks or hides is dropped from lookups
// (logged once); the other columns still match, and a number stored only in
// the hidden column matches nothing (never a wrong record).
func TestLookupDropsMissingAndSecuredColumns(t *testing.T) {
	var logs logBuffer
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	byTel1 := e.srv.AddContact(dynamicstest.Record{Name: "Tel1", Phones: map[string]string{"telephone1": "+358401000001"}})
	e.srv.AddContact(dynamicstest.Record{Name: "Hidden", Phones: map[string]string{"mobilephone": "+358401000002"}})
	e.srv.DropColumn("contacts", "telephone2")
	e.srv.SecureColumn("contacts", "mobilephone")
	for range 2 {
		got, err := lookupOne(t, e, "+358401000001")
		if err != nil || len(got) != 1 || got[0].ID != byTel1 {
			t.Fatalf("telephone1 caller: %+v, %v", got, err)
		}
		if got, err := lookupOne(t, e, "+358401000002"); err != nil || len(got) != 0 {
			t.Errorf("caller in the secured column: %+v, %v; want no record", got, err)
		}
	}
	s := logs.String()
	if strings.Count(s, "phone column dropped") != 2 || !strings.Contains(s, "contact.telephone2") || !strings.Contains(s, "contact.mobilephone") {
		t.Errorf("want one warning per dropped column:\n%s", s)
	}
}

// An org without the lead table (no Dynamics 365 Sales) still finds
// contacts and accounts with the default phone_fields.
func TestLookupMinimalOrg(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{MinimalOrg: true}, nil, dynamics.Options{})
	id := e.srv.AddAccount(dynamicstest.Record{Name: "A", Phones: map[string]string{"telephone1": "+358401000003"}})
	got, err := lookupOne(t, e, "+358401000003")
	if err != nil || len(got) != 1 || got[0].ID != id {
		t.Errorf("minimal org: %+v, %v", got, err)
	}
}

func TestLookupNoPhoneColumnLeft(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, func(d *dynamics.Config) {
		d.PhoneFields = map[string][]string{"contact": {"telephone2"}, "account": {}, "lead": {}}
	}, dynamics.Options{})
	e.srv.DropColumn("contacts", "telephone2")
	_, err := lookupOne(t, e, "+358401000004")
	if err == nil || !errors.Is(err, crm.ErrPermanent) || !strings.Contains(err.Error(), "none of the configured phone columns") {
		t.Errorf("lookup with no column left: %v, want a permanent error naming the cause", err)
	}
}

// A column deleted by an admin after the definitions were read: the refused
// lookup reads them again at once and is retried without it.
func TestLookupRereadsDefinitionsAfterInvalidColumn(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{})
	id := e.srv.AddContact(dynamicstest.Record{Name: "C", Phones: map[string]string{"telephone1": "+358401000005"}})
	if got, err := lookupOne(t, e, "+358401000005"); err != nil || len(got) != 1 {
		t.Fatalf("first lookup: %+v, %v", got, err)
	}
	e.srv.DropColumn("contacts", "telephone2")
	e.srv.ResetLog()
	got, err := lookupOne(t, e, "+358401000005")
	if err != nil || len(got) != 1 || got[0].ID != id {
		t.Fatalf("lookup after the column went: %+v, %v", got, err)
	}
	// refused lookup, definitions, retried lookup
	if n := e.srv.APIRequests(); n != 3 {
		t.Errorf("%d requests, want 3: %+v", n, e.srv.Log())
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The definitions are read once per client and again after a day.
func TestDefinitionsCachedForADay(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	reads := 0
	e := newEnv(t, dynamicstest.Options{}, func(d *dynamics.Config) {
		d.PhoneFields = map[string][]string{"contact": {"telephone1", "telephone2"}, "account": {}, "lead": {}}
	}, dynamics.Options{Now: clk.now, OnRequest: func(r crm.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Operation == "definitions" { // the $batch of table definitions
			reads++
		}
	}})
	definitionReads := func() int { mu.Lock(); defer mu.Unlock(); return reads }
	lookupOne(t, e, "+358401000006")
	if n := definitionReads(); n != 1 {
		t.Fatalf("%d reads of the definitions on the first lookup, want 1", n)
	}
	clk.add(23 * time.Hour)
	lookupOne(t, e, "+358401000006")
	if n := definitionReads(); n != 1 {
		t.Errorf("definitions read again within a day (%d reads)", n)
	}
	e.srv.SecureColumn("contacts", "telephone1")
	clk.add(2 * time.Hour)
	// A day on, the lookup goes on with the definitions it has while they
	// are read again in the background.
	lookupOne(t, e, "+358401000006")
	for deadline := time.Now().Add(20 * time.Second); definitionReads() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("definitions not read again after a day")
		}
	}
	// The lookup's own request: the background re-read's requests (e.g. the
	// field security privileges) may be logged after it.
	lookupQuery := func() string {
		reqs := e.srv.Log()
		for i := len(reqs) - 1; i >= 0; i-- {
			if strings.Contains(reqs[i].Path, "contacts") && strings.Contains(reqs[i].Query, "telephone") {
				return reqs[i].Query
			}
		}
		return ""
	}
	// Wait for the background read to be stored: the next lookup uses it.
	var q string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		e.srv.ResetLog()
		lookupOne(t, e, "+358401000006")
		if q = lookupQuery(); q != "" && !strings.Contains(q, "telephone1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lookups still search the secured telephone1 after the daily re-read")
		}
	}
	if n := definitionReads(); n != 2 {
		t.Errorf("%d reads of the definitions, want 2", n)
	}
	if !strings.Contains(q, "telephone2") {
		t.Errorf("lookup after the daily re-read: %s, want only telephone2 searched", q)
	}
}

// audit_field receives the full audit JSON, cut only at the column's real
// maximum length with a visible marker; unset, nothing is written there.
func TestAuditField(t *testing.T) {
	const col = "new_enreachapiaudit"
	long := `{"CallId":"c-1","Notes":"` + strings.Repeat("x", 5000) + `"}`
	short := `{"CallId":"c-2"}`
	for _, tc := range []struct {
		name   string
		field  string
		maxLen int
		want   func(t *testing.T, v1, v2 any, ok1, ok2 bool)
	}{
		{"memo column", col, 3000, func(t *testing.T, v1, v2 any, _, _ bool) {
			s1, _ := v1.(string)
			if n := len([]rune(s1)); n != 3000 || !strings.HasPrefix(s1, long[:100]) || !strings.HasSuffix(s1, fmt.Sprintf("of %d characters]", len(long))) {
				t.Errorf("long audit stored as %d characters ending %q, want 3000 with the marker", n, s1[max(0, len(s1)-80):])
			}
			if v2 != short {
				t.Errorf("short audit stored as %v", v2)
			}
		}},
		{"unset", "", 3000, func(t *testing.T, v1, v2 any, ok1, ok2 bool) {
			if v1 != nil || v2 != nil {
				t.Errorf("audit written with audit_field unset: %v, %v", v1, v2)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, dynamicstest.Options{}, func(d *dynamics.Config) { d.AuditField = tc.field }, dynamics.Options{})
			e.srv.AddColumn("phonecalls", dynamicstest.Column{Name: col, Type: "Memo", MaxLength: tc.maxLen})
			w := newWorld(e)
			a1, a2 := w.call(0), w.call(1)
			a1.Audit, a2.Audit = long, short
			res, err := e.c.WriteActivities(context.Background(), []crm.Activity{a1, a2})
			if err != nil || res[0].Status != crm.Created || res[1].Status != crm.Created {
				t.Fatalf("write: %+v, %v", res, err)
			}
			v1, ok1 := e.srv.Value("phonecalls", res[0].ID, col)
			v2, ok2 := e.srv.Value("phonecalls", res[1].ID, col)
			tc.want(t, v1, v2, ok1, ok2)
			if pc, _ := e.srv.PhoneCall(res[0].ID); pc.Description != a1.Description {
				t.Errorf("description %q, want the short summary only", pc.Description)
			}
		})
	}
	// A configured column the org does not have: calls are still written.
	e := newEnv(t, dynamicstest.Options{}, func(d *dynamics.Config) { d.AuditField = col }, dynamics.Options{})
	w := newWorld(e)
	a := w.call(0)
	a.Audit = short
	res, err := e.c.WriteActivities(context.Background(), []crm.Activity{a})
	if err != nil || res[0].Status != crm.Created {
		t.Errorf("write with a missing audit column: %+v, %v", res, err)
	}
}

// A secured phone column the callsync user has a field security profile for
// is kept: RetrievePrincipalAttributePrivileges says CanRead is Allowed.
func TestLookupKeepsSecuredColumnWithReadProfile(t *testing.T) {
	e := newEnv(t, dynamicstest.Options{}, nil, dynamics.Options{})
	id := e.srv.AddContact(dynamicstest.Record{Name: "M", Phones: map[string]string{"mobilephone": "+358401000007"}})
	e.srv.SecureColumn("contacts", "mobilephone")
	e.srv.GrantColumnAccess("contacts", "mobilephone", true)
	if got, err := lookupOne(t, e, "+358401000007"); err != nil || len(got) != 1 || got[0].ID != id {
		t.Errorf("caller in a secured column the user may read: %+v, %v", got, err)
	}
	c, ok := checkNamed(doctor(t, e), "contact.mobilephone")
	if !ok || c.Status != crm.CheckOK || !strings.Contains(c.Detail, "secured") {
		t.Errorf("doctor: %+v", c)
	}
}
