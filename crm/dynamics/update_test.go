package dynamics_test

import (
	"testing"

	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
)

func TestEngineWriteUnmatched(t *testing.T) {
	crmtest.RunEngineUnmatched(t, func(t *testing.T) crmtest.Backend { return newBackend(t, dynamicstest.Options{}) })
}
