package zohotest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func grant(t *testing.T, s *Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.AccountsURL+"/oauth/v2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func validGrant(s *Server) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret}, "refresh_token": {s.RefreshToken}}
}

func accessTok(t *testing.T, s *Server) string {
	t.Helper()
	_, body := grant(t, s, validGrant(s))
	tok, _ := body["access_token"].(string)
	if tok == "" {
		t.Fatalf("no token: %v", body)
	}
	return tok
}

func call(t *testing.T, s *Server, tok, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rdr io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rdr = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, s.URL+path, rdr)
	if tok != "" {
		req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func coql(t *testing.T, s *Server, tok, q string) (int, map[string]any) {
	t.Helper()
	return call(t, s, tok, http.MethodPost, "/crm/v8/coql", map[string]string{"select_query": q})
}

func TestTokenEndpoint(t *testing.T) {
	s := NewServer()
	defer s.Close()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	s.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })

	bad := validGrant(s)
	bad.Set("client_secret", "nope")
	if code, body := grant(t, s, bad); code != 200 || body["error"] != "invalid_client" {
		t.Errorf("wrong secret: %d %v", code, body)
	}
	bad = validGrant(s)
	bad.Set("refresh_token", "1000.other")
	if code, body := grant(t, s, bad); code != 200 || body["error"] != "invalid_code" {
		t.Errorf("wrong refresh token: %d %v", code, body)
	}
	// Parameters in the query string, as Zoho documents it.
	resp, err := http.Post(s.AccountsURL+"/oauth/v2/token?"+validGrant(s).Encode(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if body["api_domain"] != s.URL || body["expires_in"] != float64(3600) || body["token_type"] != "Bearer" || body["access_token"] == "" {
		t.Errorf("grant answer %v", body)
	}
	for i := 1; i < GrantsPerWindow; i++ {
		accessTok(t, s)
	}
	code, body := grant(t, s, validGrant(s))
	if code != http.StatusBadRequest || body["error"] != "Access Denied" ||
		!strings.Contains(fmt.Sprint(body["error_description"]), "too many requests continuously") {
		t.Errorf("11th grant in 10 minutes: %d %v", code, body)
	}
	mu.Lock()
	now = now.Add(GrantWindow)
	mu.Unlock()
	accessTok(t, s)
	if s.Grants() != GrantsPerWindow+1 || s.TokenRequests() != GrantsPerWindow+4 {
		t.Errorf("grants %d, token requests %d", s.Grants(), s.TokenRequests())
	}
}

func TestAuthentication(t *testing.T) {
	s := NewServer()
	defer s.Close()
	if code, body := call(t, s, "", http.MethodGet, "/crm/v8/users", nil); code != 401 || body["code"] != "AUTHENTICATION_FAILURE" {
		t.Errorf("no header: %d %v", code, body)
	}
	tok := accessTok(t, s)
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/crm/v8/users", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("Bearer scheme accepted: %d", resp.StatusCode)
	}
	if code, _ := call(t, s, tok, http.MethodGet, "/crm/v8/users", nil); code != 200 {
		t.Errorf("valid token: %d", code)
	}
	s.ExpireTokens()
	if code, body := call(t, s, tok, http.MethodGet, "/crm/v8/users", nil); code != 401 || body["code"] != "INVALID_TOKEN" || body["message"] != "invalid oauth token" {
		t.Errorf("expired token: %d %v", code, body)
	}
}

