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

// ReadBodyInto reads what ReadBody reads (and io.ReadAll), whether the
// Content-Length is given, unknown or wrong, into a buffer used before for
// a longer or a shorter body, and fails where it fails.
func TestReadBodyInto(t *testing.T) {
	var buf bytes.Buffer
	for _, size := range []int{100000, 0, 1, 511, 512, 513, 4096, 3} {
		for _, length := range []int64{int64(size), -1, int64(size) / 2, int64(size) + 7} {
			checkReadBodyInto(t, &buf, []byte(strings.Repeat("x", size)), length)
		}
	}
	broken := errors.New("connection reset")
	body := func() io.Reader { return io.MultiReader(strings.NewReader("abc"), errReader{broken}) }
	r, _ := http.NewRequest(http.MethodPost, "http://x.example/", body())
	r.ContentLength = 10
	got, err := ReadBodyInto(&buf, r)
	r, _ = http.NewRequest(http.MethodPost, "http://x.example/", body())
	r.ContentLength = 10
	want, wantErr := ReadBody(r)
	if string(got) != string(want) || !errors.Is(err, broken) || !errors.Is(wantErr, broken) {
		t.Errorf("failing body: %q %v, want %q %v", got, err, want, wantErr)
	}
}

func FuzzReadBodyInto(f *testing.F) {
	f.Add([]byte("--batch\r\n"), []byte(""), int64(-1))
	f.Add([]byte(strings.Repeat("y", 700)), []byte("x"), int64(700))
	f.Fuzz(func(t *testing.T, body, before []byte, length int64) {
		if length > 1<<20 || length < -1 {
			return
		}
		buf := bytes.NewBuffer(before)
		checkReadBodyInto(t, buf, body, length)
	})
}

func checkReadBodyInto(t *testing.T, buf *bytes.Buffer, body []byte, length int64) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodPost, "http://x.example/", bytes.NewReader(body))
	r.ContentLength = length
	want, wantErr := ReadBody(r)
	r, _ = http.NewRequest(http.MethodPost, "http://x.example/", bytes.NewReader(body))
	r.ContentLength = length
	got, err := ReadBodyInto(buf, r)
	if !bytes.Equal(got, want) || (err == nil) != (wantErr == nil) {
		t.Errorf("%d bytes, length %d: %d bytes, %v; ReadBody %d bytes, %v", len(body), length, len(got), err, len(want), wantErr)
	}
}
