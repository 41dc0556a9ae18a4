package httpclient_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/callsync/callsync/httpclient"
)

func TestReadBody(t *testing.T) {
	b, err := httpclient.ReadBody(strings.NewReader("12345"), 5, "test answer")
	if err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q %v", b, err)
	}
	_, err = httpclient.ReadBody(strings.NewReader("123456"), 5, "test answer")
	var tl *httpclient.BodyTooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, httpclient.ErrBodyTooLarge) || tl.Limit != 5 {
		t.Fatalf("past the limit: %v", err)
	}
	if !strings.Contains(err.Error(), "test answer") || !strings.Contains(err.Error(), "5-byte limit") {
		t.Errorf("error %q does not name the answer and the limit", err)
	}
}

func TestLimitBody(t *testing.T) {
	var v []int
	if err := json.NewDecoder(httpclient.LimitBody(strings.NewReader("[1,2,3]"), 7, "list")).Decode(&v); err != nil || len(v) != 3 {
		t.Fatalf("at the limit: %v %v", v, err)
	}
	err := json.NewDecoder(httpclient.LimitBody(strings.NewReader("[1,2,3,4,5,6,7,8,9]"), 7, "list")).Decode(&v)
	if !errors.Is(err, httpclient.ErrBodyTooLarge) {
		t.Fatalf("past the limit: %v", err)
	}
	if b, err := io.ReadAll(httpclient.LimitBody(strings.NewReader("abc"), 10, "x")); err != nil || string(b) != "abc" {
		t.Errorf("short body: %q %v", b, err)
	}
}

// ReadResponse reads what ReadBody reads, whether the Content-Length is
// right, shorter or longer than the body, or unknown, and fails as it does.
func TestReadResponseAsReadBody(t *testing.T) {
	for _, tt := range []struct {
		body  string
		size  int64
		limit int64
	}{
		{"12345", 5, 5}, {"12345", 5, 10}, {"12345", -1, 10}, {"12345", 3, 10}, {"12345", 8, 10},
		{"123456", 6, 5}, {"123456", 4, 5}, {"123456", -1, 5}, {"", 0, 5}, {"", -1, 5},
	} {
		resp := &http.Response{ContentLength: tt.size, Body: io.NopCloser(strings.NewReader(tt.body))}
		got, err := httpclient.ReadResponse(resp, tt.limit, "test answer")
		want, werr := httpclient.ReadBody(strings.NewReader(tt.body), tt.limit, "test answer")
		if string(got) != string(want) || fmt.Sprint(err) != fmt.Sprint(werr) {
			t.Errorf("%q, Content-Length %d, limit %d: %q %v; ReadBody %q %v", tt.body, tt.size, tt.limit, got, err, want, werr)
		}
	}
}

// A body of the announced length is read into one buffer.
func TestReadResponseAllocatesOnce(t *testing.T) {
	body := strings.Repeat("x", 64<<10)
	r := strings.NewReader(body)
	resp := &http.Response{ContentLength: int64(len(body)), Body: io.NopCloser(r)}
	allocs := testing.AllocsPerRun(20, func() {
		r.Reset(body)
		if b, err := httpclient.ReadResponse(resp, 1<<20, "test answer"); err != nil || len(b) != len(body) {
			t.Fatal(len(b), err)
		}
	})
	if allocs > 2 {
		t.Errorf("%.0f allocations per read, want at most 2 (the buffer, the limit reader)", allocs)
	}
}

// BenchmarkReadResponse reads a 64 KB answer that says its length, with
// ReadBody and with ReadResponse (`go test -bench ReadResponse
// ./httpclient`).
func BenchmarkReadResponse(b *testing.B) {
	body := strings.Repeat("x", 64<<10)
	r := strings.NewReader(body)
	resp := &http.Response{ContentLength: int64(len(body)), Body: io.NopCloser(r)}
	for _, bb := range []struct {
		name string
		read func() ([]byte, error)
	}{
		{"ReadBody", func() ([]byte, error) { return httpclient.ReadBody(resp.Body, 1<<20, "bench") }},
		{"ReadResponse", func() ([]byte, error) { return httpclient.ReadResponse(resp, 1<<20, "bench") }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(body)
				if got, err := bb.read(); err != nil || len(got) != len(body) {
					b.Fatal(len(got), err)
				}
			}
		})
	}
}