func TestCOQL(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.SetTimeZone(time.FixedZone("EET", 2*3600))
	for i := range 5 {
		s.AddRecord("Contacts", map[string]any{"Last_Name": fmt.Sprintf("N%d", i), "Phone": fmt.Sprintf("040 000 000%d", i), "Description": "x"})
	}
	s.AddRecord("Calls", map[string]any{"Subject": "s", "Call_Type": "Inbound", "Call_Start_Time": "2025-01-01T10:00:00+00:00", "Call_Duration": "01:00"})
	tok := accessTok(t, s)
	in := func(n int) string {
		var v []string
		for i := range n {
			v = append(v, fmt.Sprintf("'%d'", i))
		}
		return strings.Join(v, ",")
	}
	tests := []struct {
		q      string
		status int
		code   string
		rows   int
	}{
		{"select id, Full_Name, Phone from Contacts where Phone = '040 000 0001'", 200, "", 1},
		{"select Phone from Contacts where (Phone = '040 000 0001' or Phone in ('040 000 0002','040 000 0003'))", 200, "", 3},
		{"select Phone from Contacts where Phone = '1' or Phone = '2' or Phone = '3'", 400, "SYNTAX_ERROR", 0},
		{"select Phone from Contacts where ((Phone = '1' or Phone = '2') or Phone like '%0004')", 200, "", 1},
		{"select Phone from Contacts where Phone in (" + in(101) + ")", 400, "LIMIT_EXCEEDED", 0},
		{"select Phone from Contacts where Phone in (" + in(100) + ")", 204, "", 0},
		{"select Phone from Contacts where Description = 'x'", 400, "INVALID_QUERY", 0},
		{"select Nope from Contacts where Phone = '1'", 400, "INVALID_QUERY", 0},
		{"select Phone from Nope where Phone = '1'", 400, "INVALID_QUERY", 0},
		{"select Phone from Contacts where Phone is not null limit 2001", 400, "LIMIT_EXCEEDED", 0},
		{"select Phone from Contacts where Phone is not null limit 2 offset 4", 200, "", 1},
		{"select Phone from Contacts where Phone is not null limit 4, 2", 200, "", 1},
		{"select Subject from Calls where Call_Start_Time in ('2025-01-01T12:00:00+02:00')", 200, "", 1},
		{"select Subject from Calls where (Call_Start_Time >= '2025-01-01T10:00:01+00:00' and Call_Start_Time <= '2025-01-02T00:00:00+00:00')", 204, "", 0},
		{"select Subject from Calls where Call_Start_Time = 'yesterday'", 400, "INVALID_QUERY", 0},
		{"select Subject from Calls where Subject > 'a'", 400, "INVALID_QUERY", 0},
	}
	for _, tc := range tests {
		code, body := coql(t, s, tok, tc.q)
		if code != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.q, code, body, tc.status)
			continue
		}
		if tc.code != "" && body["code"] != tc.code {
			t.Errorf("%s: code %v, want %s", tc.q, body["code"], tc.code)
		}
		if code == 204 && body != nil {
			t.Errorf("%s: 204 with a body", tc.q)
		}
		if code == 200 {
			if rows := body["data"].([]any); len(rows) != tc.rows {
				t.Errorf("%s: %d rows, want %d", tc.q, len(rows), tc.rows)
			}
		}
	}
	// 26 criteria, bracketed in pairs.
	where := "Phone = '0'"
	for i := 1; i < 26; i++ {
		where = fmt.Sprintf("(%s or Phone = '%d')", where, i)
	}
	if code, body := coql(t, s, tok, "select Phone from Contacts where "+where); code != 400 || body["code"] != "LIMIT_EXCEEDED" {
		t.Errorf("26 criteria: %d %v", code, body)
	}
	// Paging and shapes.
	code, body := coql(t, s, tok, "select Phone, Owner, Created_Time from Contacts where Phone is not null limit 2")
	info := body["info"].(map[string]any)
	row := body["data"].([]any)[0].(map[string]any)
	if code != 200 || info["more_records"] != true || info["count"] != float64(2) || row["id"] == nil ||
		row["Owner"].(map[string]any)["id"] != s.AdminUserID() || !strings.HasSuffix(row["Created_Time"].(string), "+02:00") {
		t.Errorf("paging/shape: %d %v", code, body)
	}
}

