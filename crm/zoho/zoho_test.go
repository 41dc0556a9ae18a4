package zoho_test

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
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/crm/zoho/zohotest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/phone"
)

var ctx = context.Background()

// clock is a settable clock shared by the client and the server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClient(t *testing.T, configure func(*zoho.Config)) (*backend, *zoho.Client, *zohotest.Server) {
	t.Helper()
	b := newBackend(t, backendOptions{Configure: configure})
	return b, b.Zoho(), b.Server
}

func withCallID(c *zoho.Config) { c.CallIDField = "Enreach_Call_ID" }

// call builds the i-th inbound answered call an hour ago.
// callsStart is call(0)'s start: an hour before the test binary started,
// the same for every call(i) of a run, so a call made again (a replay) is
// the same call; from time.Now at each call(i), a replay that crossed a
// second boundary (a loaded machine) had other start times, and the
// description pre-check, which finds calls by start time, rightly took
// them for new calls.
var callsStart = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

func call(i int) crm.Activity {
	start := callsStart.Add(time.Duration(i) * time.Second)
	id := fmt.Sprintf("6f1c2a3b-0000-4000-8000-%012d", i)
	return crm.Activity{
		Key:           crm.Key("t", crm.KindCall, id),
		Kind:          crm.KindCall,
		EnreachID:     id,
		Subject:       fmt.Sprintf("call %d", i),
		Description:   "Answered by Agent",
		Direction:     crm.Inbound,
		Number:        fmt.Sprintf("+3584011%05d", i),
		DialledNumber: "+358942424242",
		Start:         start,
		End:           start.Add(90 * time.Second),
		Duration:      90 * time.Second,
		Answered:      true,
	}
}

func calls(from, n int) []crm.Activity {
	out := make([]crm.Activity, n)
	for i := range out {
		out[i] = call(from + i)
	}
	return out
}

func write(t *testing.T, c *zoho.Client, acts []crm.Activity) []crm.WriteResult {
	t.Helper()
	res, err := c.WriteActivities(ctx, acts)
	if err != nil {
		t.Fatalf("WriteActivities: %v", err)
	}
	if len(res) != len(acts) {
		t.Fatalf("%d results for %d items", len(res), len(acts))
	}
	return res
}

func wantStatus(t *testing.T, res []crm.WriteResult, want crm.WriteStatus) {
	t.Helper()
	for i, r := range res {
		if r.Status != want || r.Err != nil || r.ID == "" {
			t.Fatalf("item %d = %+v, want %s", i, r, want)
		}
	}
}

