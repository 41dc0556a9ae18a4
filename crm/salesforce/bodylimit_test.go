package salesforce_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
	"github.com/callsync/callsync/httpclient"
)

// An answer past the body limit is an error naming the limit, not an
// unbounded read.
func TestResponseBodyLimit(t *testing.T) {
	srv := salesforcetest.NewServer(salesforcetest.Config{ClientID: testClientID, ClientSecret: testClientSecret, Username: testUsername})
	t.Cleanup(srv.Close)
	for i := range 20 {
		srv.Add("Contact", map[string]any{"LastName": strings.Repeat("Long Name ", 10) + string(rune('A'+i)), "Phone": "+358401234567"})
	}
	o := testOptions()
	o.HTTP.BodyLimit = 2048
	c, err := salesforce.New(salesforce.Config{LoginURL: srv.URL, Grant: salesforce.GrantClientCredentials,
		ClientID: testClientID, ClientSecret: testClientSecret}, o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567", Forms: []string{"+358401234567"}}}})
	if !errors.Is(err, httpclient.ErrBodyTooLarge) || !strings.Contains(err.Error(), "2048-byte limit") {
		t.Fatalf("err = %v, want the 2048-byte limit named", err)
	}
}
