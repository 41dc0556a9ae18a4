package salesforcetest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// upsertBody is a PATCH /composite/sobjects/Task/Enreach_Call_Id__c body of
// 200 Tasks as the salesforce client writes them in a backfill (taskFields:
// keys in sorted order), the calls numbered from first.
func upsertBody(first int, who string, start time.Time) []byte {
	var recs []string
	for i := first; i < first+200; i++ {
		at := start.Add(time.Duration(i) * time.Second).UTC()
		num := fmt.Sprintf("+35840%07d", i%5000)
		recs = append(recs, fmt.Sprintf(`{"attributes":{"type":"Task"},"ActivityDate":"%s","CallDisposition":"Answered",`+
			`"CallDurationInSeconds":%d,"CallObject":"0f6b2c1e-9f7a-4f6e-8d52-%012d","CallType":"Inbound",`+
			`"Description":"Incoming direct call, answered\nCustomer: %s","Enreach_Call_Id__c":"enreach-call-%012d",`+
			`"Enreach_Call_Start__c":"%s","Enreach_Number__c":"%s","Status":"Completed",`+
			`"Subject":"Call %s","TaskSubtype":"Call","WhoId":"%s"}`,
			at.Format(time.DateOnly), 60+i%600, i, num, i, at.Format("2006-01-02T15:04:05.000Z"), num, num, who))
	}
	return []byte(`{"allOrNone":false,"records":[` + strings.Join(recs, ",") + `]}`)
}

// BenchmarkUpsertCollection serves the backfill's Task upserts (200 new
// Tasks per op, through ServeHTTP, as the bench's Salesforce backfill
// sends them 450 times) to an org whose Task indexes the client's queries
// built (the external id, the number and the start field).
func BenchmarkUpsertCollection(b *testing.B) {
	s := NewServer(Config{Username: "u@example.invalid"})
	defer s.Close()
	who := s.Add("Contact", map[string]any{"LastName": "Customer", "Phone": "+358401234567"})
	s.mu.Lock()
	s.tokens["bench"] = true
	for _, f := range []string{s.cfg.ExternalIDField, "Enreach_Number__c", "Enreach_Call_Start__c"} {
		s.fieldIndex("Task", f)
	}
	s.mu.Unlock()
	start := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	bodies := make([][]byte, 50)
	for i := range bodies {
		bodies[i] = upsertBody(i*200, who, start)
	}
	url := s.URL + "/services/data/v62.0/composite/sobjects/Task/" + s.cfg.ExternalIDField
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%len(bodies) == 0 {
			b.StopTimer()
			for k := range bodies {
				bodies[k] = upsertBody((i+k)*200, who, start)
			}
			b.StartTimer()
		}
		req := httptest.NewRequest(http.MethodPatch, url, bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Authorization", "Bearer bench")
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"created":true`)) {
			b.Fatalf("upsert: %d %.300s", w.Code, w.Body.Bytes())
		}
	}
}
