package jobs

import (
	"context"
	"strings"

	"github.com/callsync/callsync/enreach"
)

// UserMapTTL is how long a stored Enreach-to-CRM user mapping (including "no
// CRM user") is trusted before the CRM is asked again.
const UserMapTTL = userMapTTL

// ResolveUsers maps Enreach users to CRM user ids ("" = none), keyed by
// lower-case Enreach user id, exactly as the calls job does for the agents of
// its calls: configured overrides first, then the stored user map while
// fresh, then one batched CRM query (by e-mail = the Enreach UserName, or by
// the configured field) whose answers, negative ones too, are saved to the
// store's user map. Smart Routing's owner directory uses it for Enreach users
// no call has mapped yet, so the calls job benefits from its answers too.
func (s *Syncer) ResolveUsers(ctx context.Context, t *Tenant, users []enreach.User) (map[string]string, error) {
	dir := directory{users: make(map[string]enreach.User, len(users))}
	ids := make([]string, 0, len(users))
	for _, u := range users {
		k := strings.ToLower(u.ID)
		if k == "" {
			continue
		}
		dir.users[k] = u
		ids = append(ids, k)
	}
	return s.resolveUsers(ctx, t, dir, ids, s.now())
}
