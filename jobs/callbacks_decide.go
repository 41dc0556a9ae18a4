package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/store"
)

// defaultCallbackSubject is used when neither the profile nor the tenant
// sets a subject (the validator allows an empty default_subject).
const defaultCallbackSubject = "Callback request"

// latestCallbacks keeps one value per request id (the latest modified; on a
// tie a closed one, else the later one) and orders them by creation, so
// duplicate decisions follow the order the customer asked in.
func latestCallbacks(cbs []enreach.Callback) []enreach.Callback {
	idx := map[string]int{}
	var out []enreach.Callback
	for _, cb := range cbs {
		if strings.TrimSpace(cb.ID) == "" {
			continue
		}
		k := strings.ToLower(cb.ID)
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, cb)
			continue
		}
		old := out[i]
		if cb.ModifiedTime.After(old.ModifiedTime) ||
			(cb.ModifiedTime.Equal(old.ModifiedTime) && (cb.IsClosed || !old.IsClosed)) {
			out[i] = cb
		}
	}
	slices.SortStableFunc(out, func(a, b enreach.Callback) int {
		if c := a.CreatedTime.Compare(b.CreatedTime); c != 0 {
			return c
		}
		return cmp.Compare(strings.ToLower(a.ID), strings.ToLower(b.ID))
	})
	return out
}

// callbackNumber is the customer number as written and grouped: E.164 when
// it parses, else the raw value.
func (s *Syncer) callbackNumber(t *Tenant, raw string) string {
	n, _ := t.Matcher.Normalize(raw)
	if n.E164() != "" {
		return n.E164()
	}
	return strings.TrimSpace(raw)
}

// decideCallbacks matches the customers, resolves owner and recipient, and
// applies duplicate_handling, filling each item's activity and info.
func (s *Syncer) decideCallbacks(ctx context.Context, t *Tenant, cfg config.Tenant, p config.Profile, cst CallbackStore, todo []*cbItem, closingIDs map[string]bool) (map[string][]sibling, error) {
	var raws, numbers []string
	seenNum := map[string]bool{}
	for _, it := range todo {
		if it.cb.ContactNumber != "" {
			raws = append(raws, it.cb.ContactNumber)
		}
		if it.number != "" && !seenNum[it.number] {
			seenNum[it.number] = true
			numbers = append(numbers, it.number)
		}
	}
	s.refreshPhones(ctx, t, nil)
	matches, err := t.Matcher.Match(ctx, raws, false)
	if err != nil {
		return nil, err
	}
	owner, recipient, recipientIsQueue, err := s.callbackParties(ctx, t, cfg, p)
	if err != nil {
		return nil, err
	}
	open, err := cst.OpenCallbacks(ctx, t.Name, KindCallback, p.Name, numbers)
	if err != nil {
		return nil, err
	}
	groups := map[string][]sibling{}
	for _, oc := range open {
		if closingIDs[oc.EnreachID] {
			continue // closed in this pass
		}
		sib := sibling{id: oc.EnreachID, crmID: oc.CRMID, bundle: oc.BundleKey, key: oc.Key}
		var pl callbackPayload
		if len(oc.Payload) > 0 && json.Unmarshal(oc.Payload, &pl) == nil && pl.Callback.ID != "" {
			sib.cb = &pl.Callback
		}
		groups[oc.Number] = append(groups[oc.Number], sib)
	}

	pc := cfg.PhoneCalls
	subject := cfg.Callbacks.Subject(p)
	if strings.TrimSpace(subject) == "" {
		subject = defaultCallbackSubject
	}
	bundle := p.DuplicateHandling != config.DuplicatesIgnore
	for _, it := range todo {
		cb := it.cb
		it.info = store.CallbackInfo{Tenant: t.Name, Kind: KindCallback, EnreachID: it.id, Profile: p.Name, Number: it.number}
		group := groups[it.number]
		if it.number == "" {
			group = nil
		}
		if !bundle && len(group) > 0 {
			it.ignored = true
			it.act = crm.Activity{Key: callbackKey(t.Name, it.id), Start: callbackStart(cb, s.now())}
			continue
		}
		var linked []sibling
		if bundle && it.number != "" {
			if len(group) > 0 {
				it.info.BundleKey = group[0].bundle
				if it.info.BundleKey == "" {
					it.info.BundleKey = bundleKey(t.Name, group[0].id)
				}
				linked = group
			} else {
				it.info.BundleKey = bundleKey(t.Name, it.id)
			}
			it.info.Linked = len(linked)
		}
		m := matches[cb.ContactNumber]
		a := crm.Activity{
			Key:              callbackKey(t.Name, it.id),
			Kind:             crm.KindCallback,
			EnreachID:        cb.ID,
			Subject:          subject,
			Direction:        crm.Inbound,
			Number:           it.number,
			Start:            callbackStart(cb, s.now()),
			Open:             !cb.IsClosed,
			QueueID:          p.Queue,
			OwnerID:          owner,
			RecipientID:      recipient,
			RecipientIsQueue: recipientIsQueue,
		}
		a.End = a.Start
		if cb.DueDate != nil {
			d := cb.DueDate.UTC()
			a.Due = &d
		}
		if !recipientIsQueue {
			a.UserID = recipient
		}
		var matchNote string
		switch recs := m.Records; {
		case len(recs) == 0:
			matchNote = "Customer: no CRM record has this number."
		case len(recs) == 1 || pc.MultipleMatchesPickFirst:
			r := recs[0].Ref
			a.Regarding = &r
			a.Related = []crm.Ref{r}
		default:
			names := make([]string, len(recs))
			for i, r := range recs {
				names[i] = r.Ref.String()
			}
			matchNote = fmt.Sprintf("Customer: several CRM records have this number (%s); link the right one.", strings.Join(names, ", "))
			if pc.EnableMultipleMatchCreate {
				a.Related = refs(recs)
				if a.Open {
					a.StatusReason = pc.MultipleMatchPhoneCallStatus
				}
			}
		}
		a.Description = callbackDescription(cb, matchNote, it.info.BundleKey, linked)
		a.Audit = callbackAudit(cb, pc.EnableAudit)
		it.act, it.matchNote = a, matchNote
		if a.Open && it.number != "" {
			groups[it.number] = append(groups[it.number], sibling{id: it.id, bundle: it.info.BundleKey, key: a.Key, cb: &it.cb, item: it})
		}
	}
	return groups, nil
}

