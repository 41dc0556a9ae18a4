package salesforce

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// concatenatedCollection is how a Collections body was written before
// collectionReader: the records copied into one buffer. The reference of
// FuzzCollectionBody.
func concatenatedCollection(recs [][]byte) []byte {
	n := len(`{"allOrNone":false,"records":[]}`)
	for _, r := range recs {
		n += len(r) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"allOrNone":false,"records":[`...)
	for i, r := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, "]}"...)
}

// readCollection reads c's body with reads of at most n bytes, checking
// that Len is what is left before each read and that no read is short
// before the end.
func readCollection(t testing.TB, c *collection, n int) []byte {
	t.Helper()
	r, _ := c.reader()
	lr := r.(interface{ Len() int })
	var out []byte
	buf := make([]byte, n)
	for i := 0; ; i++ {
		if got, want := lr.Len(), c.size-len(out); got != want {
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
		if k < n && len(out) < c.size {
			t.Fatalf("read %d by %d: a short read of %d bytes before the end", i, n, k)
		}
	}
}

// A collection reads as the records concatenated for any records (the
// input split at NUL; empty records included), at any read size, and
// again from a second reader.
func FuzzCollectionBody(f *testing.F) {
	f.Add(`{"a":1}`+"\x00"+`{"b":"x"}`, uint16(7))
	f.Add("", uint16(0))
	f.Add("\x00\x00", uint16(1))
	f.Add(strings.Repeat(`{"Description":"`+strings.Repeat("y", 900)+`"}`+"\x00", 40), uint16(32<<10))
	f.Fuzz(func(t *testing.T, in string, by uint16) {
		var recs [][]byte
		if in != "" {
			for _, r := range strings.Split(in, "\x00") {
				recs = append(recs, []byte(r))
			}
		}
		c := collectionBody(recs)
		want := concatenatedCollection(recs)
		for _, n := range []int{int(by)%(64<<10) + 1, 1} {
			if got := readCollection(t, c, n); !bytes.Equal(got, want) {
				t.Fatalf("read by %d:\n%q\nwant\n%q", n, got, want)
			}
		}
	})
}

// BenchmarkCollectionBody is a 200-record upsert's body, read by 32 KB as
// net/http's transport copies it (`go test -bench CollectionBody -benchmem
// ./crm/salesforce`); concatenated is the former body.
func BenchmarkCollectionBody(b *testing.B) {
	recs := make([][]byte, 200)
	for i := range recs {
		recs[i] = []byte(`{"attributes":{"type":"Task"},"Description":"` + strings.Repeat("y", 600) + `"}`)
	}
	buf := make([]byte, 32<<10)
	b.Run("concatenated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := bytes.NewReader(concatenatedCollection(recs))
			for {
				if _, err := r.Read(buf); err == io.EOF {
					break
				}
			}
		}
	})
	b.Run("reader", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, _ := collectionBody(recs).reader()
			for {
				if _, err := r.Read(buf); err == io.EOF {
					break
				}
			}
		}
	})
}
