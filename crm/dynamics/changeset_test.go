package dynamics

import (
	"bufio"
	"bytes"
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

// encodeBatch sizes its buffer to the body it writes.
func TestBatchSizeIsTheBodyLength(t *testing.T) {
	one := op{method: "POST", url: "/api/data/v9.2/phonecalls", cid: 12, header: [][2]string{{"Content-Type", "application/json"}}, body: []byte(`{"subject":"x"}`)}
	get := op{method: "GET", url: "/api/data/v9.2/contacts?$select=fullname"}
	parts := []part{{single: &get}, {changeset: []op{one, one}}, {changeset: []op{one}}}
	_, body := encodeBatch(parts)
	if n := batchSize(parts, len(batchPrefix)+36, len(changesetPrefix)+36); n != len(body) {
		t.Fatalf("batchSize = %d, body is %d bytes", n, len(body))
	}
}
