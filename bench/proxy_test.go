package main

import (
	"regexp"
	"sort"
	"strings"
	"testing"
)

// regexpKinds is batchKinds as the proxy computed it with a regular
// expression over the body, before batchKinds read it line by line.
func regexpKinds(b []byte) string {
	re := regexp.MustCompile(`(?m)^(GET|POST|PATCH|PUT|DELETE) (\S+) HTTP/1\.1\r?$`)
	kinds := map[string]bool{}
	for _, m := range re.FindAllSubmatch(b, -1) {
		kinds[requestKind(string(m[1]), string(m[2]))] = true
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, "+")
}

// requestLines are lines of a $batch body: request lines of every
// method, and lines that only look like request lines (white space in the
// URL, another protocol version, a method the proxy does not know, text
// before the method, a body line).
func requestLines() []string {
	return []string{
		"GET /api/data/v9.2/contacts?$filter=telephone1%20eq%20'1' HTTP/1.1",
		"GET https://org.example/api/data/v9.2/leads?$deltatoken=7!x HTTP/1.1",
		"GET /api/data/v9.2/accounts?$select=name HTTP/1.1",
		"POST /api/data/v9.2/phonecalls HTTP/1.1",
		"PATCH $1 HTTP/1.1",
		"PATCH /api/data/v9.2/phonecalls(0000000a-0000-4000-8000-000000000001) HTTP/1.1",
		"PUT /services/data/v62.0/sobjects/Task/x HTTP/1.1",
		"DELETE /crm/v8/Calls/1 HTTP/1.1",
		"GET /api/data/v9.2/contacts?odata.trackchanges HTTP/1.1",
		"GET /api/data/v9.2/contacts HTTP/1.0",
		"GET /api/data/v9.2/contacts HTTP/1.10",
		"GET /api/data/v9.2/a b HTTP/1.1",
		"GET  /api/data/v9.2/contacts HTTP/1.1",
		"GET /api/data/v9.2/tab\there HTTP/1.1",
		"GET /api/data/v9.2/vt\vhere HTTP/1.1",
		"HEAD /api/data/v9.2/contacts HTTP/1.1",
		"GETS /api/data/v9.2/contacts HTTP/1.1",
		" GET /api/data/v9.2/systemusers HTTP/1.1",
		"GET HTTP/1.1",
		"GET /api/data/v9.2/queues HTTP/1.1\r",
		"{\"subject\":\"GET /x HTTP/1.1\"}",
		"POST /api/data/v9.2/\xff\xfe HTTP/1.1",
		"",
		"--batch_1",
		"Content-Type: application/http",
	}
}

// TestBatchKindsAsTheRegexp: batchKinds names the same kinds as the
// regular expression it replaced, for request lines of every method, LF
// and CRLF line ends, a last line without one, and lines that only look
// like request lines (white space in the URL, another protocol version, a
// method it does not know, text before the method, a body line).
func TestBatchKindsAsTheRegexp(t *testing.T) {
	lines := requestLines()
	for i := range lines {
		for j := range lines {
			for _, end := range []string{"\r\n", "\n", "\r\r\n"} {
				for _, last := range []string{"", "\r\n"} {
					body := []byte("--b" + end + lines[i] + end + lines[j] + last)
					if got, want := batchKinds(body), regexpKinds(body); got != want {
						t.Errorf("%q: got %q, want %q", body, got, want)
					}
				}
			}
		}
	}
	all := []byte(strings.Join(lines, "\r\n"))
	if got, want := batchKinds(all), regexpKinds(all); got != want || strings.Count(got, "+") < 6 {
		t.Errorf("all lines: got %q, want %q (at least 7 kinds)", got, want)
	}
}

