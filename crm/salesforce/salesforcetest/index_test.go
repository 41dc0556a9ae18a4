package salesforcetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// scanQuery answers a SOQL where clause by testing every record of the
// object, as the double did before it had an index.
func scanQuery(t *testing.T, s *Server, q string) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	sq, err := s.parseSOQL(q)
	if err != nil {
		t.Fatalf("%s: %s", q, err.msg)
	}
	var out []string
	for _, rec := range s.records[sq.obj.name] {
		ok := true
		for _, c := range sq.conds {
			ok = ok && c.eval(rec)
		}
		if ok {
			out = append(out, rec["Id"].(string))
		}
	}
	return out
}

// indexQuery answers q as a request does.
func indexQuery(t *testing.T, s *Server, q string) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.QueryPageSize = 100000
	code, ans := s.query("62.0", q)
	if code != 200 {
		t.Fatalf("%s: %d %v", q, code, ans)
	}
	var out []string
	for _, r := range ans.(map[string]any)["records"].([]any) {
		b, _ := json.Marshal(r)
		var rec map[string]any
		_ = json.Unmarshal(b, &rec)
		out = append(out, rec["Id"].(string))
	}
	return out
}

// upsertTasks runs a composite upsert by the external id field and returns
// each record's outcome as "created <id>", "updated <id>" or the error codes.
func upsertTasks(t *testing.T, s *Server, recs ...map[string]any) []string {
	t.Helper()
	var raw []json.RawMessage
	for _, r := range recs {
		r["attributes"] = map[string]any{"type": "Task"}
		b, _ := json.Marshal(r)
		raw = append(raw, b)
	}
	body, _ := json.Marshal(map[string]any{"allOrNone": false, "records": raw})
	s.mu.Lock()
	defer s.mu.Unlock()
	code, ans := s.upsertCollection("62.0", "Task", s.cfg.ExternalIDField, body, nil)
	if code != 200 {
		t.Fatalf("upsert: %d %v", code, ans)
	}
	var out []string
	for _, res := range ans.([]map[string]any) {
		switch {
		case res["success"] == true && res["created"] == true:
			out = append(out, fmt.Sprint("created ", res["id"]))
		case res["success"] == true:
			out = append(out, fmt.Sprint("updated ", res["id"]))
		default:
			b, _ := json.Marshal(res["errors"])
			out = append(out, string(b))
		}
	}
	return out
}