func TestInsertLimitsAndPartialFailure(t *testing.T) {
	s := NewServer()
	defer s.Close()
	tok := accessTok(t, s)
	callRec := func(subject, duration string) map[string]any {
		return map[string]any{"Subject": subject, "Call_Type": "Inbound", "Call_Start_Time": "2025-01-01T10:00:00+00:00", "Call_Duration": duration}
	}
	var many []map[string]any
	for i := range 101 {
		many = append(many, callRec(fmt.Sprint(i), "01:00"))
	}
	if code, body := call(t, s, tok, http.MethodPost, "/crm/v8/Calls", map[string]any{"data": many}); code != 400 || body["code"] != "LIMIT_EXCEEDED" {
		t.Errorf("101 records: %d %v", code, body)
	}
	s.FailRecords(func(m string, r map[string]any) bool { return r["Subject"] == "b" }, "INTERNAL_ERROR", "boom", 1)
	withWhat := callRec("what", "01:00")
	withWhat["What_Id"] = map[string]any{"id": "1"}
	unknown := callRec("unknown", "01:00")
	unknown["Bogus"] = "x"
	future := callRec("future", "01:00")
	future["Call_Start_Time"] = time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05-07:00")
	zulu := callRec("zulu", "01:00")
	zulu["Call_Start_Time"] = "2025-01-01T10:00:00Z"
	code, body := call(t, s, tok, http.MethodPost, "/crm/v8/Calls", map[string]any{"data": []any{
		callRec("a", "01:00"), callRec("b", "01:00"), callRec("zero", "00:00"), withWhat, unknown, future, zulu, callRec("bad", "1h"),
	}})
	if code != http.StatusMultiStatus {
		t.Fatalf("mixed batch: %d %v", code, body)
	}
	want := []string{"SUCCESS", "INTERNAL_ERROR", "DEPENDENT_MISMATCH", "MANDATORY_NOT_FOUND", "INVALID_DATA", "INVALID_DATA", "INVALID_DATA", "INVALID_DATA"}
	for i, r := range body["data"].([]any) {
		if got := r.(map[string]any)["code"]; got != want[i] {
			t.Errorf("record %d: %v, want %s", i, r, want[i])
		}
	}
	if n := len(s.Records("Calls")); n != 1 {
		t.Errorf("%d calls stored, want 1", n)
	}
	// All failing: 400 with per-record data.
	code, body = call(t, s, tok, http.MethodPost, "/crm/v8/Calls", map[string]any{"data": []any{callRec("zero", "00:00")}})
	if code != 400 || len(body["data"].([]any)) != 1 {
		t.Errorf("all failing: %d %v", code, body)
	}
	// Upsert is not supported for Calls; a custom module upserts on its unique field.
	if code, body := call(t, s, tok, http.MethodPost, "/crm/v8/Calls/upsert", map[string]any{"data": []any{callRec("a", "01:00")}}); code != 400 || body["code"] != "NOT_SUPPORTED" {
		t.Errorf("Calls upsert: %d %v", code, body)
	}
	s.AddActivityModule("CCSP")
	for i, action := range []string{"insert", "update"} {
		code, body := call(t, s, tok, http.MethodPost, "/crm/v8/CCSP/upsert", map[string]any{
			"data": []any{map[string]any{"Name": "n", "CCSPCallID": "X-1", "DurationMins": 1 + i}}, "duplicate_check_fields": []string{"CCSPCallID"}})
		r := body["data"].([]any)[0].(map[string]any)
		if code >= 300 || r["action"] != action {
			t.Errorf("upsert %d: %d %v, want action %s", i, code, body, action)
		}
	}
	if recs := s.Records("CCSP"); len(recs) != 1 || recs[0]["DurationMins"] != 2.0 {
		t.Errorf("upserted records %v", recs)
	}
	if code, body := call(t, s, tok, http.MethodPost, "/crm/v8/CCSP/upsert", map[string]any{
		"data": []any{map[string]any{"Name": "n"}}, "duplicate_check_fields": []string{"Subject"}}); code != 400 || body["code"] != "INVALID_DATA" {
		t.Errorf("upsert on a non-unique field: %d %v", code, body)
	}
	// Unique field: a second insert of the same id is DUPLICATE_DATA with the record.
	code, body = call(t, s, tok, http.MethodPost, "/crm/v8/CCSP", map[string]any{"data": []any{map[string]any{"Name": "n", "CCSPCallID": "x-1"}}})
	r := body["data"].([]any)[0].(map[string]any)
	if code != 400 || r["code"] != "DUPLICATE_DATA" || r["details"].(map[string]any)["duplicate_record"].(map[string]any)["id"] != s.Records("CCSP")[0]["id"] {
		t.Errorf("duplicate insert: %d %v", code, body)
	}
	// Update of an unknown id.
	code, body = call(t, s, tok, http.MethodPut, "/crm/v8/Calls", map[string]any{"data": []any{map[string]any{"id": "42", "Subject": "x"}}})
	if code != 400 || body["data"].([]any)[0].(map[string]any)["code"] != "INVALID_DATA" {
		t.Errorf("update of an unknown id: %d %v", code, body)
	}
}

