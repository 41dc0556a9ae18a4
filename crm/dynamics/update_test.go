package dynamics_test

import (
	"testing"

	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/jobs/jobstest"
)

func TestEngineWriteUnmatched(t *testing.T) {
	jobstest.RunEngineUnmatched(t, func(t *testing.T) crmtest.Backend { return newBackend(t, dynamicstest.Options{}) })
}