func TestTokenCachedAndAPIDomainFromTokenResponse(t *testing.T) {
	b, c, s := newClient(t, nil)
	if b.Config.APIDomain != "" || s.URL == s.AccountsURL {
		t.Fatal("test setup: api_domain must come from the token response of a separate accounts server")
	}
	q := crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567"}}}
	for range 20 {
		if _, err := c.Lookup(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.TokenRequests(); n != 1 {
		t.Errorf("20 lookups made %d token requests, want 1 (cached)", n)
	}
	if n := s.APIRequests(); n != 63 {
		t.Errorf("20 lookups over 3 modules made %d API requests, want 60 and 3 metadata reads (cached a day)", n)
	}
	for _, r := range s.Log() {
		if r.Path == "/crm/v8/settings/fields" && r.Status == http.StatusOK {
			continue
		}
		if !strings.HasPrefix(r.Path, "/crm/v8/") || r.Status != http.StatusNoContent {
			t.Errorf("request %+v, want /crm/v8/... answered 204 (no match)", r)
		}
	}
}

func TestExpiredTokenMidRun(t *testing.T) {
	_, c, s := newClient(t, withCallID)
	wantStatus(t, write(t, c, calls(0, 5)), crm.Created)
	s.ExpireTokens()
	wantStatus(t, write(t, c, calls(5, 5)), crm.Created)
	if g := s.Grants(); g != 2 {
		t.Errorf("%d grants, want 2 (one renewal after the 401)", g)
	}
	var unauthorized int
	for _, r := range s.Log() {
		if r.Status == http.StatusUnauthorized {
			unauthorized++
		}
	}
	if unauthorized != 1 {
		t.Errorf("%d requests answered 401, want exactly 1 (renewed and replayed once)", unauthorized)
	}
	if n := len(s.Records("Calls")); n != 10 {
		t.Errorf("%d calls stored, want 10", n)
	}
}

func TestTokenGrantLimit(t *testing.T) {
	clk := &clock{t: time.Now()}
	b := newBackend(t, backendOptions{Client: zoho.Options{Now: clk.Now,
		HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 2 * time.Millisecond}}})
	s, c := b.Server, b.Zoho()
	s.SetClock(clk.Now)
	q := crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567"}}}
	for i := range zohotest.GrantsPerWindow {
		s.ExpireTokens()
		if _, err := c.Lookup(ctx, q); err != nil {
			t.Fatalf("lookup %d: %v", i, err)
		}
		clk.Add(time.Second)
	}
	s.ExpireTokens()
	_, err := c.Lookup(ctx, q)
	if err == nil || !strings.Contains(err.Error(), "too many requests") {
		t.Fatalf("11th grant within 10 minutes: err = %v, want Zoho's too-many-requests refusal", err)
	}
	tokenReqs := s.TokenRequests()
	for range 3 {
		if _, err := c.Lookup(ctx, q); err == nil {
			t.Fatal("lookup succeeded without a token")
		}
	}
	if n := s.TokenRequests() - tokenReqs; n != 0 {
		t.Errorf("%d more token requests during the cooldown, want 0", n)
	}
	clk.Add(zohotest.GrantWindow)
	if _, err := c.Lookup(ctx, q); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if g := s.Grants(); g != zohotest.GrantsPerWindow+1 {
		t.Errorf("%d grants, want %d", g, zohotest.GrantsPerWindow+1)
	}
}

func TestRefusedGrantIsNotRetriedAndSecretsStayOutOfLogs(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := zohotest.NewServer()
	defer s.Close()
	cfg := s.Config()
	cfg.ClientSecret = "wrong-secret-value"
	c, err := zoho.New(cfg, zoho.Options{Logger: logger, HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 2 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Lookup(ctx, crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567"}}})
	if err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("err = %v, want invalid_client", err)
	}
	_, err = c.WriteActivities(ctx, calls(0, 1))
	if err == nil {
		t.Fatal("write without a token succeeded")
	}
	if n := s.TokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1 (a refusal is neither retried nor repeated during the cooldown)", n)
	}
	if s.APIRequests() != 0 {
		t.Errorf("%d API requests without a token", s.APIRequests())
	}
	for _, secret := range []string{"wrong-secret-value", s.RefreshToken} {
		if strings.Contains(logs.String(), secret) || strings.Contains(err.Error(), secret) {
			t.Errorf("a secret reached the logs or errors: %s", logs.String())
		}
	}
}

func TestLookupMapsHitsToNumbers(t *testing.T) {
	_, c, s := newClient(t, nil)
	owner := s.AddUser(zohotest.User{Email: "o@example.com", FullName: "O O", Active: true})
	acc := s.AddRecord("Accounts", map[string]any{"Account_Name": "Acme", "Phone": "+358 9 42424242"})
	con := s.AddRecord("Contacts", map[string]any{"First_Name": "Ville", "Last_Name": "Virtanen", "Mobile": "040 123 4567",
		"Phone": "09 42424242", "Account_Name": map[string]any{"id": acc}, "Owner": map[string]any{"id": owner}})
	lead := s.AddRecord("Leads", map[string]any{"Last_Name": "Lead", "Mobile": "0401234567"})
	s.AddRecord("Contacts", map[string]any{"Last_Name": "Sweden", "Mobile": "+46 40 123 4567"})

	n1, _ := phone.Normalize("+358401234567", "FI")
	n2, _ := phone.Normalize("+358942424242", "FI")
	n3, _ := phone.Normalize("+358501112223", "FI")
	var req crm.LookupRequest
	for _, n := range []phone.Number{n1, n2, n3} {
		req.Numbers = append(req.Numbers, crm.NumberQuery{Number: n.E164(), Forms: phone.Forms(n)})
	}
	res, err := c.Lookup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for num, recs := range res {
		for _, r := range recs {
			got[num] = append(got[num], r.Ref.String())
			if r.ID == con {
				if r.Name != "Ville Virtanen" || r.OwnerID != owner || r.ParentAccountID != acc ||
					r.Phones["Mobile"] != "040 123 4567" || r.Phones["Phone"] != "09 42424242" {
					t.Errorf("contact record %+v", r)
				}
			}
		}
	}
	want := map[string][]string{
		n1.E164(): {"contact:" + con, "lead:" + lead},
		n2.E164(): {"contact:" + con, "account:" + acc},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lookup = %v, want %v", got, want)
	}
}

func TestLookupCleanupRegexp(t *testing.T) {
	for _, tc := range []struct {
		re   string
		want int
	}{{"", 0}, {`^\+358`, 1}} {
		_, c, s := newClient(t, func(cfg *zoho.Config) { cfg.NumberCleanupRegexp = tc.re })
		s.AddRecord("Contacts", map[string]any{"Last_Name": "No prefix", "Phone": "401234567"})
		res, err := c.Lookup(ctx, crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567", Forms: []string{"+358 40 1234567"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(res["+358401234567"]); n != tc.want {
			t.Errorf("cleanup %q: %d hits, want %d", tc.re, n, tc.want)
		}
	}
}

func TestLookupThousandNumbersFewRequests(t *testing.T) {
	_, c, s := newClient(t, nil)
	want := map[string]string{}
	var req crm.LookupRequest
	for i := range 1000 {
		n, ok := phone.Normalize(fmt.Sprintf("+3584012%05d", i), "FI")
		if !ok {
			t.Fatal("bad test number")
		}
		forms := phone.Forms(n)
		req.Numbers = append(req.Numbers, crm.NumberQuery{Number: n.E164(), Forms: forms})
		if i%10 == 0 {
			module, field := []string{"Contacts", "Accounts", "Leads"}[i%3], "Phone"
			rec := map[string]any{field: forms[i%len(forms)]}
			if module == "Accounts" {
				rec["Account_Name"] = "A"
			} else {
				rec["Last_Name"] = "L"
			}
			want[n.E164()] = s.AddRecord(module, rec)
		}
	}
	res, err := c.Lookup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for num, id := range want {
		if len(res[num]) != 1 || res[num][0].ID != id {
			t.Errorf("%s: %v, want record %s", num, res[num], id)
		}
	}
	if len(res) != len(want) {
		t.Errorf("%d numbers with hits, want %d", len(res), len(want))
	}
	n := s.APIRequests()
	t.Logf("lookup of 1000 numbers (%d forms each at most): %d COQL requests", phone.MaxForms, n)
	if n > 48 {
		t.Errorf("lookup of 1000 numbers made %d requests, want a few dozen", n)
	}
	for _, r := range s.Log() {
		if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
			t.Errorf("request answered %d: %s", r.Status, r.COQL[:80])
		}
	}
}

func TestUsersPagedActiveOnly(t *testing.T) {
	b := newBackend(t, backendOptions{UserField: "Enreach_User_ID"})
	s, c := b.Server, b.Zoho()
	for i := range 250 {
		s.AddUser(zohotest.User{Email: fmt.Sprintf("u%d@example.com", i), FullName: fmt.Sprintf("User %d", i), Active: i != 7,
			Fields: map[string]string{"Enreach_User_ID": fmt.Sprintf("E-%d", i)}})
	}
	qs := []crm.UserQuery{{EnreachUserID: "e-3"}, {EnreachUserID: "E-7"}, {EnreachUserID: "E-240", Email: "x@example.com"}}
	got, err := c.Users(ctx, b.UserMatch(), qs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["e-3"].Email != "u3@example.com" || got["E-240"].Name != "User 240" {
		t.Errorf("by field: %+v", got)
	}
	if n := s.APIRequests(); n != 2 {
		t.Errorf("%d requests for 251 users, want 2 pages", n)
	}
	// Without user_id_field, users.match email matches by e-mail.
	cfg := b.Config
	cfg.UserIDField = ""
	byEmail, err := zoho.New(cfg, zoho.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	got, err = byEmail.Users(ctx, crm.UserMatch{By: "email"}, []crm.UserQuery{{EnreachUserID: "x", Email: "U9@Example.com"}, {EnreachUserID: "y", Email: "u7@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["x"].Email != "u9@example.com" {
		t.Errorf("by e-mail: %+v", got)
	}
}

func TestWriteCallsModuleFields(t *testing.T) {
	_, c, s := newClient(t, withCallID)
	s.SetTimeZone(time.FixedZone("EET", 2*3600)) // Zoho answers in the user's zone
	agent := s.AddUser(zohotest.User{Email: "a@example.com", FullName: "Agent", Active: true})
	con := s.AddRecord("Contacts", map[string]any{"Last_Name": "C"})
	acc := s.AddRecord("Accounts", map[string]any{"Account_Name": "A"})
	lead := s.AddRecord("Leads", map[string]any{"Last_Name": "L"})

	eet := time.FixedZone("EET", 2*3600)
	start := time.Date(2025, 3, 30, 5, 4, 3, 0, eet)
	in := call(1)
	in.Start, in.Duration, in.QueueName, in.OwnerID = start, 3723*time.Second, "Support", agent
	in.Regarding = &crm.Ref{Entity: crm.Contact, ID: con}
	missed := call(2)
	missed.Answered, missed.Duration = false, 0
	missed.Regarding = &crm.Ref{Entity: crm.Account, ID: acc}
	out := call(3)
	out.Direction, out.Number, out.DialledNumber = crm.Outbound, "+358501234567", "+358401111111"
	out.Regarding = &crm.Ref{Entity: crm.Lead, ID: lead}
	res := write(t, c, []crm.Activity{in, missed, out})
	wantStatus(t, res, crm.Created)

	rec := s.Record("Calls", res[0].ID)
	checks := map[string]any{
		"Subject": "call 1", "Call_Type": "Inbound", "Call_Start_Time": "2025-03-30T05:04:03+02:00",
		"Call_Duration": "62:03", "Caller_ID": in.Number, "Dialled_Number": in.DialledNumber, "Enreach_Call_ID": in.EnreachID,
		"Description": "Answered by Agent\n\nQueue: Support\nMedia Type: VOIP\nEnreach call ID: " + in.EnreachID,
	}
	for f, v := range checks {
		if rec[f] != v {
			t.Errorf("inbound %s = %v, want %v", f, rec[f], v)
		}
	}
	if rec["Who_Id"].(map[string]any)["id"] != con || rec["Owner"].(map[string]any)["id"] != agent {
		t.Errorf("inbound Who_Id/Owner: %v %v", rec["Who_Id"], rec["Owner"])
	}
	rec = s.Record("Calls", res[1].ID)
	if rec["Call_Type"] != "Missed" || rec["Call_Duration"] != "00:00" || rec["$se_module"] != "Accounts" ||
		rec["What_Id"].(map[string]any)["id"] != acc || rec["Owner"].(map[string]any)["id"] != s.AdminUserID() {
		t.Errorf("missed call: %v", rec)
	}
	rec = s.Record("Calls", res[2].ID)
	if rec["Call_Type"] != "Outbound" || rec["Outgoing_Call_Status"] != "Completed" || rec["$se_module"] != "Leads" ||
		rec["What_Id"].(map[string]any)["id"] != lead || rec["Dialled_Number"] != out.Number || rec["Caller_ID"] != out.DialledNumber {
		t.Errorf("outbound call to a lead: %v", rec)
	}
	if _, ok := rec["Who_Id"]; ok {
		t.Errorf("lead linked through Who_Id: %v", rec)
	}
}

func TestReplayAfterLostLedgerDoesNotDuplicate(t *testing.T) {
	for name, cfg := range map[string]func(*zoho.Config){"call_id_field": withCallID, "description": nil} {
		t.Run(name, func(t *testing.T) {
			_, c, s := newClient(t, cfg)
			acts := calls(0, 30)
			first := write(t, c, acts)
			wantStatus(t, first, crm.Created)
			// The same calls again, some twice in one batch, plus new ones.
			again := append(append(calls(0, 30), call(3), call(4)), calls(30, 5)...)
			res := write(t, c, again)
			for i, r := range res {
				switch {
				case i < 30 && (r.Status != crm.Existed || r.ID != first[i].ID):
					t.Errorf("replayed item %d = %+v, want Existed %s", i, r, first[i].ID)
				case i == 30 || i == 31:
					if r.Status != crm.Existed || r.ID != first[i-27].ID {
						t.Errorf("repeated item %d = %+v", i, r)
					}
				case i >= 32 && r.Status != crm.Created:
					t.Errorf("new item %d = %+v", i, r)
				}
			}
			if n := len(s.Records("Calls")); n != 35 {
				t.Errorf("%d calls stored, want 35", n)
			}
		})
	}
}

func TestPartialFailureRetriedWithoutDuplicates(t *testing.T) {
	for name, cfg := range map[string]func(*zoho.Config){"call_id_field": withCallID, "description": nil} {
		t.Run(name, func(t *testing.T) {
			_, c, s := newClient(t, cfg)
			bad := map[string]bool{"call 2": true, "call 5": true, "call 7": true}
			s.FailRecords(func(module string, rec map[string]any) bool { return module == "Calls" && bad[rec["Subject"].(string)] },
				"INTERNAL_ERROR", "internal error", 3)
			acts := calls(0, 10)
			res := write(t, c, acts)
			for i, r := range res {
				if bad[acts[i].Subject] {
					var re *zoho.RecordError
					if r.Status != crm.Failed || !errors.As(r.Err, &re) || re.Code != "INTERNAL_ERROR" || errors.Is(r.Err, crm.ErrPermanent) {
						t.Errorf("item %d = %+v, want a transient Failed with Zoho's code", i, r)
					}
				} else if r.Status != crm.Created {
					t.Errorf("item %d = %+v, want Created", i, r)
				}
			}
			if log := s.Log(); log[len(log)-1].Status != http.StatusMultiStatus {
				t.Errorf("insert answered %d, want 207", log[len(log)-1].Status)
			}
			retry := write(t, c, acts)
			for i, r := range retry {
				want := crm.Existed
				if bad[acts[i].Subject] {
					want = crm.Created
				} else if r.ID != res[i].ID {
					t.Errorf("item %d: id %s, want %s", i, r.ID, res[i].ID)
				}
				if r.Status != want {
					t.Errorf("retried item %d = %+v, want %s", i, r, want)
				}
			}
			if n := len(s.Records("Calls")); n != 10 {
				t.Errorf("%d calls stored, want 10", n)
			}
		})
	}
}

func TestPermanentItemError(t *testing.T) {
	_, c, s := newClient(t, withCallID)
	a := call(1)
	a.Regarding = &crm.Ref{Entity: crm.Contact, ID: "999"} // no such contact
	res := write(t, c, []crm.Activity{a, call(2)})
	var re *zoho.RecordError
	if res[0].Status != crm.Failed || !errors.Is(res[0].Err, crm.ErrPermanent) || !errors.As(res[0].Err, &re) || re.Code != "INVALID_DATA" {
		t.Errorf("bad item = %+v, want permanent INVALID_DATA", res[0])
	}
	if res[1].Status != crm.Created || len(s.Records("Calls")) != 1 {
		t.Errorf("good item = %+v", res[1])
	}
}

func TestCustomModuleWithRelatesTo(t *testing.T) {
	_, c, s := newClient(t, func(cfg *zoho.Config) { cfg.Module = "CCSP_Calls" })
	con := s.AddRecord("Contacts", map[string]any{"Last_Name": "C"})
	acc := s.AddRecord("Accounts", map[string]any{"Account_Name": "A"})
	lead := s.AddRecord("Leads", map[string]any{"Last_Name": "L"})
	in := call(1)
	in.Regarding = &crm.Ref{Entity: crm.Contact, ID: con}
	in.Related = []crm.Ref{*in.Regarding, {Entity: crm.Account, ID: acc}, {Entity: crm.Lead, ID: lead}}
	out := call(2)
	out.Direction, out.Number, out.DialledNumber = crm.Outbound, "+358501234567", "+358401111111"
	res := write(t, c, []crm.Activity{in, out})
	wantStatus(t, res, crm.Created)
	rec := s.Record("CCSP_Calls", res[0].ID)
	for f, v := range map[string]any{
		"CCSPCallID": in.EnreachID, "Name": "call 1", "Subject": "call 1", "Direction": "Incoming", "MediaType": "VOIP",
		"From": in.Number, "To": in.DialledNumber, "DNIS": in.DialledNumber, "PhoneNumber": in.Number, "DurationMins": 2.0,
		"StartTime": in.Start.Format("2006-01-02T15:04:05-07:00"), "EndTime": in.End.Format("2006-01-02T15:04:05-07:00"),
	} {
		if rec[f] != v {
			t.Errorf("%s = %v, want %v", f, rec[f], v)
		}
	}
	for f, id := range map[string]string{"RelatesToContacts": con, "RelatesToAccounts": acc, "RelatesToLeads": lead} {
		if m, _ := rec[f].(map[string]any); m["id"] != id {
			t.Errorf("%s = %v, want %s", f, rec[f], id)
		}
	}
	rec = s.Record("CCSP_Calls", res[1].ID)
	if rec["Direction"] != "Outgoing" || rec["From"] != out.DialledNumber || rec["To"] != out.Number || rec["DNIS"] != out.Number {
		t.Errorf("outbound record %v", rec)
	}
	if _, ok := rec["RelatesToContacts"]; ok {
		t.Errorf("unlinked call has a RelatesTo lookup: %v", rec)
	}
	// Replay: upsert reports update → Existed, same ids, nothing new.
	before := s.APIRequests()
	again := write(t, c, []crm.Activity{in, out})
	wantStatus(t, again, crm.Existed)
	if again[0].ID != res[0].ID || again[1].ID != res[1].ID {
		t.Errorf("replay ids %v, want %v", again, res)
	}
	if n := s.APIRequests() - before; n != 1 {
		t.Errorf("replay made %d requests, want 1 upsert", n)
	}
	if n := len(s.Records("CCSP_Calls")); n != 2 || len(s.Records("Calls")) != 0 {
		t.Errorf("%d custom records and %d calls, want 2 and 0", n, len(s.Records("Calls")))
	}
	if p := s.Log()[len(s.Log())-1].Path; p != "/crm/v8/CCSP_Calls/upsert" {
		t.Errorf("path %s", p)
	}
	// A partial failure retried: the failed item is inserted once.
	s.FailRecords(func(_ string, rec map[string]any) bool { return rec["Subject"] == "call 4" }, "INTERNAL_ERROR", "x", 1)
	res = write(t, c, calls(3, 3))
	if res[0].Status != crm.Created || res[1].Status != crm.Failed || res[2].Status != crm.Created {
		t.Fatalf("partial failure: %+v", res)
	}
	res = write(t, c, calls(3, 3))
	if res[0].Status != crm.Existed || res[1].Status != crm.Created || res[2].Status != crm.Existed {
		t.Fatalf("retry: %+v", res)
	}
	if n := len(s.Records("CCSP_Calls")); n != 5 {
		t.Errorf("%d custom records, want 5", n)
	}
	// Callback requests still go to Calls as scheduled calls.
	cb := callback(9, time.Now().Add(time.Hour))
	wantStatus(t, write(t, c, []crm.Activity{cb}), crm.Created)
	if n := len(s.Records("Calls")); n != 1 {
		t.Errorf("callback: %d calls, want 1", n)
	}
}

func TestRecordingSwitchedOff(t *testing.T) {
	inbound, outbound := call(1), call(2)
	outbound.Direction = crm.Outbound
	cb := callback(3, time.Now().Add(time.Hour))
	for _, tc := range []struct {
		name      string
		configure func(*zoho.Config)
		want      []crm.WriteStatus // inbound, outbound, callback
	}{
		{"module empty", func(c *zoho.Config) { c.Module = "" }, []crm.WriteStatus{crm.Failed, crm.Failed, crm.Created}},
		// record_incoming/record_outgoing are the engine's decision (jobs
		// NotRecorded): the client writes what it is given.
		{"incoming off", func(c *zoho.Config) { c.RecordIncoming = false }, []crm.WriteStatus{crm.Created, crm.Created, crm.Created}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, c, s := newClient(t, tc.configure)
			res := write(t, c, []crm.Activity{inbound, outbound, cb})
			for i, r := range res {
				if r.Status != tc.want[i] {
					t.Errorf("item %d = %+v, want %s", i, r, tc.want[i])
				}
				if r.Status == crm.Failed && (!errors.Is(r.Err, zoho.ErrRecordingOff) || !errors.Is(r.Err, crm.ErrPermanent)) {
					t.Errorf("item %d error %v, want ErrRecordingOff and crm.ErrPermanent", i, r.Err)
				}
			}
			created := 0
			for _, w := range tc.want {
				if w == crm.Created {
					created++
				}
			}
			if n := len(b.Activities()); n != created {
				t.Errorf("%d activities stored, want %d", n, created)
			}
			_ = s
		})
	}
	t.Run("nothing to record makes no request", func(t *testing.T) {
		_, c, s := newClient(t, func(c *zoho.Config) { c.Module = "" })
		write(t, c, []crm.Activity{inbound, outbound})
		if s.APIRequests()+s.TokenRequests() != 0 {
			t.Errorf("%d requests", s.APIRequests()+s.TokenRequests())
		}
	})
}

func callback(i int, due time.Time) crm.Activity {
	a := call(i)
	a.Kind, a.Key, a.Direction, a.Open, a.Duration = crm.KindCallback, crm.Key("t", crm.KindCallback, a.EnreachID), crm.Outbound, true, 0
	a.Subject = fmt.Sprintf("callback %d", i)
	due = due.UTC().Truncate(time.Second)
	a.Due = &due
	return a
}

func TestCallbacksScheduledAndClosed(t *testing.T) {
	for name, cfg := range map[string]func(*zoho.Config){"call_id_field": withCallID, "description": nil} {
		t.Run(name, func(t *testing.T) {
			clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
			b := newBackend(t, backendOptions{Configure: cfg, Client: zoho.Options{Now: clk.Now}})
			s, c := b.Server, b.Zoho()
			s.SetClock(clk.Now)
			agent := s.AddUser(zohotest.User{Email: "a@example.com", FullName: "Agent", Active: true})
			future := callback(1, clk.Now().Add(2*time.Hour))
			future.OwnerID = agent
			past := callback(2, clk.Now().Add(-2*time.Hour))
			open := call(3)
			open.Open, open.StatusReason = true, 1
			res := write(t, c, []crm.Activity{future, past, open})
			wantStatus(t, res, crm.Created)
			rec := s.Record("Calls", res[0].ID)
			if rec["Outgoing_Call_Status"] != "Scheduled" || rec["Call_Type"] != "Outbound" ||
				rec["Call_Start_Time"] != future.Due.Format("2006-01-02T15:04:05-07:00") ||
				rec["Owner"].(map[string]any)["id"] != agent || rec["Call_Duration"] != nil {
				t.Errorf("scheduled callback %v", rec)
			}
			wantStatus(t, write(t, c, []crm.Activity{future, past, open}), crm.Existed)

			clk.Add(time.Minute)
			closeRes, err := c.CloseActivities(ctx, []crm.CloseRequest{
				{Key: future.Key, ID: res[0].ID}, {Key: past.Key, ID: res[1].ID}, {Key: open.Key, ID: res[2].ID},
				{Key: "k-unknown", ID: "123"}, {Key: future.Key, ID: res[0].ID},
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []crm.WriteStatus{crm.Created, crm.Created, crm.Created, crm.Failed, crm.Existed} {
				if closeRes[i].Status != want {
					t.Errorf("close %d = %+v, want %s", i, closeRes[i], want)
				}
			}
			if !errors.Is(closeRes[3].Err, crm.ErrPermanent) {
				t.Errorf("closing an unknown id: %v, want permanent", closeRes[3].Err)
			}
			rec = s.Record("Calls", res[0].ID)
			closedAt := clk.Now().Add(-time.Second).Format("2006-01-02T15:04:05-07:00")
			if rec["Outgoing_Call_Status"] != "Completed" || rec["Call_Start_Time"] != closedAt || rec["Call_Duration"] != "00:01" {
				t.Errorf("closed future callback %v", rec)
			}
			if rec = s.Record("Calls", res[1].ID); rec["Call_Start_Time"] != past.Due.Format("2006-01-02T15:04:05-07:00") {
				t.Errorf("closed past callback moved: %v", rec["Call_Start_Time"])
			}
			if rec = s.Record("Calls", res[2].ID); strings.Contains(rec["Description"].(string), "Status: open") {
				t.Errorf("closed open call keeps its marker: %q", rec["Description"])
			}
			for _, st := range b.Activities() {
				if st.Open {
					t.Errorf("activity %s still open", st.ID)
				}
			}
			closeRes, err = c.CloseActivities(ctx, []crm.CloseRequest{{Key: future.Key, ID: res[0].ID}, {Key: open.Key, ID: res[2].ID}})
			if err != nil || closeRes[0].Status != crm.Existed || closeRes[1].Status != crm.Existed {
				t.Errorf("closing again: %+v %v", closeRes, err)
			}
		})
	}
}

func TestFindActivitiesInOrgTimeZone(t *testing.T) {
	for name, cfg := range map[string]func(*zoho.Config){"calls": nil, "custom": func(c *zoho.Config) { c.Module = "CCSP_Calls" }} {
		t.Run(name, func(t *testing.T) {
			_, c, s := newClient(t, cfg)
			s.SetTimeZone(time.FixedZone("IST", 5*3600+1800))
			a, o := call(1), call(2)
			o.Direction, o.Number = crm.Outbound, a.Number
			o.Start = a.Start.Add(10 * time.Minute)
			res := write(t, c, []crm.Activity{a, o, call(3)})
			wantStatus(t, res, crm.Created)
			got, err := c.FindActivities(ctx, []crm.ActivityQuery{
				{Number: a.Number, From: a.Start.Add(-time.Minute), To: a.Start.Add(15 * time.Minute)},
				{Number: "+358409999999", From: a.Start.Add(-time.Hour), To: a.Start.Add(time.Hour)},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("found %+v, want 2", got)
			}
			for _, g := range got {
				if g.Number != a.Number || g.Start.Location() != time.UTC || (!g.Start.Equal(a.Start) && !g.Start.Equal(o.Start)) {
					t.Errorf("found %+v", g)
				}
			}
		})
	}
}

func TestThrottlingBacksOff(t *testing.T) {
	_, c, s := newClient(t, withCallID)
	s.Fail(zohotest.Fault{Status: http.StatusTooManyRequests, Times: 2})
	s.Fail(zohotest.Fault{Method: http.MethodPost, Path: "/crm/v8/Calls", Status: http.StatusTooManyRequests})
	wantStatus(t, write(t, c, calls(0, 3)), crm.Created)
	var throttled int
	for _, r := range s.Log() {
		if r.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled != 3 || len(s.Records("Calls")) != 3 {
		t.Errorf("%d throttled answers, %d calls; want 3 and 3", throttled, len(s.Records("Calls")))
	}
}

func TestInsertServerErrorIsNotRetried(t *testing.T) {
	_, c, s := newClient(t, withCallID)
	s.Fail(zohotest.Fault{Method: http.MethodPost, Path: "/crm/v8/Calls", Status: http.StatusInternalServerError})
	res, err := c.WriteActivities(ctx, calls(0, 3))
	if err == nil {
		for _, r := range res {
			if r.Status != crm.Failed || errors.Is(r.Err, crm.ErrPermanent) {
				t.Errorf("item %+v, want a transient failure", r)
			}
		}
	}
	var inserts int
	for _, r := range s.Log() {
		if r.Path == "/crm/v8/Calls" {
			inserts++
		}
	}
	if inserts != 1 {
		t.Errorf("%d insert attempts, want 1 (a retried insert may double records)", inserts)
	}
	wantStatus(t, write(t, c, calls(0, 3)), crm.Created)
}

func TestThousandCallsFewRequests(t *testing.T) {
	for name, cfg := range map[string]func(*zoho.Config){"call_id_field": withCallID, "description": nil} {
		t.Run(name, func(t *testing.T) {
			_, c, s := newClient(t, cfg)
			acts := calls(0, 1000)
			wantStatus(t, write(t, c, acts), crm.Created)
			n, tok := s.APIRequests(), s.TokenRequests()
			t.Logf("1000 calls: %d API requests + %d token request", n, tok)
			if n != 12 || tok != 1 { // one metadata read (cached a day), one pre-check query, ten inserts of 100
				t.Errorf("1000 calls: %d API and %d token requests, want 12 and 1", n, tok)
			}
			if len(s.Records("Calls")) != 1000 {
				t.Fatalf("%d calls stored", len(s.Records("Calls")))
			}
			s.ResetLog()
			wantStatus(t, write(t, c, acts), crm.Existed)
			if n := s.APIRequests(); n > 2 {
				t.Errorf("replay of 1000 calls: %d requests, want at most 2", n)
			}
		})
	}
}

// The request hook is told about every request (grants and a 429 retried
// included) with the remaining credits the answers carried.
func TestRequestHookSeesRequestsAndCredits(t *testing.T) {
	var mu sync.Mutex
	var seen []crm.Request
	b := newBackend(t, backendOptions{Client: zoho.Options{OnRequest: func(r crm.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r)
	}}})
	c := b.Zoho()
	if _, ok := c.CreditsRemaining(); ok {
		t.Fatal("credits known before any request")
	}
	b.Server.SetCredits(1000, 400)
	b.Server.Fail(zohotest.Fault{Status: http.StatusTooManyRequests})
	wantStatus(t, write(t, c, calls(0, 2)), crm.Created)
	n, ok := c.CreditsRemaining()
	if !ok || n != b.Server.Credits() || n >= 400 {
		t.Errorf("CreditsRemaining = %d %v, server says %d", n, ok, b.Server.Credits())
	}
	mu.Lock()
	defer mu.Unlock()
	throttled, last := 0, crm.Quota{}
	for _, r := range seen {
		if r.CRM != "zoho" {
			t.Errorf("request reported for CRM %q", r.CRM)
		}
		if r.Status == http.StatusTooManyRequests {
			throttled++
		}
		if r.Quota.Known {
			last = r.Quota
		}
	}
	if want := b.Server.Requests(); len(seen) != want || throttled != 1 {
		t.Errorf("hook saw %d requests (%d throttled), the server %d (1 throttled)", len(seen), throttled, want)
	}
	if !last.Known || last.Remaining != n {
		t.Errorf("hook's last quota %+v, want %d remaining", last, n)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	s := zohotest.NewServer()
	defer s.Close()
	for name, mutate := range map[string]func(*zoho.Config){
		"no accounts_url":     func(c *zoho.Config) { c.AccountsURL = "" },
		"no refresh token":    func(c *zoho.Config) { c.RefreshToken = "" },
		"bad regexp":          func(c *zoho.Config) { c.NumberCleanupRegexp = "([" },
		"unknown module":      func(c *zoho.Config) { c.SearchModules = []string{"Deals"} },
		"bad module name":     func(c *zoho.Config) { c.Module = "Calls'; drop" },
		"bad call_id_field":   func(c *zoho.Config) { c.CallIDField = "a b" },
		"bad user_id_field":   func(c *zoho.Config) { c.UserIDField = "x'" },
		"relative api domain": func(c *zoho.Config) { c.APIDomain = "zohoapis.eu" },
	} {
		cfg := s.Config()
		mutate(&cfg)
		if _, err := zoho.New(cfg, zoho.Options{}); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	cfg := s.Config()
	cfg.APIDomain = s.URL
	c, err := zoho.New(cfg, zoho.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(ctx, crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567"}}}); err != nil {
		t.Errorf("configured api_domain: %v", err)
	}
}

// DurationMins is a Number (integer) field: short and unanswered calls are
// written with whole minutes, rounded to the nearest minute (half up), and
// none fails with INVALID_DATA.
func TestCustomModuleDurationWholeMinutes(t *testing.T) {
	_, c, s := newClient(t, func(cfg *zoho.Config) { cfg.Module = "CCSP_Calls" })
	cases := []struct {
		d    time.Duration
		want float64
	}{{0, 0}, {1500 * time.Millisecond, 0}, {29 * time.Second, 0}, {30 * time.Second, 1}, {89 * time.Second, 1}, {90 * time.Second, 2}, {10 * time.Minute, 10}}
	var acts []crm.Activity
	for i, tc := range cases {
		a := call(i)
		a.Duration, a.End = tc.d, a.Start.Add(tc.d)
		a.Answered = tc.d > 0
		acts = append(acts, a)
	}
	res := write(t, c, acts)
	wantStatus(t, res, crm.Created)
	for i, tc := range cases {
		if got := s.Record("CCSP_Calls", res[i].ID)["DurationMins"]; got != tc.want {
			t.Errorf("%v: DurationMins = %v, want %v", tc.d, got, tc.want)
		}
	}
}

// A call whose number matches several records, written with
// enable_multiple_match_create and multiple_matches_pick_first off, reaches
// the client with every candidate in Related and no Regarding: it is written
// unrelated (no RelatesTo lookup), as Dynamics and Salesforce do.
func TestCustomModuleMultipleMatchesUnrelated(t *testing.T) {
	_, c, s := newClient(t, func(cfg *zoho.Config) { cfg.Module = "CCSP_Calls" })
	c1 := s.AddRecord("Contacts", map[string]any{"Last_Name": "One"})
	c2 := s.AddRecord("Contacts", map[string]any{"Last_Name": "Two"})
	acc := s.AddRecord("Accounts", map[string]any{"Account_Name": "A"})
	a := call(1)
	a.Open = true
	a.Related = []crm.Ref{{Entity: crm.Contact, ID: c1}, {Entity: crm.Contact, ID: c2}, {Entity: crm.Account, ID: acc}}
	res := write(t, c, []crm.Activity{a})
	wantStatus(t, res, crm.Created)
	rec := s.Record("CCSP_Calls", res[0].ID)
	for _, f := range []string{"RelatesToContacts", "RelatesToAccounts", "RelatesToLeads"} {
		if v, ok := rec[f]; ok {
			t.Errorf("multiple-match call is related: %s = %v", f, v)
		}
	}
}

// user_id_field (the original's IDUserField) decides alone: when it is set,
// users are matched by that user field whatever users.match says, in an org
// where the e-mails differ and only the field holds the Enreach user id: a
// custom "CCSPID" field, or the standard Fax field (which the users API
// returns as "fax").
func TestUserIDFieldMatchesWhateverUsersMatchSays(t *testing.T) {
	for _, tc := range []struct{ field, key string }{{"CCSPID", "CCSPID"}, {"Fax", "fax"}} {
		t.Run(tc.field, func(t *testing.T) {
			b := newBackend(t, backendOptions{Configure: func(c *zoho.Config) { c.UserIDField = tc.field }})
			s, c := b.Server, b.Zoho()
			agent := s.AddUser(zohotest.User{Email: "tony.smith@crm.example", FullName: "Tony Smith", Active: true, Fields: map[string]string{tc.key: "3026"}})
			s.AddUser(zohotest.User{Email: "tony@enreach.example", FullName: "Other Tony", Active: true, Fields: map[string]string{tc.key: "9999"}})
			qs := []crm.UserQuery{{EnreachUserID: "3026", Email: "tony@enreach.example"}}
			for _, m := range []crm.UserMatch{{By: "email"}, {}, {By: "field", Field: "Enreach_User_ID"}} {
				got, err := c.Users(ctx, m, qs)
				if err != nil {
					t.Fatalf("match %+v: %v", m, err)
				}
				if len(got) != 1 || got["3026"].ID != agent {
					t.Errorf("users.match %+v: %+v, want Tony Smith (%s) by %s", m, got, agent, tc.field)
				}
			}
		})
	}
}

// A configured phone field hidden from the integration user (or deleted) is
// dropped from lookups with a warning; the other fields still match. A
// module with no phone field left is skipped. A field deleted after the
// metadata was read makes COQL name it unknown: the metadata is read again
// and the lookup goes on without it. Metadata is read again after a day.
func TestLookupAdaptsToHiddenAndDeletedPhoneFields(t *testing.T) {
	now := &clock{t: time.Now()}
	var logs strings.Builder
	b := newBackend(t, backendOptions{Client: zoho.Options{Now: now.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}})
	s, c := b.Server, b.Zoho()
	byPhone := s.AddRecord("Contacts", map[string]any{"Last_Name": "ByPhone", "Phone": "+358401000001"})
	s.AddRecord("Contacts", map[string]any{"Last_Name": "ByMobile", "Mobile": "+358401000002"})
	lead := s.AddRecord("Leads", map[string]any{"Last_Name": "Lead", "Mobile": "+358401000003"})
	s.AddRecord("Accounts", map[string]any{"Account_Name": "Acc", "Phone": "+358401000004"})
	s.HideField("Contacts", "Mobile")
	s.HideField("Accounts", "Phone")
	q := crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401000001"}, {Number: "+358401000002"}, {Number: "+358401000003"}, {Number: "+358401000004"}}}
	res, err := c.Lookup(ctx, q)
	if err != nil {
		t.Fatalf("lookup with hidden fields: %v", err)
	}
	if r := res["+358401000001"]; len(r) != 1 || r[0].ID != byPhone {
		t.Errorf("by Phone: %+v", r)
	}
	if r := res["+358401000002"]; len(r) != 0 {
		t.Errorf("hidden Contacts.Mobile matched: %+v", r)
	}
	if r := res["+358401000003"]; len(r) != 1 || r[0].ID != lead {
		t.Errorf("Leads.Mobile: %+v", r)
	}
	if r := res["+358401000004"]; len(r) != 0 {
		t.Errorf("Accounts has no visible phone field but matched: %+v", r)
	}
	for _, r := range s.Log() {
		if strings.Contains(r.COQL, "from Accounts") {
			t.Errorf("Accounts searched without a visible phone field: %s", r.COQL)
		}
	}
	if !strings.Contains(logs.String(), "Mobile") || !strings.Contains(logs.String(), "Accounts") {
		t.Errorf("no warning naming the dropped fields: %s", logs.String())
	}

	// Deleted after the metadata was read: one retry without it.
	s.RemoveField("Leads", "Mobile")
	s.AddRecord("Leads", map[string]any{"Last_Name": "Lead2", "Phone": "+358401000005"})
	res, err = c.Lookup(ctx, crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401000005"}, {Number: "+358401000001"}}})
	if err != nil {
		t.Fatalf("lookup after a field was deleted: %v", err)
	}
	if len(res["+358401000005"]) != 1 || len(res["+358401000001"]) != 1 {
		t.Errorf("after delete: %+v", res)
	}

	// Shown again: used after the daily re-read, not before.
	s.AddField("Accounts", "Phone", zohotest.Field{Type: zohotest.Phone})
	res, _ = c.Lookup(ctx, q)
	if len(res["+358401000004"]) != 0 {
		t.Errorf("metadata re-read before a day passed: %+v", res["+358401000004"])
	}
	now.Add(25 * time.Hour)
	res, err = c.Lookup(ctx, q)
	if err != nil || len(res["+358401000004"]) != 1 {
		t.Errorf("after a day: %v %+v", err, res["+358401000004"])
	}
}

// The record format of the Enghouse connector: Direction Incoming/Outgoing,
// MediaType VOIP, Queue when the module has it, the default subject
// "[Incoming] VOIP Call dd/MM/yyyy, HH:mm:ss" in subject_time_zone; in
// Calls the call id in Telephony External ID and queue, media type and the
// replay link in Description; the recording link in the custom module's
// Recording.
func TestEnghouseRecordFormat(t *testing.T) {
	start := time.Date(2024, 7, 3, 10, 23, 17, 0, time.UTC) // 11:23:17 in London (BST)
	in := call(1)
	in.Subject, in.QueueName, in.Start, in.End = "", "Sales", start, start.Add(90*time.Second)
	in.RecordingLink = "https://rec.example/replay/r1"
	out := call(2)
	out.Subject, out.Direction, out.Start, out.End = "", crm.Outbound, start, start.Add(time.Minute)
	london := func(c *zoho.Config) { c.SubjectTimeZone = "Europe/London" }

	_, c, s := newClient(t, func(cfg *zoho.Config) { london(cfg); cfg.Module = "CCSP_Calls" })
	res := write(t, c, []crm.Activity{in, out})
	wantStatus(t, res, crm.Created)
	rec := s.Record("CCSP_Calls", res[0].ID)
	for f, v := range map[string]any{"Name": "[Incoming] VOIP Call 03/07/2024, 11:23:17", "Subject": "[Incoming] VOIP Call 03/07/2024, 11:23:17",
		"Direction": "Incoming", "MediaType": "VOIP", "Queue": "Sales", "DNIS": in.DialledNumber, "Recording": in.RecordingLink} {
		if rec[f] != v {
			t.Errorf("custom %s = %v, want %v", f, rec[f], v)
		}
	}
	if rec := s.Record("CCSP_Calls", res[1].ID); rec["Subject"] != "[Outgoing] VOIP Call 03/07/2024, 11:23:17" || rec["Direction"] != "Outgoing" || rec["Queue"] != nil || rec["Recording"] != nil {
		t.Errorf("custom outbound %v", rec)
	}

	_, c, s = newClient(t, london)
	res = write(t, c, []crm.Activity{in})
	wantStatus(t, res, crm.Created)
	rec = s.Record("Calls", res[0].ID)
	desc, _ := rec["Description"].(string)
	if rec["Subject"] != "[Incoming] VOIP Call 03/07/2024, 11:23:17" || rec["Telephony_External_ID__s"] != in.EnreachID ||
		!strings.Contains(desc, "Queue: Sales\n") || !strings.Contains(desc, "Media Type: VOIP\n") ||
		!strings.Contains(desc, "Replay: https://rec.example/replay/r1\n") {
		t.Errorf("Calls record %v", rec)
	}
}

// A custom module with only the fields callsync needs ("minimal org") is
// written without the optional fields; an optional field deleted after the
// metadata was read fails that write as not permanent, and the next run
// writes the call without it.
func TestCustomModuleAdaptsToItsFields(t *testing.T) {
	b, c, s := newClient(t, func(cfg *zoho.Config) { cfg.Module = "CCSP_Calls" })
	_ = b
	s.RemoveModule("CCSP_Calls")
	s.AddMinimalActivityModule("CCSP_Calls")
	a := call(1)
	a.QueueName = "Sales"
	res := write(t, c, []crm.Activity{a})
	wantStatus(t, res, crm.Created)
	rec := s.Record("CCSP_Calls", res[0].ID)
	if rec["CCSPCallID"] != a.EnreachID || rec["PhoneNumber"] != a.Number || rec["Name"] != "call 1" {
		t.Errorf("minimal record %v", rec)
	}
	if got, err := c.FindActivities(ctx, []crm.ActivityQuery{{Number: a.Number, From: a.Start.Add(-time.Minute), To: a.Start.Add(time.Minute)}}); err != nil || len(got) != 1 {
		t.Errorf("FindActivities on the minimal module: %v %v", got, err)
	}

	_, c, s = newClient(t, func(cfg *zoho.Config) { cfg.Module = "CCSP_Calls" })
	wantStatus(t, write(t, c, []crm.Activity{call(1)}), crm.Created)
	s.RemoveField("CCSP_Calls", "DNIS")
	res = write(t, c, []crm.Activity{call(2)})
	if res[0].Status != crm.Failed || errors.Is(res[0].Err, crm.ErrPermanent) {
		t.Fatalf("write naming a deleted field: %+v, want a failure that is not permanent", res[0])
	}
	res = write(t, c, []crm.Activity{call(2)})
	wantStatus(t, res, crm.Created)
}

// audit_field receives Activity.Audit, cut only at the field's length from
// settings/fields, with a marker; a module without the field gets none.
func TestAuditField(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, module := range []string{"Calls", "CCSP_Calls"} {
		t.Run(module, func(t *testing.T) {
			_, c, s := newClient(t, func(cfg *zoho.Config) { cfg.Module = module; cfg.AuditField = "Enreach_Api_Audit" })
			s.AddField(module, "Enreach_Api_Audit", zohotest.Field{Type: zohotest.TextArea, Length: 100})
			short, cut := call(1), call(2)
			short.Audit, cut.Audit = `{"CallId":"1"}`, long
			res := write(t, c, []crm.Activity{short, cut})
			wantStatus(t, res, crm.Created)
			if got := s.Record(module, res[0].ID)["Enreach_Api_Audit"]; got != short.Audit {
				t.Errorf("short audit = %v", got)
			}
			got, _ := s.Record(module, res[1].ID)["Enreach_Api_Audit"].(string)
			if n := len([]rune(got)); n > 100 || n < 60 || !strings.HasPrefix(got, "xxxx") || !strings.HasSuffix(got, " of 300 characters]") || !strings.Contains(got, "…[truncated by callsync: ") {
				t.Errorf("long audit (%d chars) = %q", n, got)
			}
		})
	}
	_, c, s := newClient(t, func(cfg *zoho.Config) { cfg.AuditField = "Enreach_Api_Audit" })
	a := call(1)
	a.Audit = long
	res := write(t, c, []crm.Activity{a})
	wantStatus(t, res, crm.Created)
	if _, ok := s.Record("Calls", res[0].ID)["Enreach_Api_Audit"]; ok {
		t.Error("audit written to a module without the field")
	}
}

// A refresh token without the settings scopes: metadata answers 401
// OAUTH_SCOPE_MISMATCH. Lookups and writes go on with the configured
// fields, the failed read is remembered (not asked on every lookup) and no
// token is renewed for it.
func TestWithoutSettingsScope(t *testing.T) {
	_, c, s := newClient(t, nil)
	s.DenySettingsScope()
	con := s.AddRecord("Contacts", map[string]any{"Last_Name": "C", "Mobile": "+358401000002"})
	q := crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401000002"}}}
	for range 5 {
		res, err := c.Lookup(ctx, q)
		if err != nil || len(res["+358401000002"]) != 1 || res["+358401000002"][0].ID != con {
			t.Fatalf("lookup: %v %+v", err, res)
		}
	}
	wantStatus(t, write(t, c, calls(0, 2)), crm.Created)
	if n := s.Grants(); n != 1 {
		t.Errorf("%d token grants, want 1 (a scope mismatch renews nothing)", n)
	}
	meta := 0
	for _, r := range s.Log() {
		if strings.HasPrefix(r.Path, "/crm/v8/settings/") {
			meta++
		}
	}
	if meta != 4 { // once per module: Contacts, Accounts, Leads, Calls
		t.Errorf("%d metadata requests, want 4 (remembered for an hour)", meta)
	}
}

// gateTransport holds each COQL request (or each request to a path ending
// in suffix, when set) until another one is in flight (or until a wait that
// only a client asking one at a time runs into), and records the most of
// them it saw in flight at once.
type gateTransport struct {
	base   http.RoundTripper
	suffix string
	mu     sync.Mutex
	n      int
	peak   int
	both   chan struct{} // closed when two were in flight
	once   sync.Once
}

// reset starts counting (and holding) afresh.
func (g *gateTransport) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.peak, g.both, g.once = 0, make(chan struct{}), sync.Once{}
}

func (g *gateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	suffix := g.suffix
	if suffix == "" {
		suffix = "/coql"
	}
	if !strings.HasSuffix(r.URL.Path, suffix) {
		return g.base.RoundTrip(r)
	}
	g.mu.Lock()
	g.n++
	g.peak = max(g.peak, g.n)
	if g.n >= 2 {
		g.once.Do(func() { close(g.both) })
	}
	both := g.both
	g.mu.Unlock()
	select {
	case <-both:
	case <-time.After(3 * time.Second):
		g.mu.Lock()
		g.once.Do(func() { close(g.both) }) // serial client: stop waiting
		g.mu.Unlock()
	}
	resp, err := g.base.RoundTrip(r)
	g.mu.Lock()
	g.n--
	g.mu.Unlock()
	return resp, err
}

// A lookup that takes several COQL queries asks them at once (the floor of
// a backfill assumes requests in parallel), and answers as asking them one
// by one does.
func TestLookupQueriesRunConcurrently(t *testing.T) {
	gate := &gateTransport{base: http.DefaultTransport.(*http.Transport).Clone(), both: make(chan struct{})}
	b := newBackend(t, backendOptions{Client: zoho.Options{HTTP: httpclient.Options{Transport: gate}}})
	c, s := b.Zoho(), b.Server
	want := map[string][]string{}
	var req crm.LookupRequest
	for i := range 1500 {
		n, ok := phone.Normalize(fmt.Sprintf("+3584013%05d", i), "FI")
		if !ok {
			t.Fatal("bad test number")
		}
		req.Numbers = append(req.Numbers, crm.NumberQuery{Number: n.E164(), Forms: phone.Forms(n)})
		if i%150 == 0 {
			forms := phone.Forms(n)
			want[n.E164()] = []string{s.AddRecord("Contacts", map[string]any{"Last_Name": "A", "Phone": forms[0]}),
				s.AddRecord("Contacts", map[string]any{"Last_Name": "B", "Mobile": forms[len(forms)-1]})}
		}
	}
	res, err := c.Lookup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for num, ids := range want {
		var got []string
		for _, r := range res[num] {
			got = append(got, r.ID)
		}
		slices.Sort(got)
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("%s: %v, want records %v", num, got, ids)
		}
	}
	if len(res) != len(want) {
		t.Errorf("%d numbers with hits, want %d", len(res), len(want))
	}
	gate.mu.Lock()
	defer gate.mu.Unlock()
	t.Logf("%d COQL requests, at most %d in flight", s.APIRequests(), gate.peak)
	if gate.peak < 2 {
		t.Errorf("at most %d COQL request in flight: the lookup's queries ran one by one", gate.peak)
	}
}

// An existing-activity check of more numbers than one COQL query holds asks
// its queries at once, and finds what asking them one by one does.
func TestFindActivitiesQueriesRunConcurrently(t *testing.T) {
	gate := &gateTransport{base: http.DefaultTransport.(*http.Transport).Clone(), both: make(chan struct{})}
	b := newBackend(t, backendOptions{Client: zoho.Options{HTTP: httpclient.Options{Transport: gate}}})
	c, s := b.Zoho(), b.Server
	acts := calls(0, 3000)
	var written []crm.Activity
	for i := 0; i < len(acts); i += 600 {
		written = append(written, acts[i])
	}
	wantStatus(t, write(t, c, written), crm.Created)
	var qs []crm.ActivityQuery
	for _, a := range acts {
		qs = append(qs, crm.ActivityQuery{Number: a.Number, From: a.Start.Add(-time.Minute), To: a.Start.Add(time.Minute)})
	}
	before := s.APIRequests()
	gate.reset()
	got, err := c.FindActivities(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	var nums, want []string
	for _, g := range got {
		nums = append(nums, g.Number)
	}
	for _, a := range written {
		want = append(want, a.Number)
	}
	if fmt.Sprint(nums) != fmt.Sprint(want) {
		t.Errorf("found %v, want %v", nums, want)
	}
	gate.mu.Lock()
	defer gate.mu.Unlock()
	t.Logf("%d COQL requests, at most %d in flight", s.APIRequests()-before, gate.peak)
	if gate.peak < 2 {
		t.Errorf("at most %d COQL request in flight: the check's queries ran one by one", gate.peak)
	}
}

// A lookup searches its modules (Contacts, Accounts, Leads) at once, and
// answers as searching them one by one does: each number's records in
// module order.
func TestLookupModulesSearchedConcurrently(t *testing.T) {
	gate := &gateTransport{base: http.DefaultTransport.(*http.Transport).Clone(), both: make(chan struct{})}
	b := newBackend(t, backendOptions{Client: zoho.Options{HTTP: httpclient.Options{Transport: gate}}})
	c, s := b.Zoho(), b.Server
	var req crm.LookupRequest
	want := map[string][]string{}
	for i := range 6 {
		n, ok := phone.Normalize(fmt.Sprintf("+3584015%05d", i), "FI")
		if !ok {
			t.Fatal("bad test number")
		}
		forms := phone.Forms(n)
		req.Numbers = append(req.Numbers, crm.NumberQuery{Number: n.E164(), Forms: forms})
		var ids []string
		if i%2 == 0 {
			ids = append(ids, s.AddRecord("Contacts", map[string]any{"Last_Name": fmt.Sprint("C", i), "Phone": forms[i%len(forms)]}))
		}
		if i%3 == 0 {
			ids = append(ids, s.AddRecord("Accounts", map[string]any{"Account_Name": fmt.Sprint("A", i), "Phone": forms[0]}))
		}
		ids = append(ids, s.AddRecord("Leads", map[string]any{"Last_Name": fmt.Sprint("L", i), "Mobile": forms[len(forms)-1]}))
		want[n.E164()] = ids
	}
	gate.reset()
	res, err := c.Lookup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for num, ids := range want {
		var got []string
		for _, r := range res[num] {
			got = append(got, r.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("%s: %v, want records %v (Contacts, Accounts, Leads)", num, got, ids)
		}
	}
	if len(res) != len(want) {
		t.Errorf("%d numbers with hits, want %d", len(res), len(want))
	}
	gate.mu.Lock()
	defer gate.mu.Unlock()
	t.Logf("at most %d COQL requests in flight", gate.peak)
	if gate.peak < 2 {
		t.Errorf("at most %d COQL request in flight: the modules were searched one by one", gate.peak)
	}
}

// A write of more calls than one insert holds sends its inserts at once
// (a backfill's write batch is 200 calls), and answers as sending them one
// by one does: every call created, each with its own record.
func TestInsertsRunConcurrently(t *testing.T) {
	gate := &gateTransport{base: http.DefaultTransport.(*http.Transport).Clone(), suffix: "/Calls", both: make(chan struct{})}
	b := newBackend(t, backendOptions{Client: zoho.Options{HTTP: httpclient.Options{Transport: gate}}})
	c, s := b.Zoho(), b.Server
	acts := calls(0, 250)
	res := write(t, c, acts)
	wantStatus(t, res, crm.Created)
	byID := map[string]map[string]any{}
	for _, r := range s.Records("Calls") {
		byID[r["id"].(string)] = r
	}
	for i, r := range res {
		if rec := byID[r.ID]; rec == nil || rec["Subject"] != acts[i].Subject {
			t.Errorf("item %d: record %s is %v, want the one of %q", i, r.ID, rec, acts[i].Subject)
		}
	}
	if len(byID) != len(acts) {
		t.Errorf("%d Calls records, want %d", len(byID), len(acts))
	}
	gate.mu.Lock()
	defer gate.mu.Unlock()
	if gate.peak < 2 {
		t.Errorf("at most %d insert in flight: the inserts ran one by one", gate.peak)
	}
}
