package jobs

import (
	"context"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/phonedir"
)

// PhoneDirectory is the tenant's phone directory as the jobs see it
// (*phonedir.Directory): brought up to date before matching.
type PhoneDirectory interface {
	Refresh(ctx context.Context) (phonedir.Summary, error)
}

// phoneActivityDirectory is a PhoneDirectory whose sync can also find a
// cycle's existing activities in its own request (*phonedir.Directory).
type phoneActivityDirectory interface {
	RefreshWith(ctx context.Context, qs []crm.ActivityQuery) (phonedir.Summary, error)
}

// refreshPhones syncs the tenant's phone directory incrementally before a
// cycle's matching; Refresh runs it at most once per cycle however many jobs
// ask. A failure is logged and the directory as it was stays in use (a
// miss still goes to the CRM).
//
// With qs and a directory that can (phoneActivityDirectory), the sync's own
// request also finds the existing activities of qs: found, when ok.
func (s *Syncer) refreshPhones(ctx context.Context, t *Tenant, qs []crm.ActivityQuery) (found []crm.ExistingActivity, ok bool) {
	if t.Phones == nil {
		return nil, false
	}
	var (
		sum phonedir.Summary
		err error
	)
	if pa, can := t.Phones.(phoneActivityDirectory); can && len(qs) > 0 {
		sum, err = pa.RefreshWith(ctx, qs)
	} else {
		sum, err = t.Phones.Refresh(ctx)
	}
	if err != nil {
		s.log().Warn("phone directory not synced; matching with it as it was", "tenant", t.Name, "err", err)
		return nil, false
	}
	if sum.Records > 0 || sum.Deleted > 0 || len(sum.Full) > 0 {
		s.log().Info("phone directory synced", "tenant", t.Name, "records", sum.Records, "numbers", sum.Numbers,
			"unparseable", sum.Unparseable, "deleted", sum.Deleted, "requests", sum.Requests, "full", len(sum.Full) > 0, "took", sum.Took)
	}
	return sum.Activities, sum.ActivitiesFound
}
