package zoho_test

import (
	"testing"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/zoho/zohotest"
)

func TestEngineWriteUnmatched(t *testing.T) {
	crmtest.RunEngineUnmatched(t, func(t *testing.T) crmtest.Backend {
		return zohotest.NewBackend(t, zohotest.BackendOptions{})
	})
}

// A custom module (the Enghouse format) links through RelatesTo<Module>.
func TestEngineWriteUnmatchedCustomModule(t *testing.T) {
	crmtest.RunEngineUnmatched(t, func(t *testing.T) crmtest.Backend {
		return zohotest.NewBackend(t, zohotest.BackendOptions{Configure: func(c *config.Zoho) { c.Module = "CCSP_Calls" }})
	})
}
