package dynamicstest

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// batchBodies are $batch bodies with boundary "b": the shape clients send
// (the client's encoding: a quoted changeset boundary, Content-IDs, JSON
// bodies, GETs on their own) and shapes around its edges.
func batchBodies() []string {
	get := "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
		"GET https://org.example/api/data/v9.2/contacts?$select=fullname&$filter=Microsoft.Dynamics.CRM.In(PropertyName='telephone1',PropertyValues=['+358401234567']) HTTP/1.1\r\n" +
		"Accept: application/json\r\nPrefer: odata.include-annotations=\"*\"\r\n\r\n\r\n"
	post := func(cid int, body string) string {
		return "--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: " + fmt.Sprint(cid) + "\r\n\r\n" +
			"POST /api/data/v9.2/phonecalls HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n" + body + "\r\n"
	}
	changeset := "--b\r\nContent-Type: multipart/mixed; boundary=\"cs\"\r\n\r\n" +
		post(1, `{"subject":"Call","description":"line 1\r\nline 2 -- b"}`) +
		"--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n" +
		"PATCH $1 HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"statecode\":1,\"statuscode\":2}\r\n" +
		"--cs--\r\n"
	end := "--b--\r\n"
	common := []string{
		get + end,
		changeset + end,
		changeset + get + changeset + end,
		get + changeset + end + "epilogue\r\n",
		// A request without headers or body, one without a body.
		"--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET /api/data/v9.2/WhoAmI HTTP/1.1\r\n" + end,
		"--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nDELETE /api/data/v9.2/phonecalls(1) HTTP/1.1\r\nIf-Match: *\r\n\r\n\r\n" + end,
		// Spaces and tabs after a delimiter, a close at the very end, header
		// case and spacing, a repeated header, a value with obs-text.
		strings.Replace(get, "--b\r\n", "--b \t\r\n", 1) + "--b--",
		strings.Replace(get, "Content-Type: application/http", "content-type:application/http  ", 1) + end,
		strings.Replace(get, "Content-Transfer-Encoding: binary\r\n", "Content-Transfer-Encoding: binary\r\nX-A: 1\r\nx-a:  2\r\nX-B: caf\xc3\xa9\r\n", 1) + end,
	}
	var odd []string
	for _, s := range common {
		odd = append(odd,
			"preamble\r\n"+s,
			strings.ReplaceAll(s, "\r\n", "\n"),
			strings.Replace(s, "Content-Type: application/http\r\n", "Content-Type: application/http\r\n\tcontinued\r\n", 1),
			strings.Replace(s, "Content-Transfer-Encoding: binary", "Content-Transfer-Encoding: quoted-printable", 1),
			strings.Replace(s, "Content-Transfer-Encoding: binary", "Content-Transfer-Encoding: Binary", 1),
			strings.Replace(s, "Content-Type: application/http", "Content Type: application/http", 1),
			strings.Replace(s, "Content-Type: application/http", "Content-Type : application/http", 1),
			strings.Replace(s, "Content-Type: application/http", "Content-Type: application/http\x01", 1),
			strings.Replace(s, "Content-Type: application/http", " Content-Type: application/http", 1),
			strings.Replace(s, "Content-Type: application/http", "Content-Type: text/plain", 1),
			strings.Replace(s, "\r\n\r\n", "\r\n", 1),
			strings.Replace(s, "--b--", "--b", 1),
			strings.Replace(s, "--b--", "--b-- x", 1),
			strings.Replace(s, "--cs--", "", 1),
			strings.Replace(s, "--b\r\n", "--b\r\n--b\r\n", 1),
			strings.Replace(s, "\r\n\r\n", "\r\n\r\n--b--\r\n", 1),
			strings.Replace(s, "\r\n--b", "\r\n--b\r", 1),
			strings.TrimSuffix(s, "\r\n"),
			s[:len(s)/2],
		)
	}
	odd = append(odd, "", "--b--\r\n", "--b\r\n", "--b\r\n\r\n--b--\r\n",
		"--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n--cs--\r\n--b--\r\n",
		"--b\r\nContent-Type: multipart/mixed\r\n\r\n--cs--\r\n--b--\r\n",
		"--b"+strings.Repeat(" ", 5000)+"\r\n"+get[len("--b\r\n"):]+end)
	return append(common, odd...)
}

// sameItems compares two parses, a request body nil or empty alike.
func sameItems(a, b []batchItem) bool {
	if len(a) != len(b) {
		return false
	}
	same := func(x, y batchReq) bool {
		return x.method == y.method && x.target == y.target && x.cid == y.cid &&
			bytes.Equal(x.body, y.body) && reflect.DeepEqual(x.header, y.header)
	}
	for i := range a {
		if (a[i].single == nil) != (b[i].single == nil) || len(a[i].changeset) != len(b[i].changeset) {
			return false
		}
		if a[i].single != nil && !same(*a[i].single, *b[i].single) {
			return false
		}
		for j := range a[i].changeset {
			if !same(a[i].changeset[j], b[i].changeset[j]) {
				return false
			}
		}
	}
	return true
}

// A body read from its bytes reads as mime/multipart reads it, and the
// shape clients send is read from its bytes.
func TestBatchPartsAsMultipart(t *testing.T) {
	bodies := batchBodies()
	fromBytes := 0
	for i, body := range bodies {
		got, ok := batchFromBytes([]byte(body), "b")
		want, err := parseBatchMultipart([]byte(body), "b")
		if i < 9 && !ok {
			t.Errorf("body %d, the common shape, is not read from its bytes:\n%q", i, body)
		}
		if !ok {
			continue
		}
		fromBytes++
		if err != nil {
			t.Errorf("body %d read from its bytes; mime/multipart: %v\n%q", i, err, body)
		} else if !sameItems(got, want) {
			t.Errorf("body %d:\n%q\nfrom bytes %+v\nmultipart %+v", i, body, got, want)
		}
	}
	t.Logf("%d of %d bodies read from their bytes", fromBytes, len(bodies))
}

func FuzzBatchPartsAsMultipart(f *testing.F) {
	for _, b := range batchBodies() {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := batchFromBytes(body, "b")
		if !ok {
			return
		}
		want, err := parseBatchMultipart(body, "b")
		if err != nil {
			t.Fatalf("read from its bytes; mime/multipart: %v", err)
		}
		if !sameItems(got, want) {
			t.Fatalf("from bytes %+v\nmultipart %+v", got, want)
		}
	})
}
