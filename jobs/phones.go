package jobs

import (
	"context"

	"github.com/callsync/callsync/phonedir"
)

// PhoneDirectory is the tenant's phone directory as the jobs see it
// (*phonedir.Directory): brought up to date before matching.
type PhoneDirectory interface {
	Refresh(ctx context.Context) (phonedir.Summary, error)
}

// refreshPhones syncs the tenant's phone directory incrementally before a
// cycle's matching; Refresh runs it at most once per cycle however many jobs
// ask. A failure is logged and the directory as it was stays in use (a
// miss still goes to the CRM).
func (s *Syncer) refreshPhones(ctx context.Context, t *Tenant) {
	if t.Phones == nil {
		return
	}
	sum, err := t.Phones.Refresh(ctx)
	if err != nil {
		s.log().Warn("phone directory not synced; matching with it as it was", "tenant", t.Name, "err", err)
		return
	}
	if sum.Records > 0 || sum.Deleted > 0 || len(sum.Full) > 0 {
		s.log().Info("phone directory synced", "tenant", t.Name, "records", sum.Records, "numbers", sum.Numbers,
			"unparseable", sum.Unparseable, "deleted", sum.Deleted, "requests", sum.Requests, "full", len(sum.Full) > 0, "took", sum.Took)
	}
}
