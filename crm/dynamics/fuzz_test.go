package dynamics

import (
	"bufio"
	"reflect"
	"strings"
	"testing"
)

// A $batch answer as Dataverse sends it: one changeset that succeeded (two
// responses) and one GET answered on its own (OData 4.0 §11.7.4,
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api).
// A bodiless response's header ends with an empty line, and the CRLF before
// the next delimiter belongs to the delimiter (RFC 2046 §5.1.1), so a 204
// is followed by two empty lines, as in most of that page's example
// responses (one of them has one: TestBatchAnswerWithOneEmptyLineAfterA204).
// TestBatchSeedDecodes checks that the seeds reach the decoder's success
// path.
const batchSeed = "--batchresponse_1\r\n" +
	"Content-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n" +
	"--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n" +
	"HTTP/1.1 204 No Content\r\nOData-EntityId: https://org.crm4.dynamics.com/api/data/v9.2/phonecalls(00000000-0000-0000-0000-000000000001)\r\n\r\n\r\n" +
	"--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n" +
	"HTTP/1.1 204 No Content\r\n\r\n\r\n" +
	"--changesetresponse_2--\r\n" +
	"--batchresponse_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
	"HTTP/1.1 200 OK\r\nContent-Type: application/json; odata.metadata=minimal\r\n\r\n" +
	`{"value":[{"contactid":"c1","telephone1":"+358401234567"}]}` + "\r\n" +
	"--batchresponse_1--\r\n"

// decodeBatch reads any answer without a panic, and as mime/multipart and
// net/http read it (decodeMultipart).
func FuzzDecodeBatch(f *testing.F) {
	ct := "multipart/mixed; boundary=batchresponse_1"
	f.Add(ct, []byte(batchSeed))
	f.Add(ct, []byte(strings.Replace(batchSeed, "HTTP/1.1 204", "HTTP/1.1 4x", 1)))
	f.Add(ct, []byte(batchSeed[:len(batchSeed)/2]))
	f.Add("application/json", []byte(`{"error":{"code":"0x80040217","message":"not found"}}`))
	f.Add("multipart/mixed", []byte(batchSeed))
	f.Add(ct, []byte(strings.ReplaceAll(batchSeed, "\r\n\r\n\r\n", "\r\n\r\n")))
	// A changeset part whose header's empty line is the CRLF of the next
	// delimiter: its body is empty (a panic of the fast path once).
	f.Add(ct, []byte("--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--batchresponse_1--"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		parts, err := decodeBatch(contentType, body)
		want, werr := decodeMultipart(contentType, body)
		if (err == nil) != (werr == nil) || err == nil && !reflect.DeepEqual(parts, want) {
			t.Fatalf("decodeBatch: %+v, %v\ndecodeMultipart: %+v, %v", parts, err, want, werr)
		}
		if err != nil {
			return
		}
		for _, p := range parts {
			for _, r := range p {
				if r.status < 100 || r.status > 599 {
					t.Fatalf("decoded status %d", r.status)
				}
			}
		}
	})
}

// Collection pages and error bodies decode or fail cleanly; any value of a
// row reads as text.
func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{
		`{"value":[{"contactid":"c1","telephone1":"+358401234567","_ownerid_value":"u1","_ownerid_value@OData.Community.Display.V1.FormattedValue":"Alice"}],"@odata.nextLink":"https://org.crm4.dynamics.com/api/data/v9.2/contacts?$skiptoken=x"}`,
		`{"value":[{"n":12.5,"b":true,"o":{"a":1},"l":[1],"z":null}]}`,
		`{"error":{"code":"0x80060888","message":"Could not find a property named 'telephone9'"}}`,
		`{"value":null}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e := parseError(400, body)
		if e == nil || len(e.Message) > 4*len(body)+300 {
			t.Fatalf("parseError: %+v", e)
		}
		p, err := decodePage(body)
		if err != nil {
			return
		}
		for _, r := range p.Value {
			for k := range r {
				_ = r.str(k)
				_ = r.has(k)
			}
		}
	})
}

// The fuzz seeds of a well-formed answer decode: the fuzzer starts from the
// decoder's success path, not only from its errors.
func TestBatchSeedDecodes(t *testing.T) {
	parts, err := decodeBatch("multipart/mixed; boundary=batchresponse_1", []byte(batchSeed))
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || len(parts[0]) != 2 || len(parts[1]) != 1 || parts[0][0].status != 204 || parts[0][0].cid != 1 ||
		parts[0][1].cid != 2 || parts[1][0].status != 200 || !strings.Contains(string(parts[1][0].body), `"contactid":"c1"`) {
		t.Fatalf("decoded %+v", parts)
	}
}

// The answer of the "Reference URIs in request body" example of Microsoft's
// $batch page (execute-batch-operations-using-web-api), where each 204's
// header is followed by one empty line before the next delimiter, not two:
// each response is read (it failed with "unexpected EOF" in its header).
func TestBatchAnswerWithOneEmptyLineAfterA204(t *testing.T) {
	const cs = "changesetresponse_1a5db8a1-ec98-42c4-81f6-6bc6adcfa4bc"
	part := func(cid, entity, id string) string {
		return "--" + cs + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: " + cid + "\r\n\r\n" +
			"HTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\nLocation: [Organization URI]/api/data/v9.2/" + entity + "(" + id + ")\r\n" +
			"OData-EntityId: [Organization URI]/api/data/v9.2/" + entity + "(" + id + ")\r\n\r\n"
	}
	changeset := part("1", "leads", "425195a4-7a75-e911-a97a-000d3a34a1bd") + part("2", "contacts", "495195a4-7a75-e911-a97a-000d3a34a1bd") +
		part("3", "accounts", "4f5195a4-7a75-e911-a97a-000d3a34a1bd") + "--" + cs + "--\r\n"
	body := "--batchresponse_3cace264-86ea-40fe-83d3-954b336c0f4a\r\nContent-Type: multipart/mixed; boundary=" + cs + "\r\n\r\n" +
		changeset + "--batchresponse_3cace264-86ea-40fe-83d3-954b336c0f4a--\r\n"
	parts, err := decodeBatch("multipart/mixed; boundary=batchresponse_3cace264-86ea-40fe-83d3-954b336c0f4a", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 || len(parts[0]) != 3 {
		t.Fatalf("decoded %+v", parts)
	}
	for i, r := range parts[0] {
		if r.status != 204 || r.cid != i+1 || r.body != nil {
			t.Errorf("response %d: %+v", i, r)
		}
	}
	// The same changeset read through mime/multipart (readChangeset) reads
	// the same.
	want, err := readChangeset(strings.NewReader(changeset), cs, bufio.NewReader(nil))
	if err != nil || !reflect.DeepEqual(want, parts[0]) {
		t.Fatalf("readChangeset: %+v, %v\nchangeset: %+v", want, err, parts[0])
	}
}
