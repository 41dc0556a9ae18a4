package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/store"
)

// userMapTTL is how long a stored Enreach-to-CRM user mapping (including "no
// CRM user") is trusted before the CRM is asked again.
const userMapTTL = time.Hour

// resolveUsers maps Enreach user ids to CRM user ids ("" = none): configured
// overrides first, then the stored map while fresh, then one batched CRM
// query for the rest and every other Enreach user the map lacks, whose
// answers (negative ones too) are stored.
func (s *Syncer) resolveUsers(ctx context.Context, t *Tenant, dir directory, ids []string, now time.Time) (map[string]string, error) {
	cfg := t.Config()
	out := map[string]string{}
	var need []string
	cached, err := s.Store.UserMap(ctx, t.Name)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		k := strings.ToLower(id)
		if k == "" {
			continue
		}
		if _, done := out[k]; done {
			continue
		}
		if v, ok := overrideFor(cfg.CRM.Users.Overrides, k); ok {
			out[k] = v
			continue
		}
		if m, ok := cached[k]; ok && now.Sub(m.FetchedAt) < userMapTTL {
			out[k] = m.CRMUserID
			continue
		}
		out[k] = ""
		need = append(need, k)
	}
	if len(need) == 0 {
		return out, nil
	}
	// Batch-first: one query maps every Enreach user the map lacks or
	// holds stale, so agents first heard of in later cycles cost nothing.
	asked := map[string]bool{}
	for _, k := range need {
		asked[k] = true
	}
	for k := range dir.users {
		if _, over := overrideFor(cfg.CRM.Users.Overrides, k); over || asked[k] {
			continue
		}
		if m, ok := cached[k]; ok && now.Sub(m.FetchedAt) < userMapTTL {
			continue
		}
		asked[k] = true
		need = append(need, k)
	}
	qs := make([]crm.UserQuery, 0, len(need))
	for _, k := range need {
		q := crm.UserQuery{EnreachUserID: k}
		if u, ok := dir.users[k]; ok {
			q.Email = u.UserName
		}
		qs = append(qs, q)
	}
	found, err := t.CRM.Users(ctx, crm.UserMatch{By: cfg.CRM.Users.Match, Field: cfg.CRM.Users.Field}, qs)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	save := make([]store.UserMapping, 0, len(qs))
	for _, q := range qs {
		u := found[q.EnreachUserID]
		out[q.EnreachUserID] = u.ID
		save = append(save, store.UserMapping{EnreachUserID: q.EnreachUserID, CRMUserID: u.ID, Email: q.Email, FetchedAt: now})
	}
	if err := s.Store.SaveUserMap(ctx, t.Name, save); err != nil {
		return nil, err
	}
	return out, nil
}

func overrideFor(overrides map[string]string, id string) (string, bool) {
	for k, v := range overrides {
		if strings.EqualFold(k, id) {
			return v, true
		}
	}
	return "", false
}
