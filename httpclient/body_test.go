package httpclient_test

import (
	"encoding/json"
	"errors"
	"io"
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
