package zoho_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/httpclient"
)

// An answer past the body limit is an error naming the limit, not a
// truncated read taken for the whole.
func TestResponseBodyLimit(t *testing.T) {
	b := newBackend(t, backendOptions{Client: zoho.Options{HTTP: httpclient.Options{BodyLimit: 2048}}})
	for i := range 20 {
		b.AddCustomer(crm.Contact, strings.Repeat("Long Name ", 10)+string(rune('A'+i)), map[string]string{b.PhoneFields(crm.Contact)[0]: "+358401234567"}, "", nil)
	}
	_, err := b.Client().Lookup(context.Background(), crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: "+358401234567", Forms: []string{"+358401234567"}}}})
	if !errors.Is(err, httpclient.ErrBodyTooLarge) || !strings.Contains(err.Error(), "2048-byte limit") {
		t.Fatalf("err = %v, want the 2048-byte limit named", err)
	}
}
