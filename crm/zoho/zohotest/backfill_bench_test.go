package zohotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// backfillBodies are the request bodies of one backfill write batch of 200
// calls as the zoho client sends them, the calls numbered from first and a
// second apart from start: the existing-call check (COQL, Call_Start_Time
// in the 200 start times), two inserts of 100 Calls records, and the
// existing-activity search (COQL, the callers' numbers in a time range).
func backfillBodies(first int, start time.Time, contact, owner string) (check, find []byte, inserts [2][]byte) {
	const layout = "2006-01-02T15:04:05-07:00"
	var lits, nums []string
	recs := make([]map[string]any, 0, 200)
	for i := first; i < first+200; i++ {
		at := start.Add(time.Duration(i) * time.Second).UTC()
		lits = append(lits, "'"+at.Format(layout)+"'")
		num := fmt.Sprintf("+35840%07d", i%5000)
		nums = append(nums, "'"+num+"'")
		id := fmt.Sprintf("0f6b2c1e-9f7a-4f6e-8d52-%012d", i)
		recs = append(recs, map[string]any{
			"Subject":                  "[Incoming] VOIP Call " + at.Format("02/01/2006, 15:04:05"),
			"Call_Type":                "Inbound",
			"Description":              "Incoming direct call, answered\nCustomer: " + num + "\n\nEnreach call ID: " + id,
			"Call_Start_Time":          at.Format(layout),
			"Call_Duration":            "03:07",
			"Caller_ID":                num,
			"Dialled_Number":           "+358201234567",
			"Owner":                    map[string]any{"id": owner},
			"Who_Id":                   map[string]any{"id": contact},
			"Telephony_External_ID__s": id,
		})
	}
	in := func(field string, lits []string) string {
		return fmt.Sprintf("(%s in (%s) or %s in (%s))", field, strings.Join(lits[:100], ","), field, strings.Join(lits[100:], ","))
	}
	check, _ = json.Marshal(map[string]string{"select_query": "select id, Call_Start_Time, Description from Calls where " +
		in("Call_Start_Time", lits) + " limit 200 offset 0"})
	from, to := start.Add(time.Duration(first)*time.Second).UTC(), start.Add(time.Duration(first+200)*time.Second).UTC()
	find, _ = json.Marshal(map[string]string{"select_query": "select id, Call_Start_Time, Caller_ID, Dialled_Number, Description from Calls where (" +
		in("Caller_ID", nums) + " and (Call_Start_Time >= '" + from.Format(layout) + "' and Call_Start_Time <= '" + to.Format(layout) + "')) limit 1000 offset 0"})
	for k := range inserts {
		inserts[k], _ = json.Marshal(map[string]any{"data": recs[k*100 : k*100+100], "trigger": []string{}})
	}
	return check, find, inserts
}

// BenchmarkBackfillBatch serves what one write batch of a Zoho backfill
// asks of the double (backfillBodies): the Calls module grows by 200
// calls per op, as in the bench's backfill.
func BenchmarkBackfillBatch(b *testing.B) {
	s := NewServer()
	defer s.Close()
	contact := s.AddRecord("Contacts", map[string]any{"Last_Name": "Customer", "Mobile": "+358401002543"})
	w := httptest.NewRecorder()
	s.serveAccounts(w, httptest.NewRequest(http.MethodPost, "/oauth/v2/token?"+validGrant(s).Encode(), nil))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("grant: %s", w.Body)
	}
	serve := func(method, path string, body []byte, want int) {
		r := httptest.NewRequest(method, apiPrefix+path, strings.NewReader(string(body)))
		r.Header.Set("Authorization", "Zoho-oauthtoken "+tok.AccessToken)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.serveAPI(w, r)
		if w.Code != want {
			b.Fatalf("%s %s: %d %.300s", method, path, w.Code, w.Body)
		}
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		b.StopTimer()
		check, find, inserts := backfillBodies(n*200, start, contact, s.AdminUserID())
		n++
		b.StartTimer()
		serve(http.MethodPost, "/coql", check, http.StatusNoContent)
		serve(http.MethodPost, "/Calls", inserts[0], http.StatusCreated)
		serve(http.MethodPost, "/Calls", inserts[1], http.StatusCreated)
		serve(http.MethodPost, "/coql", find, http.StatusOK)
	}
}