func TestUsersAndFaults(t *testing.T) {
	s := NewServer()
	defer s.Close()
	for i := range 3 {
		s.AddUser(User{Email: fmt.Sprintf("u%d@x", i), FullName: "U", Active: i != 1, Fields: map[string]string{"Enreach_Id": fmt.Sprint(i)}})
	}
	tok := accessTok(t, s)
	code, body := call(t, s, tok, http.MethodGet, "/crm/v8/users?type=ActiveUsers&per_page=2&page=2", nil)
	users := body["users"].([]any)
	if code != 200 || len(users) != 1 || body["info"].(map[string]any)["more_records"] != false || users[0].(map[string]any)["Enreach_Id"] != "2" {
		t.Errorf("page 2: %d %v", code, body)
	}
	if code, _ := call(t, s, tok, http.MethodGet, "/crm/v8/users?type=ActiveUsers&page=3&per_page=2", nil); code != 204 {
		t.Errorf("past the last page: %d", code)
	}
	if code, _ := call(t, s, tok, http.MethodGet, "/crm/v8/users?per_page=201", nil); code != 400 {
		t.Errorf("per_page 201: %d", code)
	}
	s.Fail(Fault{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
	if code, body := call(t, s, tok, http.MethodGet, "/crm/v8/users", nil); code != 429 || body["code"] != "TOO_MANY_REQUESTS" {
		t.Errorf("throttled: %d %v", code, body)
	}
	s.Fail(Fault{Status: 503})
	if code, _ := call(t, s, tok, http.MethodGet, "/crm/v8/users", nil); code != 503 {
		t.Errorf("5xx: %d", code)
	}
	if code, _ := call(t, s, tok, http.MethodGet, "/crm/v8/users", nil); code != 200 {
		t.Errorf("after faults: %d", code)
	}
	if n := s.APIRequests(); n != 6 {
		t.Errorf("%d requests counted, want 6", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := NewServer()
	defer s.Close()
	tok := accessTok(t, s)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(t, s, tok, http.MethodPost, "/crm/v8/Contacts", map[string]any{"data": []any{map[string]any{"Last_Name": fmt.Sprint(i), "Phone": "1"}}})
			coql(t, s, tok, "select Phone from Contacts where Phone = '1'")
		}()
	}
	wg.Wait()
	if n := len(s.Records("Contacts")); n != 8 {
		t.Errorf("%d contacts, want 8", n)
	}
}

// A decimal in a Number (integer) field is refused with the body of the
// v8 records API example "InvalidDataType" (zoho/crm-oas v8.0 records
// examples: INVALID_DATA, expected_data_type integer), for every integer
// field of a module; whole numbers are stored.
func TestIntegerFieldRefusesDecimal(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.AddActivityModule("CCSP_Calls")
	s.AddField("Leads", "Number_1", Field{Type: Integer})
	tok := accessTok(t, s)
	for _, tc := range []struct{ module, field string }{{"CCSP_Calls", "DurationMins"}, {"Leads", "Number_1"}} {
		rec := map[string]any{tc.field: 1.5}
		if tc.module == "CCSP_Calls" {
			rec["Name"], rec["CCSPCallID"] = "x", "c1"
		} else {
			rec["Last_Name"] = "L"
		}
		st, body := call(t, s, tok, http.MethodPost, "/crm/v8/"+tc.module, map[string]any{"data": []any{rec}})
		data, _ := body["data"].([]any)
		if st != http.StatusBadRequest || len(data) != 1 {
			t.Fatalf("%s.%s = 1.5: %d %v, want 400 with one result", tc.module, tc.field, st, body)
		}
		got, _ := json.Marshal(data[0])
		want := fmt.Sprintf(`{"code":"INVALID_DATA","details":{"api_name":%q,"expected_data_type":"integer","json_path":"$.data[0].%s"},"message":"invalid data","status":"error"}`, tc.field, tc.field)
		if string(got) != want {
			t.Errorf("%s.%s = 1.5:\n got %s\nwant %s", tc.module, tc.field, got, want)
		}
		rec[tc.field] = 2
		if st, body := call(t, s, tok, http.MethodPost, "/crm/v8/"+tc.module, map[string]any{"data": []any{rec}}); st != http.StatusCreated {
			t.Errorf("%s.%s = 2: %d %v, want 201", tc.module, tc.field, st, body)
		}
	}
}

// settings/modules and settings/fields answer in the shapes of the v8
// examples (zoho/crm-oas v8.0 getModules, getFields), and follow the org's
// shape: hidden fields are absent, profile read-only fields say so, a
// changed type and a removed field or module show.
func TestMetadata(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.AddActivityModule("CCSP_Calls")
	tok := accessTok(t, s)
	fields := func(module string) (int, map[string]map[string]any) {
		st, body := call(t, s, tok, http.MethodGet, "/crm/v8/settings/fields?module="+module, nil)
		out := map[string]map[string]any{}
		list, _ := body["fields"].([]any)
		for _, f := range list {
			m := f.(map[string]any)
			out[m["api_name"].(string)] = m
		}
		return st, out
	}
	st, body := call(t, s, tok, http.MethodGet, "/crm/v8/settings/modules", nil)
	mods := map[string]map[string]any{}
	for _, m := range body["modules"].([]any) {
		mm := m.(map[string]any)
		mods[mm["api_name"].(string)] = mm
	}
	if st != 200 || mods["Calls"]["generated_type"] != "default" || mods["CCSP_Calls"]["generated_type"] != "custom" || mods["CCSP_Calls"]["api_supported"] != true {
		t.Fatalf("modules: %d %v", st, mods)
	}
	st, fs := fields("CCSP_Calls")
	d := fs["DurationMins"]
	if st != 200 || d["data_type"] != "integer" || d["json_type"] != "integer" || d["read_only"] != false || d["field_read_only"] != false || d["visible"] != true {
		t.Fatalf("DurationMins: %d %v", st, d)
	}
	if op := d["operation_type"].(map[string]any); op["api_create"] != true || op["api_update"] != true {
		t.Errorf("DurationMins operation_type %v", op)
	}
	if fs["Subject"]["length"] != 255.0 || fs["Subject"]["data_type"] != "text" || fs["CCSPCallID"]["unique"].(map[string]any)["case_sensitive"] != false {
		t.Errorf("Subject %v / CCSPCallID %v", fs["Subject"], fs["CCSPCallID"])
	}
	if fs["Created_Time"]["field_read_only"] != true {
		t.Errorf("Created_Time %v", fs["Created_Time"])
	}

	s.HideField("Contacts", "Mobile")
	s.SetFieldReadOnlyForProfile("Contacts", "Home_Phone")
	s.SetFieldType("CCSP_Calls", "DurationMins", Text, 10)
	s.RemoveField("CCSP_Calls", "Recording")
	_, cf := fields("Contacts")
	if _, ok := cf["Mobile"]; ok {
		t.Errorf("hidden Mobile listed: %v", cf["Mobile"])
	}
	if hp := cf["Home_Phone"]; hp["read_only"] != true || hp["profiles"].([]any)[0].(map[string]any)["permission_type"] != "read_only" {
		t.Errorf("Home_Phone %v", hp)
	}
	if st, body := coql(t, s, tok, "select id, Mobile from Contacts where Mobile = '1'"); st != 400 || body["code"] != "INVALID_QUERY" {
		t.Errorf("COQL on a hidden field: %d %v", st, body)
	}
	_, fs = fields("CCSP_Calls")
	if fs["DurationMins"]["data_type"] != "text" || fs["DurationMins"]["length"] != 10.0 || fs["Recording"] != nil {
		t.Errorf("after changes: DurationMins %v Recording %v", fs["DurationMins"], fs["Recording"])
	}

	s.RemoveModule("CCSP_Calls")
	st, body = call(t, s, tok, http.MethodGet, "/crm/v8/settings/fields?module=CCSP_Calls", nil)
	if st != 400 || body["code"] != "INVALID_MODULE" || body["details"].(map[string]any)["param_name"] != "module" {
		t.Errorf("removed module: %d %v", st, body)
	}
	st, body = call(t, s, tok, http.MethodGet, "/crm/v8/settings/fields", nil)
	if st != 400 || body["code"] != "REQUIRED_PARAM_MISSING" {
		t.Errorf("no module: %d %v", st, body)
	}
	st, body = call(t, s, tok, http.MethodGet, "/crm/v8/users?type=CurrentUser", nil)
	if us, _ := body["users"].([]any); st != 200 || len(us) != 1 || us[0].(map[string]any)["id"] != s.AdminUserID() {
		t.Errorf("current user: %d %v", st, body)
	}
}
