package dynamicstest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
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

// serveTestBatch serves a $batch body with boundary "batch_1" as s's
// handler does after the token check.
func serveTestBatch(s *Server, body []byte, continueOnError bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, APIPath+"/$batch", nil)
	r.Header.Set("Content-Type", `multipart/mixed; boundary="batch_1"`)
	if continueOnError {
		r.Header.Set("Prefer", "odata.continue-on-error")
	}
	w := httptest.NewRecorder()
	s.serveBatch(w, r, body)
	return w
}

// A bug in the double (a panic) in the middle of a changeset answers 500
// and leaves nothing of the changeset stored, as a failed request does: a
// changeset is all-or-nothing.
func TestBatchBugRollsTheChangesetBack(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	contact := s.AddContact(Record{Name: "Customer", Phones: map[string]string{"telephone1": "+358401002543"}})
	user := s.AddUser(User{Name: "Agent", Email: "agent38@bench.example"})
	_, body := writesBatch(0, 1, contact, user)
	// The clock is read once per write: the create passes, the close
	// (PATCH $1) panics.
	calls := 0
	s.SetClock(func() time.Time {
		calls++
		if calls == 2 {
			panic("clock broke")
		}
		return time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	})
	w := serveTestBatch(s, body, false)
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "dynamicstest bug: clock broke") {
		t.Fatalf("answer %d %s, want 500 naming the bug", w.Code, w.Body)
	}
	if pcs := s.PhoneCalls(); len(pcs) != 0 {
		t.Errorf("stored after the changeset failed: %+v", pcs)
	}
	// The lock was let go and the double goes on.
	s.SetClock(func() time.Time { return time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC) })
	if w := serveTestBatch(s, body, false); w.Code != http.StatusOK || len(s.PhoneCalls()) != 1 {
		t.Errorf("after the bug: %d %.300s, %d calls", w.Code, w.Body, len(s.PhoneCalls()))
	}
}

// Batches served at the same time never show a reader part of a
// changeset: every stored call was created and closed by one changeset,
// and a changeset whose close fails leaves nothing. Run with -race.
func TestConcurrentBatchesKeepChangesetsWhole(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	contact := s.AddContact(Record{Name: "Customer", Phones: map[string]string{"telephone1": "+358401002543"}})
	user := s.AddUser(User{Name: "Agent", Email: "agent38@bench.example"})
	const batches, calls = 8, 20
	done := make(chan struct{})
	var bad []string
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			for _, pc := range s.PhoneCalls() {
				if pc.StateCode != 1 || pc.StatusCode != 4 || pc.To() == nil {
					bad = append(bad, fmt.Sprintf("%s state %d/%d", pc.ID, pc.StateCode, pc.StatusCode))
				}
			}
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	var wg sync.WaitGroup
	for b := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, body := writesBatch(b*calls, calls, contact, user)
			if b%2 == 1 {
				// Odd batches close with a status that is not valid for
				// state 1: every changeset of theirs fails at its close.
				body = bytes.ReplaceAll(body, []byte(`{"statecode":1,"statuscode":4}`), []byte(`{"statecode":1,"statuscode":1}`))
			}
			if w := serveTestBatch(s, body, true); w.Code != http.StatusOK {
				t.Errorf("batch %d: %d %.300s", b, w.Code, w.Body)
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if len(bad) > 0 {
		t.Errorf("a reader saw %d calls of changesets not yet whole, e.g. %s", len(bad), bad[0])
	}
	if n := len(s.PhoneCalls()); n != batches/2*calls {
		t.Errorf("%d calls stored, want %d (the even batches')", n, batches/2*calls)
	}
}

// requestLineCases are request lines as clients write them and around
// their edges.
var requestLineCases = []string{
	"POST /api/data/v9.2/phonecalls HTTP/1.1", "PATCH $1 HTTP/1.1", "GET x HTTP/1.1 extra", "GET  x HTTP/1.1",
	" GET x HTTP/1.1", "GET x HTTP/1.1 ", "GET\tx\tHTTP/1.1", "GET x", "GET", "", " ", "GET x\u00a0HTTP/1.1",
	"GET caf\xc3\xa9 HTTP/1.1", "GET x\x85 HTTP/1.1", "GET \x00 HTTP/1.1", "a b c", "a  b c", "a b\vc",
}

func sameAsFields(t *testing.T, line string) {
	f, n := requestLine(line)
	want := strings.Fields(line)
	if n != len(want) || (n >= 3 && !reflect.DeepEqual(f[:], want[:3])) || (n < 3 && !reflect.DeepEqual(f[:n], want)) {
		t.Errorf("requestLine(%q) = %q, %d; strings.Fields %q", line, f, n, want)
	}
}

func sameLF(t *testing.T, b []byte) {
	if got, want := bareLF(b), bytes.Contains(bytes.ReplaceAll(b, []byte("\r\n"), nil), []byte("\n")); got != want {
		t.Errorf("bareLF(%q) = %v, want %v", b, got, want)
	}
}

// A request line splits as strings.Fields splits it, and a bare LF is
// found as in the head without its CRLFs.
func TestRequestLineAsFields(t *testing.T) {
	for _, l := range requestLineCases {
		sameAsFields(t, l)
		sameLF(t, []byte(l))
	}
	for _, b := range []string{"\n", "\r\n", "\r\r\n", "\r\n\n", "a\nb", "a\r\nb\r\n", "\n\r", "\r\n\r\n"} {
		sameLF(t, []byte(b))
	}
}

func FuzzRequestLineAsFields(f *testing.F) {
	for _, l := range requestLineCases {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		sameAsFields(t, line)
		sameLF(t, []byte(line))
	})
}