// replacePairs rewrites as strings.Replacer does, with one backend or
// several, one a prefix of another among them.
func TestReplacePairsAsReplacer(t *testing.T) {
	pairSets := [][]string{
		{"http://127.0.0.1:4000", "http://127.0.0.1:5000"},
		{"http://127.0.0.1:4000", "http://127.0.0.1:51", "http://127.0.0.1:40001", "http://127.0.0.1:6"},
		{"http://127.0.0.1:40001", "http://127.0.0.1:6", "http://127.0.0.1:4000", "http://127.0.0.1:51"},
		{"ab", "x", "b", "yy", "abc", ""},
	}
	bodies := []string{"", "none here", "http://127.0.0.1:4000", "http://127.0.0.1:40001/api http://127.0.0.1:4000/x",
		`{"url":"http://127.0.0.1:4000/api/data/v9.2/phonecalls(1)","next":"http://127.0.0.1:40001?$skiptoken=2"}`,
		"http://127.0.0.1:400http://127.0.0.1:4000http://127.0.0.1:4000", "abcabab bb ab", "aabbcc", "abc"}
	for _, pairs := range pairSets {
		r := strings.NewReplacer(pairs...)
		// out and ms are reused from one body to the next, as a proxy
		// reuses them from one answer to the next.
		var out []byte
		var ms []replaceMatch
		for _, b := range bodies {
			for _, s := range []string{b, strings.Repeat(b+" ", 3)} {
				got := replacePairs([]byte(s), pairs)
				want := r.Replace(s)
				if string(got) != want || cap(got) != len(got) {
					t.Errorf("pairs %q, %q: got %q (cap %d), want %q", pairs, s, got, cap(got), want)
				}
				if out, ms = appendReplacedWith(out[:0], []byte(s), pairs, ms[:0]); string(out) != want {
					t.Errorf("pairs %q, %q, into the room of the body before: got %q, want %q", pairs, s, out, want)
				}
			}
		}
	}
}

// writeInPieces writes b to a new kindsWriter in pieces of the given
// sizes, taken in turn (the last piece what is left), and returns what it
// names.
func writeInPieces(b []byte, sizes []int) string {
	var k kindsWriter
	for i := 0; len(b) > 0; i++ {
		n := len(b)
		if len(sizes) > 0 {
			n = min(n, max(1, sizes[i%len(sizes)]))
		}
		k.Write(b[:n])
		b = b[n:]
	}
	return k.String()
}

// TestKindsWriterAsBatchKinds: a body written to a kindsWriter in pieces
// of any size names the kinds batchKinds names for the whole body, for
// every pair of request lines, line end and last line, cut everywhere.
func TestKindsWriterAsBatchKinds(t *testing.T) {
	lines := requestLines()
	pieces := [][]int{nil, {1}, {2}, {3}, {7}, {16}, {5, 1, 40}, {11, 2}}
	for i := range lines {
		for j := range lines {
			for _, end := range []string{"\r\n", "\n", "\r\r\n"} {
				for _, last := range []string{"", "\r\n"} {
					body := []byte("--b" + end + lines[i] + end + `{"subject":"x"}` + end + lines[j] + last)
					want := batchKinds(body)
					for _, sizes := range pieces {
						if got := writeInPieces(body, sizes); got != want {
							t.Errorf("%q in pieces of %v: got %q, want %q", body, sizes, got, want)
						}
					}
				}
			}
		}
	}
	all := []byte(strings.Join(lines, "\r\n"))
	if got, want := writeInPieces(all, []int{3}), batchKinds(all); got != want || strings.Count(got, "+") < 6 {
		t.Errorf("all lines: got %q, want %q (at least 7 kinds)", got, want)
	}
}

func FuzzKindsWriterAsBatchKinds(f *testing.F) {
	for _, l := range requestLines() {
		f.Add([]byte("--b\r\n"+l+"\r\n{}\r\n"+l), uint8(3), uint8(1))
	}
	f.Fuzz(func(t *testing.T, body []byte, a, b uint8) {
		if got, want := writeInPieces(body, []int{int(a), int(b)}), batchKinds(body); got != want {
			t.Fatalf("%q in pieces of %d, %d: got %q, want %q", body, a, b, got, want)
		}
	})
}
