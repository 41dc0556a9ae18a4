package crmtest

import (
	"context"
	"maps"

	"github.com/callsync/callsync/crm"
)

// MethodAccounts counts Accounts calls (Smart Routing's parent accounts).
const MethodAccounts Method = "Accounts"

var _ crm.ParentFetcher = (*Memory)(nil)

// Accounts returns accounts by id with the requested extra fields they have,
// keyed by id, in one request; unknown ids are absent. It makes Memory a
// crm.ParentFetcher, like the real clients.
func (m *Memory) Accounts(ctx context.Context, ids []string, fields []string) (map[string]crm.Record, error) {
	out := map[string]crm.Record{}
	if len(ids) == 0 {
		return out, nil
	}
	if err := m.begin(ctx, MethodAccounts); err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.records[crm.Account] {
		if !want[r.ID] {
			continue
		}
		rec := *r
		rec.Phones = maps.Clone(r.Phones)
		rec.Fields = nil
		for _, f := range fields {
			if v, ok := r.Fields[f]; ok {
				if rec.Fields == nil {
					rec.Fields = map[string]string{}
				}
				rec.Fields[f] = v
			}
		}
		out[r.ID] = rec
	}
	return out, nil
}
