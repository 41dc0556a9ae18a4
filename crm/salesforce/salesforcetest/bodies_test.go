package salesforcetest_test

import (
	"fmt"
	"strings"
	"testing"
)

// The values a request stores are its own: requests after it, read into
// the buffer its body was read into, do not change them.
func TestStoredValuesOutliveTheirRequest(t *testing.T) {
	srv := newOrg(t)
	tok := session(t, srv)
	contact := srv.Add("Contact", map[string]any{"LastName": "C", "AccountId": srv.Add("Account", map[string]any{"Name": "A"})})
	task := func(ext, subject string) map[string]any {
		return map[string]any{"Enreach_Call_Id__c": ext, "Subject": subject, "TaskSubtype": "Call", "Status": "Completed",
			"CallType": "Inbound", "CallDurationInSeconds": 42, "ActivityDate": "2026-01-02", "WhoId": contact,
			"Description": "first " + ext, "Enreach_Call_Start__c": "2026-01-02T10:00:00.250Z"}
	}
	want := map[string]string{}
	for i := range 12 {
		var recs []map[string]any
		for j := range 10 + 15*i {
			ext := fmt.Sprintf("k%d-%d", i, j)
			subject := fmt.Sprintf("Call %d of batch %d %s", j, i, strings.Repeat("x", i))
			want[ext] = subject
			recs = append(recs, task(ext, subject))
		}
		if status, res, body := upsert(t, srv, tok, false, recs...); status != 200 || len(res) != len(recs) || !res[0].Success {
			t.Fatalf("batch %d: %d %s", i, status, body)
		}
	}
	got := map[string]string{}
	for _, r := range srv.Tasks() {
		ext := r.String("Enreach_Call_Id__c")
		got[ext] = r.String("Subject")
		if d := r.String("Description"); d != "first "+ext {
			t.Errorf("%s: Description %q", ext, d)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d tasks stored, want %d", len(got), len(want))
	}
	for ext, subject := range want {
		if got[ext] != subject {
			t.Errorf("%s: Subject %q, want %q", ext, got[ext], subject)
		}
	}
}
