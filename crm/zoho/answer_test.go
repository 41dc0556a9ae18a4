package zoho

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// insertAnswer is Zoho's answer to an insert of n Calls records, as the
// insert-records page shows it.
func insertAnswer(n int) string {
	var b strings.Builder
	b.WriteString(`{"data":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"code":"SUCCESS","details":{"Modified_Time":"2026-11-20T10:22:23+05:30","Modified_By":{"name":"Patricia Boyle","id":"554023000000235011"},`+
			`"Created_Time":"2026-11-20T10:22:23+05:30","id":"5540230000%08d","Created_By":{"name":"Patricia Boyle","id":"554023000000235011"},"$approval_state":"approved"},`+
			`"message":"record added","status":"success"}`, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

// same reports whether two readings of an answer are the same to their
// readers: the strings, the id and the details.
func same(a, b []recordResult) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Code != y.Code || x.Status != y.Status || x.Message != y.Message || x.Action != y.Action ||
			x.id() != y.id() || x.apiName() != y.apiName() || x.duplicateID() != y.duplicateID() ||
			!reflect.DeepEqual(x.detailMap(), y.detailMap()) || x.err().Error() != y.err().Error() {
			return false
		}
	}
	return true
}

// decodeRecords reads what encoding/json reads, and leaves to it the
// answers its one-pass reader does not take.
func TestDecodeRecordsMatchesJSON(t *testing.T) {
	dup := `{"code":"DUPLICATE_DATA","details":{"api_name":"Call_ID","json_path":"$.data[0].Call_ID","duplicate_record":{"module":{"api_name":"Calls","id":"1"},"id":"554023000000999001"}},"message":"duplicate data","status":"error"}`
	for _, c := range []struct {
		name  string
		body  string
		plain bool // read in one pass
	}{
		{"insert of three", insertAnswer(3), true},
		{"mixed 207 with a duplicate", `{"data":[` + dup + `,{"code":"INVALID_DATA","details":{"api_name":"Call_Duration","expected_data_type":"string"},"message":"invalid data","status":"error"}]}`, true},
		{"upsert", `{"data":[{"code":"SUCCESS","duplicate_field":"CCSPCallID","action":"update","details":{"id":"7"},"message":"record updated","status":"success"}]}`, true},
		{"white space and other members", " {\"info\":{\"more\":false},\n \"data\" : [ {\"details\" :\t{\"id\" : \"8\", \"x\":[1,2.5e3,null,true]} , \"status\":\"success\"} ] }\n", true},
		{"details null", `{"data":[{"code":"SUCCESS","details":null,"status":"success"}]}`, true},
		{"id not a string", `{"data":[{"code":"SUCCESS","details":{"id":12},"status":"success"}]}`, true},
		{"id in a nested object only", `{"data":[{"details":{"Created_By":{"id":"9"}},"status":"success"}]}`, true},
		{"escaped strings", `{"data":[{"code":"SUCCESS","details":{"id":"\u0031\"2"},"message":"r\u00e9cord\n","status":"success"}]}`, true},
		{"empty data", `{"data":[]}`, true},
		{"no data", `{"status":"error","code":"INVALID_DATA"}`, true},
		{"member named in other case", `{"data":[{"Code":"SUCCESS","details":{"id":"1"},"status":"success"}]}`, false},
		{"data named in other case", `{"DATA":[{"code":"SUCCESS"}]}`, false},
		{"status null", `{"data":[{"code":"SUCCESS","status":null}]}`, false},
		{"status a number", `{"data":[{"code":"SUCCESS","status":1}]}`, false},
		{"details a string", `{"data":[{"code":"SUCCESS","details":"x"}]}`, false},
		{"element null", `{"data":[null]}`, false},
		{"data null", `{"data":null}`, false},
		{"duplicate id in details", `{"data":[{"details":{"id":"1","id":"2"},"status":"success"}]}`, false},
		{"duplicate status", `{"data":[{"status":"error","status":"success"}]}`, false},
		{"invalid UTF-8", "{\"data\":[{\"message\":\"\xff\",\"status\":\"success\"}]}", false},
		{"trailing data", `{"data":[]} x`, false},
		{"not an object", `[{"code":"SUCCESS"}]`, false},
		{"cut short", insertAnswer(2)[:200], false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, plain := decodeRecordsPlain([]byte(c.body))
			if plain != c.plain {
				t.Fatalf("read in one pass = %v, want %v", plain, c.plain)
			}
			want, werr := decodeRecordsJSON([]byte(c.body))
			all, aerr := decodeRecords([]byte(c.body))
			if (aerr == nil) != (werr == nil) || !same(all, want) {
				t.Fatalf("decodeRecords: %+v, %v\nencoding/json: %+v, %v", all, aerr, want, werr)
			}
			if plain && (werr != nil || !same(got, want)) {
				t.Fatalf("one pass: %+v\nencoding/json: %+v, %v", got, want, werr)
			}
		})
	}
	got, err := decodeRecords([]byte(`{"data":[` + dup + `]}`))
	if err != nil || len(got) != 1 || got[0].duplicateID() != "554023000000999001" || got[0].apiName() != "Call_ID" || got[0].id() != "" {
		t.Fatalf("duplicate: %+v, %v", got, err)
	}
	got, err = decodeRecords([]byte(insertAnswer(2)))
	if err != nil || len(got) != 2 || got[1].id() != "554023000000000001" || got[1].Status != "success" {
		t.Fatalf("insert: %+v, %v", got, err)
	}
}

// FuzzDecodeRecords: whatever the bytes, the one-pass reader either leaves
// them to encoding/json or reads what it reads.
func FuzzDecodeRecords(f *testing.F) {
	f.Add([]byte(insertAnswer(2)))
	f.Add([]byte(`{"data":[{"code":"DUPLICATE_DATA","details":{"api_name":"Call_ID","duplicate_record":{"id":"5"}},"message":"duplicate data","status":"error"}]}`))
	f.Add([]byte(`{"data":[{"code":"SUCCESS","details":null,"action":"insert","status":"success"}],"info":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, plain := decodeRecordsPlain(body)
		if !plain {
			return
		}
		want, err := decodeRecordsJSON(body)
		if err != nil || !same(got, want) {
			t.Fatalf("one pass: %+v\nencoding/json: %+v, %v", got, want, err)
		}
	})
}

// BenchmarkDecodeRecords is the per-call cost of reading an insert's
// answer of 100 Calls records (`go test -bench DecodeRecords
// ./crm/zoho`): decodeRecords, and encoding/json alone (decodeRecordsJSON,
// how every answer was read before).
func BenchmarkDecodeRecords(b *testing.B) {
	body := []byte(insertAnswer(100))
	for _, c := range []struct {
		name   string
		decode func([]byte) ([]recordResult, error)
	}{{"decodeRecords", decodeRecords}, {"encoding-json", decodeRecordsJSON}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out, err := c.decode(body); err != nil || len(out) != 100 || out[99].id() == "" {
					b.Fatal(err, len(out))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/call")
		})
	}
}
