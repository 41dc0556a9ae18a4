package dynamics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
)

// WriteActivities implements crm.Client. Each activity is one changeset of a
// $batch: the POST of the phonecall with activityid = ActivityID(Key), then,
// in the same transaction, its close (or open status reason) and, for
// callbacks, AddToQueue. A duplicate activityid means an earlier run wrote it:
// Existed.
func (c *Client) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	results := make([]crm.WriteResult, len(acts))
	var (
		sets    [][]op
		setItem []int // changeset -> activity index
	)
	w := writeOpts{queueParty: !c.queuePartyOff.Load(), body: new(jsonw.Object)}
	w.auditColumn, w.auditMax = c.auditColumn(ctx, acts)
	for i, a := range acts {
		id := ActivityID(a.Key)
		results[i] = crm.WriteResult{Key: a.Key, ID: id}
		if a.Key == "" {
			results[i].Status, results[i].Err = crm.Failed, fmt.Errorf("dynamics: write: empty key: %w", crm.ErrPermanent)
			continue
		}
		ops, err := activityOps(id, a, w)
		if err != nil {
			results[i].Status, results[i].Err = crm.Failed, fmt.Errorf("dynamics: write %s: %w", a.Key, err)
			continue
		}
		sets = append(sets, ops)
		setItem = append(setItem, i)
	}
	if len(sets) == 0 {
		return results, nil
	}
	rs, err := c.runChangesets(ctx, "write", sets)
	if err != nil {
		return nil, fmt.Errorf("dynamics: write %d activities: %w", len(sets), err)
	}
	if w.queueParty {
		c.queuePartyFallback(ctx, acts, setItem, rs, w)
	}
	for j, r := range rs {
		i := setItem[j]
		a := acts[i]
		switch {
		case r.err == nil:
			results[i].Status = crm.Created
		case isDuplicate(r):
			results[i].Status = crm.Existed
		default:
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("dynamics: write %s: %w", a.Key, r.err)
			if isInvalidProperty(r.err) {
				// A column went away: read the definitions again before
				// the engine retries this item.
				c.schemaMu.Lock()
				c.sch = nil
				c.schemaMu.Unlock()
			}
		}
	}
	return results, nil
}

// writeOpts are the org-dependent choices of a write.
type writeOpts struct {
	// queueParty writes the queue of a callback request as its "to" party.
	queueParty bool
	// auditColumn receives Activity.Audit, cut at auditMax characters.
	auditColumn string
	auditMax    int
	// body, when set, is the object phoneCallBody builds each body in,
	// its memory kept from one activity to the next (Append copies the
	// body out): a write's bodies are built one after the other.
	body *jsonw.Object
}

// queuePartyFallback handles an org that refuses a queue as the "to" party
// of a phone call: the callback requests with a queue party whose create was
// refused with 400 are sent again without it (the queue named in the
// description instead). When one of those goes through, the org does not take
// queue parties: every later write of this client (one tenant) leaves them
// out, and that is logged once. rs is updated in place. The changesets were
// atomic, so the refused ones left nothing behind.
func (c *Client) queuePartyFallback(ctx context.Context, acts []crm.Activity, setItem []int, rs []csResult, w writeOpts) {
	w.queueParty = false
	var (
		retry []int // changeset indexes
		sets  [][]op
	)
	for j, r := range rs {
		a := acts[setItem[j]]
		if r.err == nil {
			continue // before e: it escapes (errors.As), one allocation per written call
		}
		var e *Error
		if !usesQueueParty(a) || isDuplicate(r) || !errors.As(r.err, &e) ||
			e.Status != http.StatusBadRequest || r.failedCID > 1 {
			continue
		}
		ops, err := activityOps(ActivityID(a.Key), a, w)
		if err != nil {
			continue
		}
		retry = append(retry, j)
		sets = append(sets, ops)
	}
	if len(retry) == 0 {
		return
	}
	again, err := c.runChangesets(ctx, "write", sets)
	if err != nil {
		return
	}
	accepted := false
	for k, r := range again {
		if r.err == nil || isDuplicate(r) {
			accepted = true
		}
		rs[retry[k]] = r
	}
	if accepted && c.queuePartyOff.CompareAndSwap(false, true) {
		c.log.Warn("dynamics: the org refuses a queue as the \"to\" party of a phone call; callback requests now name their queue in the description instead",
			"refused", rs[retry[0]].err)
	}
}

// QueuePartyRefused reports whether this org refused a queue as a phone
// call party, so callback requests name their queue in the description.
func (c *Client) QueuePartyRefused() bool { return c.queuePartyOff.Load() }

// usesQueueParty says whether the activity is a callback request addressed
// to a queue, written with the queue as its "to" party.
func usesQueueParty(a crm.Activity) bool {
	return a.Kind == crm.KindCallback && a.RecipientIsQueue && queueRecipient(a) != ""
}

// queueRecipient is the queue a callback request is addressed to.
func queueRecipient(a crm.Activity) string {
	if a.RecipientID != "" {
		return a.RecipientID
	}
	return a.QueueID
}

