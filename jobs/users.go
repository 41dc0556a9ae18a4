package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/callsync/callsync/config"
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
//
// A cycle's agents are usually all mapped and fresh: then only their rows
// are read (UserMapFor), not the tenant's whole map, which the batch-first
// query below needs only when one of them is not.
func (s *Syncer) resolveUsers(ctx context.Context, t *Tenant, dir directory, ids []string, now time.Time) (map[string]string, error) {
	cfg := t.Config()
	if out, ok, err := s.freshUsers(ctx, t, cfg, ids, now); err != nil || ok {
		return out, err
	}
	out, rest := overriddenUsers(cfg, ids)
	var need []string
	cached, err := s.Store.UserMap(ctx, t.Name)
	if err != nil {
		return nil, err
	}
	for _, k := range rest {
		if m, ok := cached[k]; ok && now.Sub(m.FetchedAt) < userMapTTL {
			out[k] = m.CRMUserID
			continue
		}
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

// freshUsers maps ids as resolveUsers does when every one of them is
// overridden or has a fresh row in the user map (ok); it reads only their
// rows.
func (s *Syncer) freshUsers(ctx context.Context, t *Tenant, cfg config.Tenant, ids []string, now time.Time) (out map[string]string, ok bool, err error) {
	out, ask := overriddenUsers(cfg, ids)
	if len(ask) == 0 {
		return out, true, nil
	}
	rows, err := s.Store.UserMapFor(ctx, t.Name, ask)
	if err != nil {
		return nil, false, err
	}
	for _, k := range ask {
		m, found := rows[k]
		if !found || now.Sub(m.FetchedAt) >= userMapTTL {
			return nil, false, nil
		}
		out[k] = m.CRMUserID
	}
	return out, true, nil
}

// overriddenUsers maps each distinct id (lower-cased; empty ones left
// out) that the tenant's user overrides name, and returns the others, each
// mapped to "" until it is resolved.
func overriddenUsers(cfg config.Tenant, ids []string) (out map[string]string, rest []string) {
	out = map[string]string{}
	for _, id := range ids {
		k := strings.ToLower(id)
		if k == "" {
			continue
		}
		if _, done := out[k]; done {
			continue
		}
		if v, over := overrideFor(cfg.CRM.Users.Overrides, k); over {
			out[k] = v
			continue
		}
		out[k] = ""
		rest = append(rest, k)
	}
	return out, rest
}

func overrideFor(overrides map[string]string, id string) (string, bool) {
	for k, v := range overrides {
		if strings.EqualFold(k, id) {
			return v, true
		}
	}
	return "", false
}
