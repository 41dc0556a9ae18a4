package dynamics

import (
	"context"
	"fmt"
	"strings"

	"github.com/callsync/callsync/crm"
	"github.com/google/uuid"
)

// queueIDColumn is the queue key [Finding users and queues].
const queueIDColumn = "queueid"

var _ crm.QueueOwners = (*Client)(nil)

// QueueOwners returns the owning system user of each queue, many queues per
// GET. A queue owned by a team is absent: only a user can be the owner or
// the "to" party of a callback request (the callbacks' queue_owner rules).
func (c *Client) QueueOwners(ctx context.Context, queueIDs []string) (map[string]string, error) {
	out := map[string]string{}
	var items [][]string
	seen := map[string]bool{}
	for _, id := range queueIDs {
		id = strings.ToLower(strings.TrimSpace(id))
		if id == "" || seen[id] {
			continue
		}
		if _, err := uuid.Parse(id); err != nil {
			return nil, fmt.Errorf("dynamics: queue owners: queue id %q is not a GUID", id)
		}
		seen[id] = true
		items = append(items, []string{id})
	}
	if len(items) == 0 {
		return out, nil
	}
	sel := []string{queueIDColumn, ownerColumn}
	prefixLen := len(queryURL(c.api, queueSet, sel, ""))
	var queries []query
	for _, ch := range chunkValues(prefixLen, 0, maxBatchURL, []string{queueIDColumn}, items) {
		queries = append(queries, query{url: queryURL(c.api, queueSet, sel, idFilter(queueIDColumn, ch.values))})
	}
	rows, err := c.getAll(ctx, "queues", queries)
	if err != nil {
		return nil, fmt.Errorf("dynamics: queue owners of %d queues: %w", len(items), err)
	}
	for _, rs := range rows {
		for _, r := range rs {
			if r.str(ownerColumn+lookupLogicalNameSuffix) != "systemuser" {
				continue // owned by a team
			}
			if id, owner := strings.ToLower(r.str(queueIDColumn)), r.str(ownerColumn); id != "" && owner != "" {
				out[id] = owner
			}
		}
	}
	return out, nil
}
