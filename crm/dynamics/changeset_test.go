package dynamics

import (
	"bufio"
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
)

// The changeset reader without mime/multipart reads what mime/multipart
// reads, and gives the shapes it does not take to it.
func TestChangesetFastPathMatchesMultipart(t *testing.T) {
	const cs = "changesetresponse_2"
	ok := changesetOf(cs, 3)
	for _, c := range []struct {
		name string
		body string
		fast bool // read without mime/multipart
	}{
		{"three parts", ok, true},
		{"padding after delimiters", strings.ReplaceAll(ok, "--"+cs+"\r\n", "--"+cs+" \t\r\n"), true},
		{"epilogue after the close delimiter", ok + "trailing text\r\n", true},
		{"json body", "--" + cs + "\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n" +
			`{"error":{"code":"0x80040217","message":"a` + "\r\n--" + cs + `x is not a delimiter"}}` + "\r\n--" + cs + "--\r\n", true},
		{"preamble", "preamble\r\n" + ok, false},
		{"LF line ends", strings.ReplaceAll(ok, "\r\n", "\n"), false},
		{"quoted-printable part", strings.Replace(ok, "binary", "quoted-printable", 1), false},
		{"no close delimiter", strings.TrimSuffix(ok, "--"+cs+"--\r\n"), false},
		{"junk after a delimiter", strings.Replace(ok, "--"+cs+"\r\nContent-Type", "--"+cs+" junk\r\nContent-Type", 2), false},
		{"junk after the close delimiter", strings.Replace(ok, cs+"--\r\n", cs+"--junk\r\n", 1), false},
		{"only a close delimiter", "--" + cs + "--\r\n", false},
		{"header names in other case, values padded", strings.ReplaceAll(strings.ReplaceAll(ok, "Content-ID: ", "content-id: \t "), "binary\r\n", "BINARY \r\n"), true},
		{"Content-ID given twice", strings.ReplaceAll(ok, "Content-ID: ", "Content-ID: 9\r\nContent-ID: "), true},
		{"continued header line", strings.ReplaceAll(ok, "Content-ID: ", "X-Note: a\r\n b\r\nContent-ID: "), true},
		{"header value not ASCII", strings.ReplaceAll(ok, "Content-ID: ", "X-Note: \u00e4\r\nContent-ID: "), true},
		{"header name not a token", strings.ReplaceAll(ok, "Content-ID: ", "X Note: a\r\nContent-ID: "), true},
		{"header line without a colon", strings.ReplaceAll(ok, "Content-ID: ", "X-Note\r\nContent-ID: "), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &batchDecoder{br: bufio.NewReader(nil)}
			got, fast, gerr := d.changeset([]byte(c.body), cs)
			if fast != c.fast {
				t.Fatalf("read without mime/multipart = %v, want %v (err %v)", fast, c.fast, gerr)
			}
			want, werr := readChangeset(strings.NewReader(c.body), cs, bufio.NewReader(nil))
			if !fast {
				return
			}
			if (gerr == nil) != (werr == nil) || gerr == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, %v\nwant %+v, %v", got, gerr, want, werr)
			}
			if c.name == "three parts" && (len(got) != 3 || got[2].cid != 3 || got[2].status != 204) {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

// FuzzChangeset: whatever the bytes, the reader without mime/multipart
// either gives them to it or answers as it does.
func FuzzChangeset(f *testing.F) {
	const cs = "changesetresponse_2"
	f.Add([]byte(changesetOf(cs, 2)))
	f.Add([]byte(strings.ReplaceAll(changesetOf(cs, 2), "\r\n", "\n")))
	f.Add([]byte(changesetOf(cs, 1) + "--" + cs + "--\r\n"))
	f.Add([]byte(strings.Replace(changesetOf(cs, 2), "--\r\n", "-- \r\n", 1)))
	f.Add([]byte(strings.ReplaceAll(changesetOf(cs, 2), "Content-ID: ", "content-id:\t\r\nContent-ID: 7 \r\nX-Note: a\r\n b\r\nContent-Id: ")))
	f.Fuzz(func(t *testing.T, body []byte) {
		d := &batchDecoder{br: bufio.NewReader(nil)}
		got, fast, gerr := d.changeset(body, cs)
		if !fast {
			return
		}
		want, werr := readChangeset(bytes.NewReader(body), cs, bufio.NewReader(nil))
		if (gerr == nil) != (werr == nil) || gerr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v\nwant %+v, %v", got, gerr, want, werr)
		}
	})
}

// batchSize is the length of the body a batchBody reads.
func TestBatchSizeIsTheBodyLength(t *testing.T) {
	one := op{method: "POST", url: "/api/data/v9.2/phonecalls", cid: 12, header: [][2]string{{"Content-Type", "application/json"}}, body: []byte(`{"subject":"x"}`)}
	get := op{method: "GET", url: "/api/data/v9.2/contacts?$select=fullname"}
	parts := []part{{single: &get}, {changeset: []op{one, one}}, {changeset: []op{one}}}
	b := newBatchBody(parts)
	r, _ := b.reader()
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if n := batchSize(parts, len(batchPrefix)+36, len(changesetPrefix)+36); n != len(body) || n != b.size {
		t.Fatalf("batchSize = %d, body is %d bytes", n, len(body))
	}
}

// The $batch reader without mime/multipart reads what decodeMultipart
// reads, and gives the shapes it does not take to it.
func TestBatchFastPathMatchesMultipart(t *testing.T) {
	const ct = "multipart/mixed; boundary=batchresponse_1"
	for _, c := range []struct {
		name string
		body string
		fast bool // read without mime/multipart
	}{
		{"changeset and lone GET", batchSeed, true},
		{"one empty line after a 204", strings.ReplaceAll(batchSeed, "\r\n\r\n\r\n", "\r\n\r\n"), true},
		{"quoted changeset boundary", strings.Replace(batchSeed, "boundary=changesetresponse_2", `boundary="changesetresponse_2"`, 1), true},
		{"changeset of LF line ends", strings.Replace(batchSeed, "changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n",
			"changesetresponse_2\nContent-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: 1\n", 1), true},
		{"failed changeset", "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n" +
			"--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n" +
			"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; odata.metadata=minimal\r\nOData-Version: 4.0\r\n\r\n" +
			`{"error":{"code":"0x80040217","message":"phonecall With Id = 1 Does Not Exist"}}` + "\r\n--changesetresponse_2--\r\n--batchresponse_1--\r\n", true},
		{"part without Content-Type", strings.Replace(batchSeed, "Content-Type: multipart/mixed; boundary=changesetresponse_2\r\n", "", 1), true},
		{"embedded response cut short", strings.Replace(batchSeed, "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n", 1), true},
		{"embedded response not HTTP", strings.Replace(batchSeed, "HTTP/1.1 204 No Content", "HTTP/1.1 2x", 1), true},
		{"preamble", "preamble\r\n" + batchSeed, false},
		{"LF line ends", strings.ReplaceAll(batchSeed, "\r\n", "\n"), false},
		{"quoted-printable changeset", strings.Replace(batchSeed, "changesetresponse_2\r\n\r\n", "changesetresponse_2\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", 1), false},
		{"continued header line", strings.Replace(batchSeed, "Content-Type: multipart/mixed;", "Content-Type: multipart/mixed;\r\n", 1), false},
		{"no close delimiter", strings.TrimSuffix(batchSeed, "--batchresponse_1--\r\n"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &batchDecoder{br: bufio.NewReader(nil)}
			got, fast, gerr := d.batch([]byte(c.body), "batchresponse_1")
			if fast != c.fast {
				t.Fatalf("read without mime/multipart = %v, want %v (err %v)", fast, c.fast, gerr)
			}
			want, werr := decodeMultipart(ct, []byte(c.body))
			all, aerr := decodeBatch(ct, []byte(c.body))
			if (aerr == nil) != (werr == nil) || aerr == nil && !reflect.DeepEqual(all, want) {
				t.Fatalf("decodeBatch: %+v, %v\ndecodeMultipart: %+v, %v", all, aerr, want, werr)
			}
			if fast && ((gerr == nil) != (werr == nil) || gerr == nil && !reflect.DeepEqual(got, want)) {
				t.Fatalf("got %+v, %v\nwant %+v, %v", got, gerr, want, werr)
			}
			if c.name == "changeset and lone GET" && (len(got) != 2 || len(got[0]) != 2 || got[1][0].status != 200) {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

// An embedded response read without net/http reads as readResponse reads
// it, and the shapes it does not take go to readResponse.
func TestResponseFastPathMatchesNetHTTP(t *testing.T) {
	const json = `{"error":{"code":"0x80040217","message":"not found"}}`
	for _, c := range []struct {
		name string
		resp string
		cid  string // the part's Content-ID
		fast bool
	}{
		{"204 of a create", "HTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\nOData-EntityId: https://org/api/data/v9.2/phonecalls(1)\r\n\r\n\r\n", "3", true},
		{"204 and one empty line", "HTTP/1.1 204 No Content\r\n\r\n", "", true},
		{"204 with bytes after its header", "HTTP/1.1 204 No Content\r\n\r\nstray\r\n", "", true},
		{"304 with a length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n\r\n", "", true},
		{"100", "HTTP/1.1 100 Continue\r\n\r\n\r\n", "", true},
		{"400 read to its end", "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n" + json + "\r\n\r\n", "1", true},
		{"200 with a length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + json + "\r\n", "", true},
		{"length with leading zeros and padding", "HTTP/1.1 200 OK\r\ncontent-length: \t007 \r\n\r\n" + json + "\r\n", "", true},
		{"length 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + json + "\r\n", "", true},
		{"no reason phrase", "HTTP/1.1 200\r\n\r\n" + json + "\r\n", "", true},
		{"Content-ID in the response", "HTTP/1.1 204 No Content\r\ncontent-id:  7\r\nContent-ID: 8\r\n\r\n\r\n", "", true},
		{"part Content-ID first", "HTTP/1.1 204 No Content\r\nContent-ID: 7\r\n\r\n\r\n", " 2 ", true},
		{"part Content-ID not a number", "HTTP/1.1 204 No Content\r\nContent-ID: 7\r\n\r\n\r\n", "x", true},
		{"status 600", "HTTP/1.1 600 Odd\r\n\r\n\r\n", "", false},
		{"status 099", "HTTP/1.1 099 Odd\r\n\r\n\r\n", "", false},
		{"status of four digits", "HTTP/1.1 2040 No Content\r\n\r\n\r\n", "", false},
		{"status not digits", "HTTP/1.1 +20 Odd\r\n\r\n\r\n", "", false},
		{"two spaces before the status", "HTTP/1.1  204 No Content\r\n\r\n\r\n", "", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\n\r\n" + json + "\r\n", "", false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "", false},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc\r\n", "", false},
		{"length past the end", "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\nabc\r\n", "", false},
		{"length not digits", "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc\r\n", "", false},
		{"empty length", "HTTP/1.1 204 No Content\r\nContent-Length: \r\n\r\n\r\n", "", false},
		{"LF line ends", "HTTP/1.1 204 No Content\nOData-Version: 4.0\n\n\r\n", "", false},
		{"continued header line", "HTTP/1.1 204 No Content\r\nX-Note: a\r\n b\r\n\r\n\r\n", "", false},
		{"header without an end", "HTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\n", "", false},
		{"no status line end", "HTTP/1.1 204 No Content", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, fast := plainResponse([]byte(c.resp), []byte(c.cid))
			if fast != c.fast {
				t.Fatalf("read without net/http = %v, want %v", fast, c.fast)
			}
			want, werr := readResponse(bufio.NewReader(strings.NewReader(c.resp)), c.cid)
			if fast && (werr != nil || !reflect.DeepEqual(got, want)) {
				t.Fatalf("got %+v\nwant %+v, %v", got, want, werr)
			}
		})
	}
}

// FuzzResponse: whatever the bytes, the response reader without net/http
// either gives them to readResponse or answers as it does.
func FuzzResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\nContent-ID: 2\r\n\r\n\r\n"), "1")
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{\"error\":{}}\r\n"), "")
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef\r\n"), "")
	f.Add([]byte("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"), "")
	f.Fuzz(func(t *testing.T, resp []byte, cid string) {
		got, fast := plainResponse(resp, []byte(cid))
		if !fast {
			return
		}
		want, werr := readResponse(bufio.NewReader(bytes.NewReader(resp)), cid)
		if werr != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v\nwant %+v, %v", got, want, werr)
		}
	})
}

// Answers read through mime/multipart at the top level (here: a preamble)
// whose changesets are read from their bytes keep each response's body:
// a body is not a view of a buffer the next part is read into.
func TestBatchBodiesOfMultipartTopLevelStay(t *testing.T) {
	failed := func(cs, msg string) string {
		return "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=" + cs + "\r\n\r\n" +
			"--" + cs + "\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n" +
			"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n" +
			`{"error":{"code":"0x80040217","message":"` + msg + `"}}` + "\r\n--" + cs + "--\r\n"
	}
	body := "preamble\r\n" + failed("changesetresponse_a", "first") + failed("changesetresponse_b", "other") + "--batchresponse_1--\r\n"
	parts, err := decodeBatch("multipart/mixed; boundary=batchresponse_1", []byte(body))
	if err != nil || len(parts) != 2 {
		t.Fatalf("decoded %+v, %v", parts, err)
	}
	for i, msg := range []string{"first", "other"} {
		want := `{"error":{"code":"0x80040217","message":"` + msg + `"}}`
		if len(parts[i]) != 1 || parts[i][0].status != 400 || string(parts[i][0].body) != want {
			t.Errorf("changeset %d: %+v (body %q), want body %q", i, parts[i], parts[i][0].body, want)
		}
	}
}
