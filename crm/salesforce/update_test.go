package salesforce_test

import (
	"testing"

	"github.com/callsync/callsync/crm/crmtest"
)

func TestEngineWriteUnmatched(t *testing.T) {
	crmtest.RunEngineUnmatched(t, func(t *testing.T) crmtest.Backend { return newBackend(t) })
}
