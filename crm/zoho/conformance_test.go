package zoho_test

import (
	"testing"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/zoho/zohotest"
)

// The conformance suite against the Calls module: with the Enreach id in a
// unique call_id_field, and without (pre-check by start time and the
// Description marker), matching users by e-mail and by a user field. The
// custom module cannot hold open calls or descriptions, so it is covered by
// the tests in zoho_test.go instead.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name      string
		configure func(*config.Zoho)
		userField string
	}{
		{"CallsWithCallIDField", func(c *config.Zoho) { c.CallIDField = "Enreach_Call_ID" }, ""},
		{"CallsDescriptionOnly", nil, "Enreach_User_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crmtest.Run(t, func(t *testing.T) crmtest.Backend {
				return zohotest.NewBackend(t, zohotest.BackendOptions{Configure: tc.configure, UserField: tc.userField})
			})
		})
	}
}

func TestEngineEndToEnd(t *testing.T) {
	crmtest.RunEngine(t, func(t *testing.T) crmtest.Backend {
		return zohotest.NewBackend(t, zohotest.BackendOptions{})
	})
}
