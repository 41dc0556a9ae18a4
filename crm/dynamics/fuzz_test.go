package dynamics

import (
	"strings"
	"testing"
)

// A $batch answer as Dataverse sends it: one changeset that succeeded (two
// responses) and one GET answered on its own (OData 4.0 §11.7.4,
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api).
const batchSeed = "--batchresponse_1\r\n" +
	"Content-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n" +
	"--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n" +
	"HTTP/1.1 204 No Content\r\nOData-EntityId: https://org.crm4.dynamics.com/api/data/v9.2/phonecalls(00000000-0000-0000-0000-000000000001)\r\n\r\n" +
	"--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n" +
	"HTTP/1.1 204 No Content\r\n\r\n" +
	"--changesetresponse_2--\r\n" +
	"--batchresponse_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
	"HTTP/1.1 200 OK\r\nContent-Type: application/json; odata.metadata=minimal\r\n\r\n" +
	`{"value":[{"contactid":"c1","telephone1":"+358401234567"}]}` + "\r\n" +
	"--batchresponse_1--\r\n"

// decodeBatch reads any answer without a panic.
func FuzzDecodeBatch(f *testing.F) {
	ct := "multipart/mixed; boundary=batchresponse_1"
	f.Add(ct, []byte(batchSeed))
	f.Add(ct, []byte(strings.Replace(batchSeed, "HTTP/1.1 204", "HTTP/1.1 4x", 1)))
	f.Add(ct, []byte(batchSeed[:len(batchSeed)/2]))
	f.Add("application/json", []byte(`{"error":{"code":"0x80040217","message":"not found"}}`))
	f.Add("multipart/mixed", []byte(batchSeed))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		parts, err := decodeBatch(contentType, body)
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