// alreadyClosed says whether a failed close means the activity was closed
// already.
func alreadyClosed(err error) bool {
	var e *Error
	return errors.As(err, &e) && strings.Contains(e.Message, closedActivityMessage)
}

// isDuplicate says whether a failed create means "already written": 412 on
// the create, or the duplicate-key code anywhere [Idempotency, assumed].
func isDuplicate(r csResult) bool {
	if r.err == nil {
		return false
	}
	var e *Error
	if !errors.As(r.err, &e) {
		return false
	}
	if e.Code == codeDuplicateKey {
		return true
	}
	return e.Status == http.StatusPreconditionFailed && (r.failedCID == 0 || r.failedCID == 1)
}

// activityOps builds one activity's changeset. Content-IDs are 1.. within the
// changeset; the create is always 1.
func activityOps(id string, a crm.Activity, w writeOpts) ([]op, error) {
	body, err := phoneCallBody(id, a, w)
	if err != nil {
		return nil, err
	}
	entry := [][2]string{{"Content-Type", "application/json; type=entry"}}
	ops := []op{{method: http.MethodPost, url: APIPath + "/" + phoneCallSet, header: entry, body: body, cid: 1}}
	if a.Kind == crm.KindCallback && a.QueueID != "" {
		if _, err := uuid.Parse(a.QueueID); err != nil {
			return nil, fmt.Errorf("queue id %q: %w", a.QueueID, crm.ErrPermanent)
		}
		target, _ := json.Marshal(map[string]any{
			"Target": map[string]string{"activityid": id, "@odata.type": phoneCallType},
		})
		ops = append(ops, op{
			method: http.MethodPost,
			url:    APIPath + "/" + queueSet + "(" + a.QueueID + ")/" + addToQueueAction,
			header: [][2]string{{"Content-Type", "application/json"}},
			body:   target, cid: len(ops) + 1,
		})
	}
	// The state as json.Marshal writes map[string]int{"statecode": ...,
	// "statuscode": ...}.
	var state jsonw.Object
	switch {
	case !a.Open:
		status := statusReceived
		if a.Kind == crm.KindCallback {
			status = closeStatusCall
		} else if a.Direction != crm.Inbound {
			status = statusMade
		}
		state.Int("statecode", stateCompleted)
		state.Int("statuscode", status)
	case a.StatusReason != 0:
		state.Int("statecode", stateOpen)
		state.Int("statuscode", a.StatusReason)
	}
	if state.Len() > 0 {
		ops = append(ops, op{method: http.MethodPatch, url: "$1", header: entry, body: state.Append(nil), cid: len(ops) + 1})
	}
	return ops, nil
}

