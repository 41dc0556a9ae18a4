package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/store"
)

// linkBundles links the open requests of a bundle both ways (Voice for D365:
// "If at the same time more than one open callback requests exist, the calls
// are linked to each other"). A request written in this pass names the open
// requests before it; here every earlier open request of its bundle (from
// earlier passes or this one) is updated, in one batched UpdateActivities,
// so that each names all the others. Only requests still open in the ledger
// are updated, with OnlyOpen: one someone completed in the CRM is refused
// there (crm.ErrClosed), recorded as closed and never updated again. A
// failed update is logged; the next request of the bundle updates it again.
func (s *Syncer) linkBundles(ctx context.Context, t *Tenant, cst CallbackStore, p config.Profile, todo []*cbItem, groups map[string][]sibling) error {
	type member struct {
		sib   sibling
		crmID string
	}
	var ups []crm.ActivityUpdate
	var upIDs []string
	var infos []store.CallbackInfo
	seen := map[string]bool{}
	for _, it := range todo {
		if it.crmID == "" || it.number == "" || seen[it.number] {
			continue // not written open in this pass, or group done
		}
		seen[it.number] = true
		var members []member
		for _, sib := range groups[it.number] {
			id := sib.crmID
			if sib.item != nil {
				id = sib.item.crmID
			}
			if id != "" { // a request of this pass whose write failed is left out
				members = append(members, member{sib, id})
			}
		}
		// The last member was written naming all the others.
		for i, m := range members[:max(len(members)-1, 0)] {
			if m.sib.cb == nil {
				continue // its payload is gone: it keeps its description
			}
			var others []sibling
			for j, o := range members {
				if j != i {
					others = append(others, sibling{id: o.sib.id, crmID: o.crmID})
				}
			}
			desc := callbackDescription(*m.sib.cb, it.matchNote, m.sib.bundle, others)
			ups = append(ups, crm.ActivityUpdate{Key: m.sib.key, ID: m.crmID, Kind: crm.KindCallback,
				Direction: crm.Inbound, Description: desc, OnlyOpen: true})
			upIDs = append(upIDs, m.sib.id)
			infos = append(infos, store.CallbackInfo{Tenant: t.Name, Kind: KindCallback, EnreachID: m.sib.id,
				Profile: p.Name, Number: it.number, BundleKey: m.sib.bundle, Linked: len(others)})
		}
	}
	if len(ups) == 0 {
		return nil
	}
	up, ok := t.CRM.(crm.Updater)
	if !ok {
		s.log().Info("the CRM client cannot update activities: earlier requests of a bundle keep their description", "tenant", t.Name, "profile", p.Name)
		return nil
	}
	size := s.WriteBatch
	if size <= 0 {
		size = 200
	}
	bg := context.WithoutCancel(ctx)
	var errs []error
	for i := 0; i < len(ups); i += size {
		end := min(i+size, len(ups))
		results, err := up.UpdateActivities(ctx, ups[i:end])
		if err == nil && len(results) != end-i {
			err = fmt.Errorf("crm returned %d results for %d updates", len(results), end-i)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("callbacks %s: link %d bundled requests: %w", p.Name, end-i, err))
			break
		}
		var linked []store.CallbackInfo
		for k, r := range results {
			j := i + k
			switch {
			case r.Status == crm.Updated:
				linked = append(linked, infos[j])
			case errors.Is(r.Err, crm.ErrClosed):
				// Completed in the CRM: the ledger follows, and it is not
				// updated (nor closed) again.
				if serr := cst.SetWrittenReason(bg, t.Name, KindCallback, []string{upIDs[j]}, store.CallbackClosed, 0, "completed in the CRM"); serr != nil {
					return errors.Join(append(errs, serr)...)
				}
			default:
				s.log().Warn("bundled callback request not linked", "tenant", t.Name, "callback", upIDs[j], "crm_id", ups[j].ID, "err", r.Err)
			}
		}
		if serr := cst.SaveCallbacks(bg, nil, linked); serr != nil {
			return errors.Join(append(errs, serr)...)
		}
	}
	return errors.Join(errs...)
}
