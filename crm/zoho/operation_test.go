package zoho_test

import (
	"sync"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/zoho"
)

// Every request the hook is told about names its operation: the grant, and
// the module or resource of each API request.
func TestRequestHookNamesOperations(t *testing.T) {
	var mu sync.Mutex
	ops := map[string]int{}
	b := newBackend(t, backendOptions{Client: zoho.Options{OnRequest: func(r crm.Request) {
		mu.Lock()
		defer mu.Unlock()
		ops[r.Operation]++
	}}})
	wantStatus(t, write(t, b.Zoho(), calls(0, 2)), crm.Created)
	mu.Lock()
	defer mu.Unlock()
	crmtest.CheckOperations(t, ops, 2)
}