// phoneCallBody is the phonecall entity of an activity [Writing a completed
// phone-call activity]. w.queueParty writes a callback request addressed to a
// queue with the queue as its "to" party; otherwise the queue is named in the
// description. The audit JSON goes to w.auditColumn, cut at the column's
// maximum length with a marker.
func phoneCallBody(id string, a crm.Activity, w writeOpts) ([]byte, error) {
	customer := a.Regarding
	var meta entityMeta
	if customer != nil {
		var ok bool
		if meta, ok = entities[customer.Entity]; !ok {
			return nil, fmt.Errorf("regarding entity %q: %w", customer.Entity, crm.ErrPermanent)
		}
		if _, err := uuid.Parse(customer.ID); err != nil {
			return nil, fmt.Errorf("regarding id %q: %w", customer.ID, crm.ErrPermanent)
		}
	}
	for _, uid := range []string{a.OwnerID, a.UserID, a.RecipientID} {
		if uid == "" {
			continue
		}
		if _, err := uuid.Parse(uid); err != nil {
			return nil, fmt.Errorf("user id %q: %w", uid, crm.ErrPermanent)
		}
	}
	queueTo := w.queueParty && usesQueueParty(a)
	desc := a.Description
	if !queueTo && a.Kind == crm.KindCallback && a.RecipientIsQueue && a.QueueName != "" && !strings.Contains(desc, a.QueueName) {
		// The org refuses a queue party: name the queue in the text.
		if desc != "" {
			desc += "\n"
		}
		desc += fmt.Sprintf(queueDescriptionFmt, a.QueueName)
	}
	// The entity as json.Marshal writes a map of these members (keys in
	// sorted order), appended without reflection.
	b := w.body
	if b == nil {
		b = new(jsonw.Object)
	}
	b.Reset()
	b.Grow(16, 512+len(a.Subject)+len(a.Number)+len(desc)+len(a.Audit))
	b.String("activityid", id)
	b.String("subject", truncate(a.Subject, maxSubjectLen))
	b.String("phonenumber", truncate(a.Number, maxPhoneNumberLen))
	dir := directionOutbound
	if a.Direction == crm.Inbound {
		dir = directionInbound
	}
	b.Bool("directioncode", dir)
	b.String("description", truncate(desc, maxDescriptionLen))
	if w.auditColumn != "" && a.Audit != "" {
		b.String(w.auditColumn, truncateAudit(a.Audit, w.auditMax))
	}
	if !a.Start.IsZero() {
		b.String("actualstart", dateLiteral(a.Start))
		end := a.End
		if end.IsZero() || end.Before(a.Start) {
			end = a.Start.Add(a.Duration)
		}
		b.String("actualend", dateLiteral(end))
		b.Int("actualdurationminutes", int(a.Duration/time.Minute))
	}
	if a.Kind == crm.KindCallback && a.Due != nil {
		b.String("scheduledend", dateLiteral(*a.Due))
	}
	if a.OwnerID != "" {
		b.String(ownerBind, userBindPrefix+a.OwnerID+")")
	}
	var customerParty, userParty party
	if customer != nil {
		bind := "/" + meta.set + "(" + customer.ID + ")"
		b.String(meta.regardingBind, bind)
		customerParty = party{meta.partyBind, bind}
	}
	userID := a.UserID
	if a.Kind == crm.KindCallback && a.RecipientID != "" && !a.RecipientIsQueue {
		// A callback is addressed to its recipient user (the queue's
		// owner under recipient_rule: queue_owner).
		userID = a.RecipientID
	}
	switch {
	case queueTo:
		// activityparty.partyid targets queue, so the queue itself is
		// the "to" party, as the product callsync replaces writes it
		// [Writing: Parties].
		userParty = party{queuePartyBind, "/" + queueSet + "(" + queueRecipient(a) + ")"}
	case userID != "":
		userParty = party{userPartyBind, userBindPrefix + userID + ")"}
	}
	// Inbound (and callback requests): customer from, user to; outbound:
	// user from, customer to.
	from, to := customerParty, userParty
	if a.Kind != crm.KindCallback && a.Direction != crm.Inbound {
		from, to = userParty, customerParty
	}
	if from.bind != "" || to.bind != "" {
		ps := make([]byte, 0, 256)
		ps = append(ps, '[')
		if from.bind != "" {
			ps = from.append(ps, partySender)
		}
		if to.bind != "" {
			if from.bind != "" {
				ps = append(ps, ',')
			}
			ps = to.append(ps, partyToRecipient)
		}
		b.Value(partiesProperty, append(ps, ']'))
	}
	return b.Append(nil), nil
}

// party is an activity party: its partyid binding (bind) to the record
// (value).
type party struct{ bind, value string }

// append appends the party with its participation type, as json.Marshal
// writes the map {bind: value, "participationtypemask": mask}: the mask
// first, its key sorting before every partyid_<entity>@odata.bind.
func (p party) append(dst []byte, mask int) []byte {
	dst = append(dst, `{"participationtypemask":`...)
	dst = jsonw.AppendInt(dst, mask)
	dst = append(dst, ',')
	dst = jsonw.AppendString(dst, p.bind)
	dst = append(dst, ':')
	dst = jsonw.AppendString(dst, p.value)
	return append(dst, '}')
}

// truncate cuts s to at most n characters (runes), keeping valid UTF-8.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// CloseActivities implements crm.Client: one PATCH of statecode/statuscode
// per activity (If-Match: * so a deleted activity is not re-created by
// upsert), many per $batch. An activity that is already closed counts as
// Existed.
func (c *Client) CloseActivities(ctx context.Context, reqs []crm.CloseRequest) ([]crm.WriteResult, error) {
	results := make([]crm.WriteResult, len(reqs))
	var (
		sets    [][]op
		setItem []int
	)
	body, _ := json.Marshal(map[string]int{"statecode": stateCompleted, "statuscode": closeStatusCall})
	for i, r := range reqs {
		id := r.ID
		if id == "" && r.Key != "" {
			id = ActivityID(r.Key)
		}
		results[i] = crm.WriteResult{Key: r.Key, ID: id}
		if _, err := uuid.Parse(id); err != nil {
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("dynamics: close %s: activity id %q: %w", r.Key, id, crm.ErrPermanent)
			continue
		}
		sets = append(sets, []op{{
			method: http.MethodPatch,
			url:    APIPath + "/" + phoneCallSet + "(" + id + ")",
			header: [][2]string{{"Content-Type", "application/json; type=entry"}, {"If-Match", "*"}},
			body:   body, cid: 1,
		}})
		setItem = append(setItem, i)
	}
	if len(sets) == 0 {
		return results, nil
	}
	rs, err := c.runChangesets(ctx, "close", sets)
	if err != nil {
		return nil, fmt.Errorf("dynamics: close %d activities: %w", len(sets), err)
	}
	for j, r := range rs {
		i := setItem[j]
		switch {
		case r.err == nil:
			results[i].Status = crm.Created
		case alreadyClosed(r.err):
			results[i].Status = crm.Existed
		default:
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("dynamics: close %s: %w", reqs[i].Key, r.err)
		}
	}
	return results, nil
}
