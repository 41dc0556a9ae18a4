package dynamicstest

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"reflect"
	"strings"
	"testing"
)

// readBatchReqRef is readBatchReq as it was before its header was made at
// its size (one http.Header.Add per line), kept to compare it with.
func readBatchReqRef(ct, te, cid string, raw []byte) (batchReq, error) {
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/http" {
		return batchReq{}, fmt.Errorf("request part of type %q; want application/http", mt)
	}
	if te != "binary" {
		return batchReq{}, fmt.Errorf("request part with Content-Transfer-Encoding %q; want binary", te)
	}
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		head, body = bytes.TrimSuffix(raw, []byte("\r\n")), nil
	}
	if bareLF(head) {
		return batchReq{}, fmt.Errorf("request lines must end with CRLF")
	}
	rest := string(head)
	line, rest, more := strings.Cut(rest, "\r\n")
	f, n := requestLine(line)
	if n != 3 || !strings.HasPrefix(f[2], "HTTP/") {
		return batchReq{}, fmt.Errorf("bad request line %q", line)
	}
	h := http.Header{}
	for more {
		var l string
		l, rest, more = strings.Cut(rest, "\r\n")
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return batchReq{}, fmt.Errorf("bad header line %q", l)
		}
		h.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v))
	}
	return batchReq{method: f[0], target: f[1], header: h, body: body, cid: strings.TrimSpace(cid)}, nil
}

// readReqSeeds are a part's request: as clients send them, with repeated
// header names (in other cases too), without header or body, with bad
// lines.
func readReqSeeds() []string {
	return []string{
		"POST /api/data/v9.2/phonecalls HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"subject\":\"x\"}",
		"PATCH $1 HTTP/1.1\r\nContent-Type: application/json\r\nIf-Match: *\r\n\r\n{\"statecode\":1}",
		"GET /api/data/v9.2/contacts?$select=fullname HTTP/1.1\r\nPrefer: a\r\nprefer: b\r\nPREFER : c\r\nAccept: x\r\n\r\n",
		"GET /api/data/v9.2/WhoAmI HTTP/1.1\r\n", "GET /x HTTP/1.1", "GET /x HTTP/1.1\r\nbad line\r\n\r\n",
		"GET /x HTTP/1.1\r\nA: 1\r\nb: 2\r\na: 3\r\nB:4\r\n\r\nbody\r\n\r\nmore", "GET /x\r\n\r\n", "GET /x HTTP/1.1\nA: 1\r\n\r\n",
		"GET /x HTTP/1.1\r\n: empty name\r\n\r\n", "GET /x HTTP/1.1\r\nX-A:  spaced  \r\n\r\n",
	}
}

// readBatchReq reads what readBatchReqRef reads, and fails where it fails
// with its message.
func TestReadBatchReqAsRef(t *testing.T) {
	for _, raw := range readReqSeeds() {
		checkReadBatchReq(t, "application/http", "binary", " 1 ", []byte(raw))
	}
	checkReadBatchReq(t, "text/plain", "binary", "", []byte(readReqSeeds()[0]))
	checkReadBatchReq(t, "application/http", "base64", "", []byte(readReqSeeds()[0]))
}

func FuzzReadBatchReqAsRef(f *testing.F) {
	for _, raw := range readReqSeeds() {
		f.Add("application/http", "binary", "1", []byte(raw))
	}
	f.Fuzz(checkReadBatchReq)
}

func checkReadBatchReq(t *testing.T, ct, te, cid string, raw []byte) {
	got, err := readBatchReq(ct, te, cid, raw)
	want, werr := readBatchReqRef(ct, te, cid, raw)
	if (err != nil) != (werr != nil) || err != nil && err.Error() != werr.Error() {
		t.Fatalf("%q: error %v, want %v", raw, err, werr)
	}
	if got.method != want.method || got.target != want.target || got.cid != want.cid || !bytes.Equal(got.body, want.body) ||
		(got.body == nil) != (want.body == nil) || !reflect.DeepEqual(got.header, want.header) {
		t.Fatalf("%q:\n got %+v\nwant %+v", raw, got, want)
	}
}

// partMediaType reads a part's Content-Type as mime.ParseMediaType reads
// it: the same media type, boundary parameter and failure.
func TestPartMediaTypeAsMime(t *testing.T) {
	for _, v := range mediaTypeSeeds() {
		checkPartMediaType(t, v)
	}
}

func FuzzPartMediaTypeAsMime(f *testing.F) {
	for _, v := range mediaTypeSeeds() {
		f.Add(v)
	}
	f.Fuzz(checkPartMediaType)
}

func mediaTypeSeeds() []string {
	return []string{
		"application/http", "Application/HTTP", "application/http; msgtype=request", "application/http;",
		"multipart/mixed; boundary=changeset_5b5c9c66-0d4b-4e83-9f1c-3c4c4f3f2a10", "multipart/mixed; boundary=",
		"multipart/mixed; boundary=\"a b\"", "multipart/mixed; boundary=a b", "multipart/mixed; boundary=a;b",
		"multipart/mixed; boundary=a/b", "multipart/mixed; boundary=a=b", "multipart/mixed; boundary=\xff",
		"multipart/mixed; boundary=a; boundary=b", "multipart/mixed;boundary=x", "Multipart/Mixed; Boundary=x",
		"multipart/mixed; boundary*=utf-8''x", "text/plain", "", "multipart/mixed; boundary=x\x7f",
	}
}

func checkPartMediaType(t *testing.T, v string) {
	mt, b, err := partMediaType(v)
	wmt, params, werr := mime.ParseMediaType(v)
	if mt != wmt || b != params["boundary"] || (err == nil) != (werr == nil) {
		t.Errorf("%q: %q %q %v; mime.ParseMediaType %q %q %v", v, mt, b, err, wmt, params["boundary"], werr)
	}
}
