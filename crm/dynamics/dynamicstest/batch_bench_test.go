package dynamicstest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// writesBatch is a $batch body as the backfill sends it: per call a
// changeset that creates the phone call (with its parties, owner and
// regarding contact) and closes it with PATCH $n. Calls are numbered from
// first; contact and user are existing ids.
func writesBatch(first, calls int, contact, user string) (contentType string, body []byte) {
	var b strings.Builder
	for i := first; i < first+calls; i++ {
		cs := fmt.Sprintf("changeset_%08d", i)
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		b.WriteString("--batch_1\r\nContent-Type: multipart/mixed; boundary=\"" + cs + "\"\r\n\r\n")
		b.WriteString("--" + cs + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n")
		b.WriteString("POST " + APIPath + "/phonecalls HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n")
		fmt.Fprintf(&b, `{"activityid":%q,"actualdurationminutes":5,"actualend":"2026-12-06T09:26:11Z","actualstart":"2026-12-06T09:20:17Z",`+
			`"description":"CallId is %s\nIncoming direct call\nCustomer: +358401002543\nUser: agent38@bench.example\nStart: 2026-12-06 09:20:17 UTC\nDuration: 5m47s",`+
			`"directioncode":false,"ownerid@odata.bind":"/systemusers(%s)","phonecall_activity_parties":[`+
			`{"participationtypemask":1,"partyid_contact@odata.bind":"/contacts(%s)"},{"participationtypemask":2,"partyid_systemuser@odata.bind":"/systemusers(%s)"}],`+
			`"phonenumber":"+358401002543","regardingobjectid_contact_phonecall@odata.bind":"/contacts(%s)","subject":"Incoming direct call"}`,
			id, id, user, contact, user, contact)
		b.WriteString("\r\n--" + cs + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n")
		b.WriteString("PATCH $1 HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n{\"statecode\":1,\"statuscode\":4}\r\n")
		b.WriteString("--" + cs + "--\r\n")
	}
	b.WriteString("--batch_1--\r\n")
	return `multipart/mixed; boundary="batch_1"`, []byte(b.String())
}

// BenchmarkParseBatch reads a backfill's $batch of 100 calls.
func BenchmarkParseBatch(b *testing.B) {
	_, body := writesBatch(0, 100, "c", "u")
	for _, impl := range []struct {
		name  string
		parse func([]byte, string) ([]batchItem, error)
	}{{"bytes", parseBatch}, {"multipart", parseBatchMultipart}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if items, err := impl.parse(body, "batch_1"); err != nil || len(items) != 100 {
					b.Fatalf("%d items, %v", len(items), err)
				}
			}
		})
	}
}

// BenchmarkBatchOfWrites serves a backfill's $batch of 100 calls, each
// op's calls new ones: the table grows by 100 calls per op.
func BenchmarkBatchOfWrites(b *testing.B) {
	s := NewServer(Options{})
	defer s.Close()
	contact := s.AddContact(Record{Name: "Customer", Phones: map[string]string{"telephone1": "+358401002543"}})
	user := s.AddUser(User{Name: "Agent", Email: "agent38@bench.example"})
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		b.StopTimer()
		ct, body := writesBatch(n*100, 100, contact, user)
		r := httptest.NewRequest(http.MethodPost, APIPath+"/$batch", nil)
		r.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		b.StartTimer()
		s.serveBatch(w, r, body)
		if w.Code != http.StatusOK || strings.Count(w.Body.String(), "HTTP/1.1 204") != 200 {
			b.Fatalf("%d %.500s", w.Code, w.Body)
		}
		n++
	}
}

// BenchmarkBatchOfWritesConcurrent serves a backfill's $batch of 100
// calls from 4 goroutines per CPU at once, as a backfill keeps 4 batches
// in flight: ns/op is the time per batch with the others running.
func BenchmarkBatchOfWritesConcurrent(b *testing.B) {
	s := NewServer(Options{})
	defer s.Close()
	contact := s.AddContact(Record{Name: "Customer", Phones: map[string]string{"telephone1": "+358401002543"}})
	user := s.AddUser(User{Name: "Agent", Email: "agent38@bench.example"})
	bodies := make(chan []byte, b.N)
	for i := range b.N {
		_, body := writesBatch(i*100, 100, contact, user)
		bodies <- body
	}
	close(bodies)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := serveTestBatch(s, <-bodies, false)
			if w.Code != http.StatusOK || strings.Count(w.Body.String(), "HTTP/1.1 204") != 200 {
				b.Errorf("%d %.500s", w.Code, w.Body)
				return
			}
		}
	})
}
