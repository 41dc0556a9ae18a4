package dynamics_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/httpclient"
)

// A Web API answer past the body limit is an error naming the limit, not an
// unbounded read.
func TestResponseBodyLimit(t *testing.T) {
	srv := dynamicstest.NewServer(dynamicstest.Options{})
	t.Cleanup(srv.Close)
	for i := range 20 {
		srv.AddContact(dynamicstest.Record{Name: strings.Repeat("Long Name ", 10) + string(rune('A'+i)), Phones: map[string]string{"telephone1": "+358401234567"}})
	}
	o := fastRetries
	o.BodyLimit = 2048
	c, err := dynamics.New(srv.Config(), dynamics.Options{HTTP: o})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567", Forms: []string{"+358401234567"}}}})
	if !errors.Is(err, httpclient.ErrBodyTooLarge) || !strings.Contains(err.Error(), "2048-byte limit") {
		t.Fatalf("err = %v, want the 2048-byte limit named", err)
	}
}
