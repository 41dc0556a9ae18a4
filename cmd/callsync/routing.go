package main

import (
	"context"
	"fmt"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/routing"
)

// routingHandler answers Enreach Smart Routing lookups for the app's tenants.
// The owner directory resolves Enreach users that no call has mapped yet
// through the tenant's CRM, the way the calls job does (overrides, stored
// map, crm.users match), and stores the answers for the calls job.
func (a *app) routingHandler() *routing.Handler {
	dir := routing.NewUserDirectory(a.store,
		func(ctx context.Context, name string) ([]enreach.User, error) {
			t, ok := a.registry.Get(name)
			if !ok {
				return nil, fmt.Errorf("unknown tenant %s", name)
			}
			return t.Enreach.Users(ctx)
		},
		routing.DirectoryOptions{
			Log: a.log,
			Overrides: func(name string) map[string]string {
				if t, ok := a.registry.Get(name); ok {
					return t.Config().CRM.Users.Overrides
				}
				return nil
			},
			Resolve: func(ctx context.Context, name string, users []enreach.User) (map[string]string, error) {
				t, ok := a.registry.Get(name)
				if !ok {
					return nil, fmt.Errorf("unknown tenant %s", name)
				}
				return a.syncer.ResolveUsers(ctx, t, users)
			},
			UserMapTTL: jobs.UserMapTTL,
		})
	return routing.NewHandler(routing.TenantsFunc(func(name string) (routing.Tenant, bool) {
		t, ok := a.registry.Get(name)
		if !ok {
			return routing.Tenant{}, false
		}
		return routing.Tenant{Name: t.Name, Config: t.Config(), Matcher: t.Matcher, CRM: t.CRM}, true
	}), routing.Options{Directory: dir, Metrics: routing.NewMetrics(a.reg), Log: a.log})
}