// The value index only narrows: after records are added, updated (seeded,
// upserted, updated by id) and deleted, every query answers the same
// records, in the same order, as a scan; an upsert finds the records a
// scan of the external ids would.
func TestSOQLIndexAnswersAsAScan(t *testing.T) {
	s := NewServer(Config{Username: "u@example.invalid"})
	defer s.Close()
	start := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	var accounts, contacts, tasks []string
	for i := range 3 {
		accounts = append(accounts, s.Add("Account", map[string]any{"Name": fmt.Sprintf("A%d", i)}))
	}
	for i := range 6 {
		contacts = append(contacts, s.Add("Contact", map[string]any{"LastName": fmt.Sprintf("C%d", i), "AccountId": accounts[i%3]}))
	}
	for i := range 40 {
		f := map[string]any{"Subject": fmt.Sprintf("Call %d", i), "TaskSubtype": "Call",
			"Enreach_Number__c": fmt.Sprintf("+35840%d", i%7), "Enreach_Call_Start__c": start.Add(time.Duration(i%5) * time.Hour),
			"Enreach_Call_Id__c": fmt.Sprintf("K%d", i)}
		if i%4 == 0 {
			f["WhoId"] = contacts[i%6]
		}
		if i%5 == 0 {
			f["WhatId"] = accounts[i%3]
		}
		if i%9 == 0 {
			f["TaskSubtype"] = "Task"
		}
		tasks = append(tasks, s.Add("Task", f))
	}
	// A seed may store a value that is not text in a text field: a scan
	// compares it too (an int64 0 equals any text literal, compare's zero value).
	s.Add("Task", map[string]any{"Subject": "odd", "Enreach_Number__c": 0, "Enreach_Call_Id__c": 7})
	s.Add("Task", map[string]any{"Subject": "no number"})
	// And in a dateTime field: text (after every time literal, which a scan
	// compares as ""), an int64 0 (a scan compares a time literal with it as
	// 0, so it lies in every range) and the zero time (equal to any text
	// literal).
	s.Add("Task", map[string]any{"Subject": "odd start", "Enreach_Call_Start__c": "x"})
	s.Add("Task", map[string]any{"Subject": "odd start", "Enreach_Call_Start__c": int64(0)})
	s.Add("Task", map[string]any{"Subject": "zero start", "Enreach_Call_Start__c": time.Time{}, "Enreach_Number__c": time.Time{}})
	ranges := []string{
		"SELECT Id FROM Task WHERE Enreach_Call_Start__c >= 2025-01-01T11:30:00Z AND Enreach_Call_Start__c <= 2025-01-01T13:00:00Z",
		"SELECT Id FROM Task WHERE Enreach_Call_Start__c > 2025-01-01T11:00:00Z AND Enreach_Call_Start__c < 2025-01-01T13:00:00Z AND Subject != 'x'",
		"SELECT Id FROM Task WHERE Enreach_Call_Start__c = 2025-01-01T12:00:00Z",
		"SELECT Id FROM Task WHERE Enreach_Call_Start__c >= 2025-01-01T10:00:00Z AND Enreach_Call_Start__c <= 2025-01-01T12:00:00Z AND " +
			"Enreach_Call_Start__c >= 2025-01-01T11:00:00Z AND Enreach_Call_Start__c != 2025-01-01T11:00:00Z",
		"SELECT Id FROM Task WHERE Enreach_Call_Start__c >= 2025-01-01T14:00:00Z AND Enreach_Call_Start__c <= 2025-01-01T12:00:00Z",
		"SELECT Id FROM Task WHERE TaskSubtype = 'Call' AND Enreach_Number__c IN ('+358401','+358402','+358403','+358404','+358405','+358406') AND " +
			"Enreach_Call_Start__c >= 2025-01-01T11:00:00Z AND Enreach_Call_Start__c <= 2025-01-01T11:59:59Z",
	}
	queries := []string{
		"SELECT Id FROM Task WHERE Enreach_Number__c = '+358401'",
		"SELECT Id FROM Task WHERE Enreach_Number__c IN ('+358402','+358403','+358409')",
		"SELECT Id FROM Task WHERE TaskSubtype = 'Call' AND Enreach_Number__c IN ('+358404','+358405') AND " +
			"Enreach_Call_Start__c >= 2025-01-01T11:00:00Z AND Enreach_Call_Start__c <= 2025-01-01T13:00:00Z",
		"SELECT Id FROM Task WHERE TaskSubtype = 'call' AND CreatedDate >= 2000-01-01T00:00:00Z AND " +
			"(WhoId IN ('" + contacts[0] + "','" + contacts[4] + "') OR WhatId IN ('" + accounts[0] + "'))",
		"SELECT Id FROM Task WHERE Enreach_Call_Id__c IN ('k1','K2','k39','K40')",
		"SELECT Id FROM Task WHERE Id IN ('" + strings.ToLower(tasks[3]) + "','" + tasks[5] + "','" + tasks[38] + "')",
		"SELECT Id FROM Task WHERE Enreach_Number__c != '+358401'",
		"SELECT Id FROM Task WHERE Enreach_Number__c = null",
		"SELECT Id FROM Task WHERE Enreach_Number__c NOT IN ('+358401')",
		"SELECT Id FROM Task WHERE (Enreach_Number__c = '+358401' OR Subject LIKE 'call 2%')",
		"SELECT Id FROM Task WHERE (Enreach_Number__c = '+358406' OR Enreach_Call_Id__c = 'K3')",
		"SELECT Id FROM Contact WHERE AccountId IN ('" + accounts[1] + "')",
		"SELECT Id FROM Task WHERE AccountId = '" + accounts[2] + "'",
		"SELECT Id FROM Task WHERE Enreach_Call_Start__c >= 2025-01-01T11:00:00Z",
		"SELECT Id FROM Task WHERE Enreach_Number__c = '+358401' AND Enreach_Call_Start__c >= 2025-01-01T11:00:00Z",
	}
	queries = append(queries, ranges...)
	// The ranges are answered from the hours of the index, not a scan.
	s.mu.Lock()
	for _, q := range ranges {
		sq, err := s.parseSOQL(q)
		if err != nil {
			t.Fatalf("%s: %s", q, err.msg)
		}
		if _, ok := s.timeRange(sq.obj.name, sq.conds); !ok {
			t.Errorf("%s: not answered from the index", q)
		}
	}
	s.mu.Unlock()
	check := func(step string) {
		t.Helper()
		for _, q := range queries {
			want, got := scanQuery(t, s, q), indexQuery(t, s, q)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s\n got %v\nwant %v", step, q, got, want)
			}
		}
	}
	check("seeded")
	s.Update(tasks[1], map[string]any{"Enreach_Number__c": "+358402", "WhoId": contacts[4]})
	s.Update(tasks[2], map[string]any{"Enreach_Number__c": nil})
	s.Update(tasks[6], map[string]any{"Enreach_Call_Start__c": start.Add(90 * time.Minute)})
	s.Update(tasks[7], map[string]any{"Enreach_Call_Start__c": nil})
	if got := upsertTasks(t, s, map[string]any{"Enreach_Call_Id__c": "k10", "Subject": "moved", "Enreach_Number__c": "+358409"},
		map[string]any{"Enreach_Call_Id__c": "K100", "Enreach_Number__c": "+358401"}); !strings.HasPrefix(got[0], "updated "+tasks[10]) ||
		!strings.HasPrefix(got[1], "created ") {
		t.Errorf("upsert: %v", got)
	}
	s.mu.Lock()
	code, ans := s.updateCollection("62.0", []byte(`{"allOrNone":false,"records":[{"attributes":{"type":"Task"},"Id":"`+
		tasks[3]+`","Enreach_Number__c":"+358406","WhatId":"`+accounts[2]+`"}]}`), nil)
	s.mu.Unlock()
	if code != 200 || ans.([]map[string]any)[0]["success"] != true {
		t.Fatalf("update by id: %d %v", code, ans)
	}
	check("updated")
	s.Delete(tasks[5])
	s.Delete(tasks[39])
	check("deleted")
	var late []string
	for i := range 5 {
		late = append(late, s.Add("Task", map[string]any{"Subject": fmt.Sprintf("late %d", i), "TaskSubtype": "Call", "Enreach_Number__c": "+358401",
			"WhoId": contacts[0], "Enreach_Call_Id__c": fmt.Sprintf("K%d", 40+i%2)}))
	}
	check("added after")

	// Upsert by external id: case-insensitive, every holder in creation
	// order, a changed or deleted value no longer found.
	if got := upsertTasks(t, s, map[string]any{"Enreach_Call_Id__c": "k40", "Subject": "dup"}); !strings.Contains(got[0], "DUPLICATE_EXTERNAL_ID") ||
		!strings.Contains(got[0], "["+late[0]+", "+late[2]+", "+late[4]+"]") {
		t.Errorf("two holders of K40: %v", got)
	}
	s.Update(tasks[20], map[string]any{"Enreach_Call_Id__c": "K20b"})
	if got := upsertTasks(t, s, map[string]any{"Enreach_Call_Id__c": "K20", "Subject": "new"},
		map[string]any{"Enreach_Call_Id__c": "k20B", "Subject": "renamed"},
		map[string]any{"Enreach_Call_Id__c": "K39", "Subject": "deleted"}); !strings.HasPrefix(got[0], "created ") ||
		got[1] != "updated "+tasks[20] || !strings.HasPrefix(got[2], "created ") {
		t.Errorf("after update and delete: %v", got)
	}
	check("upserted")
}
