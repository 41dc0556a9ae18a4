package dynamics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
)

// encodeActivities are activities covering phoneCallBody's branches:
// directions, kinds, each regarding entity and none, owner, user, queue and
// recipient parties, audit cut or not, start and end missing or out of
// order, a due time, and text that json.Marshal escapes or that is cut.
func encodeActivities() []crm.Activity {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	due := start.Add(2 * time.Hour)
	user := "6f1c1d7e-3b0a-4b8e-9a51-1f0d7c2e9a01"
	other := "7a2d2e8f-4c1b-4c9f-8b62-2a1e8d3f0b12"
	queue := "8b3e3f90-5d2c-4da0-9c73-3b2f9e401c23"
	base := crm.Activity{
		Key: "t/call/1", Kind: crm.KindCall, EnreachID: "0f6b2c1e", Number: "+358401234567", Direction: crm.Inbound,
		Subject: "Incoming call", Description: "CallId is 0f6b2c1e\nanswered", Start: start, End: start.Add(3 * time.Minute),
		Duration: 3*time.Minute + 30*time.Second, Answered: true, OwnerID: user, UserID: user,
		Regarding: &crm.Ref{Entity: crm.Contact, ID: "2a7d4c61-8e0b-4f3a-b9d2-5c6e7f809a1b"},
		Audit:     `{"CallId":"0f6b2c1e","QueueName":"A & B <x>"}`,
	}
	var out []crm.Activity
	add := func(f func(a *crm.Activity)) {
		a := base
		f(&a)
		out = append(out, a)
	}
	add(func(a *crm.Activity) {})
	add(func(a *crm.Activity) { a.Direction = crm.Outbound })
	add(func(a *crm.Activity) { a.Regarding = &crm.Ref{Entity: crm.Account, ID: a.Regarding.ID} })
	add(func(a *crm.Activity) {
		a.Regarding = &crm.Ref{Entity: crm.Lead, ID: a.Regarding.ID}
		a.Direction = crm.Outbound
	})
	add(func(a *crm.Activity) { a.Regarding = nil })
	add(func(a *crm.Activity) { a.Regarding, a.UserID = nil, "" })
	add(func(a *crm.Activity) { a.Regarding, a.UserID, a.Direction = nil, "", crm.Outbound })
	add(func(a *crm.Activity) { a.OwnerID, a.UserID = "", "" })
	add(func(a *crm.Activity) { a.Start, a.End = time.Time{}, time.Time{} })
	add(func(a *crm.Activity) { a.End = a.Start.Add(-time.Minute) })
	add(func(a *crm.Activity) { a.End = time.Time{} })
	add(func(a *crm.Activity) { a.Audit = "" })
	add(func(a *crm.Activity) { a.Audit = strings.Repeat("äö<&>", 2000) })
	add(func(a *crm.Activity) {
		a.Subject = strings.Repeat("Ä", 300) + "\u2028"
		a.Description = strings.Repeat("<b>\"x\"\\\t</b>", 20000)
		a.Number = strings.Repeat("9", 300)
	})
	add(func(a *crm.Activity) { a.Subject, a.Description, a.Number = "", "", "" })
	// Callback requests: to a user, to a queue (as party or named), due.
	add(func(a *crm.Activity) {
		a.Kind, a.Open, a.Due, a.RecipientID = crm.KindCallback, true, &due, other
	})
	add(func(a *crm.Activity) {
		a.Kind, a.Open, a.Due, a.Direction = crm.KindCallback, true, &due, crm.Outbound
	})
	add(func(a *crm.Activity) {
		a.Kind, a.Open, a.RecipientIsQueue, a.QueueID, a.QueueName = crm.KindCallback, true, true, queue, "Support"
	})
	add(func(a *crm.Activity) {
		a.Kind, a.Open, a.RecipientIsQueue, a.RecipientID, a.QueueName = crm.KindCallback, true, true, queue, "Sales & <Care>"
		a.Description = ""
	})
	add(func(a *crm.Activity) {
		a.Kind, a.Open, a.RecipientIsQueue, a.QueueID, a.QueueName = crm.KindCallback, true, true, queue, "Support"
		a.Description = "already names Support"
		a.Regarding = nil
	})
	return out
}

// TestPhoneCallBodyAsMap compares phoneCallBody with the map and
// json.Marshal it replaced (refPhoneCallBody, the code before), byte for
// byte, for every activity of encodeActivities under each writeOpts shape,
// including an audit column named like a standard column.
func TestPhoneCallBodyAsMap(t *testing.T) {
	opts := []writeOpts{
		{},
		{auditColumn: "new_audit", auditMax: 4000},
		{auditColumn: "new_audit", auditMax: 60, queueParty: true},
		{queueParty: true},
		{auditColumn: "description", auditMax: 100},
		{auditColumn: "zz_<audit>", auditMax: 100000},
	}
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("t/call/1")).String()
	n := 0
	// One object for every body built with writeOpts.body, as a write
	// builds its activities' bodies one after the other.
	var shared jsonw.Object
	for i, a := range encodeActivities() {
		for j, w := range opts {
			want, werr := refPhoneCallBody(id, a, w)
			got, err := phoneCallBody(id, a, w)
			if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
				t.Errorf("activity %d, opts %d: got %s, %v\nwant %s, %v", i, j, got, err, want, werr)
			}
			w.body = &shared
			got, err = phoneCallBody(id, a, w)
			if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
				t.Errorf("activity %d, opts %d, shared object: got %s, %v\nwant %s, %v", i, j, got, err, want, werr)
			}
			n++
		}
	}
	// Refused ids fail alike.
	for _, a := range []crm.Activity{
		{Regarding: &crm.Ref{Entity: crm.Contact, ID: "not-a-guid"}},
		{Regarding: &crm.Ref{Entity: "opportunity", ID: "2a7d4c61-8e0b-4f3a-b9d2-5c6e7f809a1b"}},
		{OwnerID: "x"},
	} {
		if _, err := phoneCallBody(id, a, writeOpts{}); err == nil {
			t.Errorf("%+v: no error", a)
		}
	}
	if n == 0 {
		t.Fatal("no activity compared")
	}
	var m map[string]any
	if b, _ := phoneCallBody(id, encodeActivities()[0], opts[1]); json.Unmarshal(b, &m) != nil || len(m) == 0 {
		t.Errorf("body is not a JSON object: %s", b)
	}
}

