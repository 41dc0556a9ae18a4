package zoho_test

import (
	"testing"

	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/jobs/jobstest"
)

func TestEngineWriteUnmatched(t *testing.T) {
	jobstest.RunEngineUnmatched(t, func(t *testing.T) crmtest.Backend {
		return newBackend(t, backendOptions{})
	})
}

// A custom module (the Enghouse format) links through RelatesTo<Module>.
func TestEngineWriteUnmatchedCustomModule(t *testing.T) {
	jobstest.RunEngineUnmatched(t, func(t *testing.T) crmtest.Backend {
		return newBackend(t, backendOptions{Configure: func(c *zoho.Config) { c.Module = "CCSP_Calls" }})
	})
}