// callbackParties resolves the activity owner ("" = the integration user)
// and the recipient ("to") of a profile's requests.
func (s *Syncer) callbackParties(ctx context.Context, t *Tenant, cfg config.Tenant, p config.Profile) (owner, recipient string, recipientIsQueue bool, err error) {
	needOwner := p.OwnershipRule == config.OwnerQueueOwner || cfg.Callbacks.RecipientRule == config.RecipientQueueOwner
	var queueOwner string
	if needOwner {
		qo, ok := t.CRM.(crm.QueueOwners)
		if !ok {
			return "", "", false, ErrNoQueueOwners
		}
		if p.Queue == "" {
			return "", "", false, fmt.Errorf("queue_owner rule: profile %s has no queue", p.Name)
		}
		owners, err := qo.QueueOwners(ctx, []string{p.Queue})
		if err != nil {
			return "", "", false, fmt.Errorf("queue owner of %s: %w", p.Queue, err)
		}
		queueOwner = owners[p.Queue]
		if queueOwner == "" {
			return "", "", false, fmt.Errorf("queue_owner rule: queue %s has no owning user", p.Queue)
		}
	}
	if p.OwnershipRule == config.OwnerQueueOwner {
		owner = queueOwner
	}
	if cfg.Callbacks.RecipientRule == config.RecipientQueueOwner {
		return owner, queueOwner, false, nil
	}
	return owner, p.Queue, p.Queue != "", nil
}

func callbackStart(cb enreach.Callback, now time.Time) time.Time {
	switch {
	case !cb.CreatedTime.IsZero():
		return cb.CreatedTime.UTC()
	case !cb.ModifiedTime.IsZero():
		return cb.ModifiedTime.UTC()
	}
	return now
}

// bundleKey names a bundle after the request that started it.
func bundleKey(tenant, firstID string) string {
	return fmt.Sprintf("callsync/v1/%s/callback-bundle/%s", tenant, firstID)
}

// callbackDescription renders the activity text: the request's details, the
// match note and the bundle. The full Enreach record goes to Activity.Audit.
func callbackDescription(cb enreach.Callback, matchNote, bundle string, linked []sibling) string {
	var b strings.Builder
	line := func(label, v string) {
		if strings.TrimSpace(v) != "" {
			fmt.Fprintf(&b, "%s: %s\n", label, v)
		}
	}
	fmt.Fprintf(&b, "Callback request %s\n", cb.ID)
	line("Contact", cb.ContactName)
	line("Number", cb.ContactNumber)
	line("Message", cb.ContactMessage)
	line("Note", cb.Note)
	if cb.DueDate != nil {
		line("Due", cb.DueDate.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if cb.IsClosed {
		st := cb.HandlingStatus
		if st == "" {
			st = "closed"
		}
		if cb.ClosedTime != nil {
			st += " at " + cb.ClosedTime.UTC().Format("2006-01-02 15:04 UTC")
		}
		line("Closed in Enreach", st)
	}
	line("Callback list", cb.CallbackListID)
	line("Recording", cb.RecordingID)
	if matchNote != "" {
		b.WriteString(matchNote + "\n")
	}
	if bundle != "" {
		line("Bundle", bundle)
		if len(linked) > 0 {
			parts := make([]string, len(linked))
			for i, l := range linked {
				parts[i] = l.id
				if l.crmID != "" {
					parts[i] += " (CRM " + l.crmID + ")"
				}
			}
			line("Other open requests from this number", strings.Join(parts, ", "))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// callbackAudit is the request's audit text: the full Enreach record as JSON
// with enable_audit, else "CallId is <id>" (as for calls).
func callbackAudit(cb enreach.Callback, enabled bool) string {
	if len(cb.Raw) == 0 {
		return Audit(Call{ID: cb.ID}, false)
	}
	return Audit(Call{ID: cb.ID, Raw: []json.RawMessage{cb.Raw}}, enabled)
}
