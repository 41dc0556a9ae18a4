package dynamics

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// changesetOf is a changeset answer of n created phone calls, as Dynamics
// answers a changeset (Content-ID per part, 204 with OData-EntityId).
func changesetOf(boundary string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: %d\r\n\r\n"+
			"HTTP/1.1 204 No Content\r\nOData-EntityId: https://org.crm4.dynamics.com/api/data/v9.2/phonecalls(00000000-0000-0000-0000-%012d)\r\n\r\n\r\n", boundary, i, i)
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.String()
}

// BenchmarkDecodeBatch is the per-call cost of reading a $batch answer of
// 200 changesets, one per written phone call (`go test -bench DecodeBatch
// ./crm/dynamics`).
func BenchmarkDecodeBatch(b *testing.B) {
	var body strings.Builder
	for i := 0; i < 200; i++ {
		cs := fmt.Sprintf("changesetresponse_%d", i)
		body.WriteString("--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=" + cs + "\r\n\r\n" + changesetOf(cs, 1))
	}
	body.WriteString("--batchresponse_1--\r\n")
	raw := []byte(body.String())
	b.ReportAllocs()
	for b.Loop() {
		parts, err := decodeBatch("multipart/mixed; boundary=batchresponse_1", raw)
		if err != nil || len(parts) != 200 {
			b.Fatal(err, len(parts))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*200), "ns/call")
}

// BenchmarkEncodeBatch is the per-call cost of writing a $batch of 200
// changesets of one phone call each (`go test -bench EncodeBatch -benchmem
// ./crm/dynamics`): buffered is the body written into one buffer first
// (before batchBody), reader a batchBody read by 32 KB as net/http's
// transport copies a request body to the connection.
func BenchmarkEncodeBatch(b *testing.B) {
	body := []byte(`{"activityid":"9b2f5d3c-1a4e-5b6f-8c7d-0e1f2a3b4c5d","subject":"Incoming queue call","phonenumber":"+358401234567","directioncode":false,` +
		`"description":"CallId is 0f6b2c1e\nIncoming queue call, answered\nCustomer: +358401234567","new_audit":"` + strings.Repeat("x", 600) + `"}`)
	parts := make([]part, 200)
	for i := range parts {
		parts[i] = part{changeset: []op{{method: "POST", url: "/api/data/v9.2/phonecalls", cid: 1,
			header: [][2]string{{"Content-Type", "application/json"}, {"MSCRM.SuppressDuplicateDetection", "false"}}, body: body}}}
	}
	b.Run("buffered", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bb := newBatchBody(parts)
			if raw := bufferedBatch(parts, bb.boundary, bb.sets); len(raw) < 200*len(body) {
				b.Fatal(len(raw))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*200), "ns/call")
	})
	b.Run("reader", func(b *testing.B) {
		buf := make([]byte, 32<<10)
		b.ReportAllocs()
		for b.Loop() {
			r, _ := newBatchBody(parts).reader()
			n := 0
			for {
				k, err := r.Read(buf)
				n += k
				if err == io.EOF {
					break
				}
			}
			if n < 200*len(body) {
				b.Fatal(n)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*200), "ns/call")
	})
}