// TestActivityStateAsMap compares the state PATCH of activityOps with the
// json.Marshal of a map it replaced, for completed calls of each direction,
// completed and open callback requests, and an open one with a status
// reason.
func TestActivityStateAsMap(t *testing.T) {
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("t/call/1")).String()
	n := 0
	for i, a := range encodeActivities() {
		for _, reason := range []int{0, 3} {
			a.StatusReason = reason
			var want map[string]int
			switch {
			case !a.Open:
				status := statusReceived
				if a.Kind == crm.KindCallback {
					status = closeStatusCall
				} else if a.Direction != crm.Inbound {
					status = statusMade
				}
				want = map[string]int{"statecode": stateCompleted, "statuscode": status}
			case a.StatusReason != 0:
				want = map[string]int{"statecode": stateOpen, "statuscode": a.StatusReason}
			}
			ops, err := activityOps(id, a, writeOpts{})
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			for _, o := range ops {
				if o.url == "$1" {
					got = o.body
				}
			}
			wb, _ := json.Marshal(want)
			if want == nil {
				wb = nil
			} else {
				n++
			}
			if !bytes.Equal(got, wb) {
				t.Errorf("activity %d, reason %d: state %s, want %s", i, reason, got, wb)
			}
		}
	}
	if n == 0 {
		t.Fatal("no state compared")
	}
}

// refPhoneCallBody is phoneCallBody as it was before it was appended without
// reflection: a map of the members, json.Marshal.
func refPhoneCallBody(id string, a crm.Activity, w writeOpts) ([]byte, error) {
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
	b := map[string]any{
		"activityid":    id,
		"subject":       truncate(a.Subject, maxSubjectLen),
		"phonenumber":   truncate(a.Number, maxPhoneNumberLen),
		"directioncode": directionOutbound,
		"description":   truncate(desc, maxDescriptionLen),
	}
	if a.Direction == crm.Inbound {
		b["directioncode"] = directionInbound
	}
	if w.auditColumn != "" && a.Audit != "" {
		b[w.auditColumn] = truncateAudit(a.Audit, w.auditMax)
	}
	if !a.Start.IsZero() {
		b["actualstart"] = dateLiteral(a.Start)
		end := a.End
		if end.IsZero() || end.Before(a.Start) {
			end = a.Start.Add(a.Duration)
		}
		b["actualend"] = dateLiteral(end)
		b["actualdurationminutes"] = int(a.Duration / time.Minute)
	}
	if a.Kind == crm.KindCallback && a.Due != nil {
		b["scheduledend"] = dateLiteral(*a.Due)
	}
	if a.OwnerID != "" {
		b[ownerBind] = userBindPrefix + a.OwnerID + ")"
	}
	var customerParty map[string]any
	if customer != nil {
		bind := "/" + meta.set + "(" + customer.ID + ")"
		b[meta.regardingBind] = bind
		customerParty = map[string]any{meta.partyBind: bind}
	}
	userID := a.UserID
	if a.Kind == crm.KindCallback && a.RecipientID != "" && !a.RecipientIsQueue {
		// A callback is addressed to its recipient user (the queue's
		// owner under recipient_rule: queue_owner).
		userID = a.RecipientID
	}
	var userParty map[string]any
	switch {
	case queueTo:
		// activityparty.partyid targets queue, so the queue itself is
		// the "to" party, as the product callsync replaces writes it
		// [Writing: Parties].
		userParty = map[string]any{queuePartyBind: "/" + queueSet + "(" + queueRecipient(a) + ")"}
	case userID != "":
		userParty = map[string]any{userPartyBind: userBindPrefix + userID + ")"}
	}
	// Inbound (and callback requests): customer from, user to; outbound:
	// user from, customer to.
	from, to := customerParty, userParty
	if a.Kind != crm.KindCallback && a.Direction != crm.Inbound {
		from, to = userParty, customerParty
	}
	var parties []map[string]any
	if from != nil {
		from["participationtypemask"] = partySender
		parties = append(parties, from)
	}
	if to != nil {
		to["participationtypemask"] = partyToRecipient
		parties = append(parties, to)
	}
	if len(parties) > 0 {
		b[partiesProperty] = parties
	}
	return json.Marshal(b)
}
