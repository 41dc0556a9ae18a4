package dynamics

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// bufferedBatch is how a $batch body was written before batchBody: the
// whole body into one buffer, sized by batchSize. boundary is the
// top-level boundary, sets the changeset boundary of each part ("" for a
// lone request). The reference of TestBatchBodyReadsAsBuffered and
// FuzzBatchBody.
func bufferedBatch(parts []part, boundary string, sets []string) []byte {
	var b bytes.Buffer
	b.Grow(batchSize(parts, len(boundary), len(changesetPrefix)+36))
	for i, p := range parts {
		delimiter(&b, boundary, false)
		if p.single != nil {
			writeOp(&b, *p.single)
			continue
		}
		cs := sets[i]
		b.WriteString(`Content-Type: multipart/mixed; boundary="`)
		b.WriteString(cs)
		b.WriteString("\"\r\n\r\n")
		for _, o := range p.changeset {
			delimiter(&b, cs, false)
			writeOp(&b, o)
		}
		delimiter(&b, cs, true)
	}
	delimiter(&b, boundary, true)
	return b.Bytes()
}

// readAllBy reads r to its end with reads of at most n bytes, checking
// that Len is what is left before each read.
func readAllBy(t testing.TB, body *batchBody, n int) []byte {
	t.Helper()
	r, _ := body.reader()
	lr := r.(interface{ Len() int })
	var out []byte
	buf := make([]byte, n)
	for i := 0; ; i++ {
		if got, want := lr.Len(), body.size-len(out); got != want {
			t.Fatalf("read %d by %d: Len = %d, %d bytes left", i, n, got, want)
		}
		k, err := r.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if k < n && len(out) < body.size {
			t.Fatalf("read %d by %d: a short read of %d bytes before the end", i, n, k)
		}
	}
}

// checkBatchBody checks that body reads as bufferedBatch writes it, at
// every read size, and that a second reader reads it again.
func checkBatchBody(t testing.TB, parts []part) {
	t.Helper()
	body := newBatchBody(parts)
	want := bufferedBatch(parts, body.boundary, body.sets)
	if body.size != len(want) {
		t.Fatalf("size %d, body is %d bytes", body.size, len(want))
	}
	for _, n := range []int{1, 3, 64, 4096, 32 << 10} {
		if got := readAllBy(t, body, n); !bytes.Equal(got, want) {
			t.Fatalf("read by %d:\n%q\nwant\n%q", n, got, want)
		}
	}
	if ct := body.contentType(); ct != `multipart/mixed; boundary="`+body.boundary+`"` {
		t.Fatalf("Content-Type %q", ct)
	}
}

// A batchBody reads as the buffered body did, with the same boundaries:
// lone requests, changesets of one and of several requests, Content-IDs,
// headers, an empty body, no parts.
func TestBatchBodyReadsAsBuffered(t *testing.T) {
	one := op{method: "POST", url: "/api/data/v9.2/phonecalls", cid: 12, header: [][2]string{{"Content-Type", "application/json"}}, body: []byte(`{"subject":"x"}`)}
	closeOp := op{method: "PATCH", url: "$12", cid: 13, header: [][2]string{{"Content-Type", "application/json"}}, body: []byte(`{"statecode":1}`)}
	get := op{method: "GET", url: "/api/data/v9.2/contacts?$select=fullname"}
	big := one
	big.body = []byte(`{"description":"` + strings.Repeat("y", 70000) + `"}`)
	for name, parts := range map[string][]part{
		"none":       nil,
		"lone":       {{single: &get}},
		"mixed":      {{single: &get}, {changeset: []op{one, closeOp}}, {changeset: []op{one}}, {single: &get}},
		"past 32 KB": {{changeset: []op{big, closeOp}}, {changeset: []op{one}}},
		"empty set":  {{changeset: []op{}}},
	} {
		t.Run(name, func(t *testing.T) { checkBatchBody(t, parts) })
	}
}

// Each batchBody has its boundaries: a UUID after the prefix, one per
// changeset.
func TestBatchBodyBoundaries(t *testing.T) {
	one := op{method: "POST", url: "/x", body: []byte("{}")}
	get := op{method: "GET", url: "/y"}
	b := newBatchBody([]part{{changeset: []op{one}}, {single: &get}, {changeset: []op{one}}})
	if _, err := uuid.Parse(strings.TrimPrefix(b.boundary, batchPrefix)); err != nil || !strings.HasPrefix(b.boundary, batchPrefix) {
		t.Fatalf("boundary %q: %v", b.boundary, err)
	}
	if b.sets[1] != "" || b.sets[0] == b.sets[2] || !strings.HasPrefix(b.sets[0], changesetPrefix) {
		t.Fatalf("changeset boundaries %q", b.sets)
	}
}

// batchBody reads as the buffered body for any parts: FuzzBatchBody builds
// up to 8 parts from the input, each a lone request or a changeset of up
// to 3, with free-form methods, URLs, headers and bodies.
func FuzzBatchBody(f *testing.F) {
	f.Add([]byte("\x01POST\x00/api/data/v9.2/phonecalls\x00Content-Type\x00application/json\x00{\"a\":1}\x00\x02GET\x00/x\x00\x00\x00\x00"), uint8(3))
	f.Add([]byte(strings.Repeat("\x03PATCH\x00$1\x00H\x00v\x00"+strings.Repeat("b", 5000)+"\x00", 8)), uint8(255))
	f.Fuzz(func(t *testing.T, in []byte, shape uint8) {
		fields := strings.Split(string(in), "\x00")
		next := func() string {
			if len(fields) == 0 {
				return ""
			}
			s := fields[0]
			fields = fields[1:]
			return s
		}
		var parts []part
		for i := 0; i < 8 && len(fields) > 0; i++ {
			n := int(shape>>(i%4*2)) & 3 // 0: a lone request, else a changeset of n
			ops := make([]op, max(n, 1))
			for k := range ops {
				o := op{method: next(), url: next(), body: []byte(next())}
				if h := next(); h != "" {
					o.header = [][2]string{{h, next()}}
				}
				if len(o.method) > 0 {
					o.cid = int(o.method[0])
				}
				ops[k] = o
			}
			if n == 0 {
				parts = append(parts, part{single: &ops[0]})
			} else {
				parts = append(parts, part{changeset: ops})
			}
		}
		checkBatchBody(t, parts)
	})
}
