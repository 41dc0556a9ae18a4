package jobstest_test

import (
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/jobs/jobstest"
)

// memoryBackend adapts crmtest.Memory to crmtest.Backend.
type memoryBackend struct {
	*crmtest.Memory
	match crm.UserMatch
}

func (b memoryBackend) Client() crm.Client       { return b.Memory }
func (b memoryBackend) UserMatch() crm.UserMatch { return b.match }

func (b memoryBackend) PhoneFields(e crm.Entity) []string {
	if e == crm.Account {
		return []string{"telephone1", "telephone2"}
	}
	return []string{"telephone1", "telephone2", "mobilephone"}
}

func TestEngineEndToEndOnMemory(t *testing.T) {
	jobstest.RunEngine(t, func(t *testing.T) crmtest.Backend {
		return memoryBackend{Memory: crmtest.NewMemory(), match: crm.UserMatch{By: "email"}}
	})
}

func TestEngineUnmatchedOnMemory(t *testing.T) {
	jobstest.RunEngineUnmatched(t, func(t *testing.T) crmtest.Backend {
		return memoryBackend{Memory: crmtest.NewMemory(), match: crm.UserMatch{By: "email"}}
	})
}
