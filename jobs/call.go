package jobs

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/callsync/callsync/enreach"
)

// Call is one logical Enreach call: every user call event and service call
// record with the same CallId merged into one (a CallId seen as both a user
// call and a service call is one call).
type Call struct {
	ID string `json:"id"`
	// Queue is true when the call came through a service queue.
	Queue    bool   `json:"queue,omitempty"`
	Outbound bool   `json:"outbound,omitempty"`
	Answered bool   `json:"answered,omitempty"`
	ANum     string `json:"anum"`
	BNum     string `json:"bnum"`
	// UserID is the Enreach user who handled the call (direct: the user;
	// queue: the answering user), empty for an unanswered queue call.
	UserID      string    `json:"user_id,omitempty"`
	UserName    string    `json:"user_name,omitempty"`
	QueueID     string    `json:"queue_id,omitempty"`
	QueueName   string    `json:"queue_name,omitempty"`
	QueueNumber string    `json:"queue_number,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Duration    int       `json:"duration"`
	Privacy     string    `json:"privacy,omitempty"`
	Recordings  []string  `json:"recordings,omitempty"`
	// Raw holds the Enreach records the call was merged from, for the audit text.
	Raw []json.RawMessage `json:"raw,omitempty"`
	// lastEnd is the latest end of the records the call was merged from
	// (a transferred call's primary leg may end before its later legs).
	lastEnd time.Time
}

// CustomerNumber is the other party: the caller of an inbound call, the
// callee of an outbound one.
func (c Call) CustomerNumber() string {
	if c.Outbound {
		return c.BNum
	}
	return c.ANum
}

// Merge folds user call events and service calls into logical calls, ordered
// by start time. Rules (see README "How a call is decided"):
//   - any service call record makes it a queue call (inbound), with queue,
//     times and answered state from the service call and the answering user
//     from AnsweredByUserId, else from an answered user leg;
//   - otherwise a direct call; of several legs (transfers) the answered one
//     is primary (the earliest if several), else the earliest leg.
func Merge(calls []enreach.Call, scs []enreach.ServiceCall) []Call {
	return mergeKeep(calls, scs, nil)
}

// mergeKeep is Merge; with keep set, only the calls whose first record
// (the earliest StartTime of the records sharing its CallId) keep accepts
// are built.
func mergeKeep(calls []enreach.Call, scs []enreach.ServiceCall, keep func(first time.Time) bool) []Call {
	legs := make(map[string][]enreach.Call, len(calls))
	svc := make(map[string]enreach.ServiceCall, len(scs))
	order := make([]string, 0, len(calls)+len(scs))
	add := func(k string, seen bool) {
		if !seen {
			order = append(order, k)
		}
	}
	for _, c := range calls {
		k := strings.ToLower(c.CallID)
		ls, seen := legs[k]
		if !seen {
			_, seen = svc[k]
		}
		add(k, seen)
		legs[k] = append(ls, c)
	}
	for _, s := range scs {
		k := strings.ToLower(s.CallID)
		prev, ok := svc[k]
		seen := ok
		if !seen {
			_, seen = legs[k]
		}
		add(k, seen)
		if !ok || s.StartTime.Before(prev.StartTime) {
			svc[k] = s
		}
	}
	byStart := func(a, b enreach.Call) int { return a.StartTime.Compare(b.StartTime) }
	out := make([]Call, 0, len(order))
	for _, k := range order {
		ls := legs[k]
		slices.SortStableFunc(ls, byStart)
		s, queue := svc[k]
		if keep != nil {
			var first time.Time
			switch {
			case queue && (len(ls) == 0 || s.StartTime.Before(ls[0].StartTime)):
				first = s.StartTime
			default:
				first = ls[0].StartTime
			}
			if !keep(first) {
				continue
			}
		}
		var primary *enreach.Call
		for i := range ls {
			if ls[i].EndResult == 0 {
				primary = &ls[i]
				break
			}
		}
		if primary == nil && len(ls) > 0 {
			primary = &ls[0]
		}
		var c Call
		if queue {
			c = Call{
				ID: s.CallID, Queue: true, Answered: s.EndResult == 0, ANum: s.ANum, BNum: s.BNum,
				UserID: s.AnsweredByUserID, QueueID: s.QueueID, QueueName: s.QueueName, QueueNumber: s.QueueNumber,
				Start: s.StartTime, End: s.EndTime, Duration: s.Duration, Recordings: s.RecordingIDs,
				Raw: make([]json.RawMessage, 1, 1+len(ls)),
			}
			c.Raw[0] = s.Raw
			if primary != nil && primary.EndResult == 0 {
				if c.UserID == "" {
					c.UserID = primary.UserID
				}
				if strings.EqualFold(c.UserID, primary.UserID) {
					c.UserName = primary.UserName
				}
			}
		} else {
			p := *primary
			c = Call{
				ID: p.CallID, Outbound: p.Outbound, Answered: p.EndResult == 0, ANum: p.ANum, BNum: p.BNum,
				UserID: p.UserID, UserName: p.UserName, QueueID: p.QueueID, QueueName: p.QueueName,
				Start: p.StartTime, End: p.EndTime, Duration: p.Duration, Privacy: p.Privacy, Recordings: p.RecordingIDs,
				Raw: make([]json.RawMessage, 0, len(ls)),
			}
		}
		if queue {
			c.lastEnd = s.EndTime
		}
		for _, l := range ls {
			c.Raw = append(c.Raw, l.Raw)
			if l.EndTime.After(c.lastEnd) {
				c.lastEnd = l.EndTime
			}
		}
		c.Start, c.End = c.Start.UTC(), c.End.UTC()
		if c.End.IsZero() && !c.Start.IsZero() {
			c.End = c.Start.Add(time.Duration(c.Duration) * time.Second)
		}
		if c.End.After(c.lastEnd) {
			c.lastEnd = c.End
		}
		c.lastEnd = c.lastEnd.UTC()
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b Call) int { return a.Start.Compare(b.Start) })
	return out
}
