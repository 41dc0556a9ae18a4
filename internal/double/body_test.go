package double

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// ReadBody reads what io.ReadAll reads, whether the Content-Length is
// given, unknown, or (for a body that fails) wrong, and with a known length
// into one buffer that never had to grow.
func TestReadBody(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 513, 4096, 100000} {
		body := strings.Repeat("x", size)
		for _, length := range []int64{int64(size), -1} {
			r, _ := http.NewRequest(http.MethodPost, "http://x.example/", strings.NewReader(body))
			r.ContentLength = length
			got, err := ReadBody(r)
			if err != nil || string(got) != body {
				t.Errorf("size %d, length %d: %d bytes, %v", size, length, len(got), err)
			}
			if length >= 0 && cap(got) != size+bytes.MinRead {
				t.Errorf("size %d: the buffer grew to %d bytes", size, cap(got))
			}
		}
	}
	broken := errors.New("connection reset")
	r, _ := http.NewRequest(http.MethodPost, "http://x.example/", io.MultiReader(strings.NewReader("abc"), errReader{broken}))
	r.ContentLength = 10
	got, err := ReadBody(r)
	want, wantErr := io.ReadAll(io.MultiReader(strings.NewReader("abc"), errReader{broken}))
	if string(got) != string(want) || !errors.Is(err, wantErr) {
		t.Errorf("failing body: %q %v, want %q %v", got, err, want, wantErr)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
