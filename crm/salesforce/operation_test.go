package salesforce_test

import (
	"context"
	"sync"
	"testing"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
)

// Every request the hook is told about names its operation: the token
// request, and the resource of each API request.
func TestRequestHookNamesOperations(t *testing.T) {
	srv := newOrg(t)
	var mu sync.Mutex
	ops := map[string]int{}
	opts := testOptions()
	opts.OnRequest = func(r crm.Request) { mu.Lock(); defer mu.Unlock(); ops[r.Operation]++ }
	c := newClient(t, ccConfig(srv), opts)
	ctx := context.Background()
	if _, err := c.Users(ctx, crm.UserMatch{}, []crm.UserQuery{{EnreachUserID: "x", Email: "x@contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteActivities(ctx, []crm.Activity{activity(1, nil)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	crmtest.CheckOperations(t, ops, 3)
}
