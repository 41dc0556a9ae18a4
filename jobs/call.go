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
	// A CallId's records are found by index: its legs as a chain through
	// next (in the order they came), its service call as the earliest
	// one's index. Most calls have one leg, which is then read where it is
	// instead of copied into a slice of its own.
	type records struct {
		first, last, legs int // first and last leg, -1 for none; legs: their number
		svc               int // the service call, -1 for none
	}
	byID := make(map[string]int, len(calls)) // lower-cased CallId -> ids index
	ids := make([]records, 0, len(calls)+len(scs))
	next := make([]int, len(calls))
	at := func(k string) *records {
		i, ok := byID[k]
		if !ok {
			i = len(ids)
			byID[k] = i
			ids = append(ids, records{first: -1, last: -1, svc: -1})
		}
		return &ids[i]
	}
	for i, c := range calls {
		r := at(strings.ToLower(c.CallID))
		next[i] = -1
		if r.first < 0 {
			r.first = i
		} else {
			next[r.last] = i
		}
		r.last = i
		r.legs++
	}
	for j, s := range scs {
		r := at(strings.ToLower(s.CallID))
		if r.svc < 0 || s.StartTime.Before(scs[r.svc].StartTime) {
			r.svc = j
		}
	}
	byStart := func(a, b enreach.Call) int { return a.StartTime.Compare(b.StartTime) }
	out := make([]Call, 0, len(ids))
	for _, r := range ids {
		var ls []enreach.Call
		switch {
		case r.legs == 1:
			ls = calls[r.first : r.first+1 : r.first+1]
		case r.legs > 1:
			ls = make([]enreach.Call, 0, r.legs)
			for i := r.first; i >= 0; i = next[i] {
				ls = append(ls, calls[i])
			}
			slices.SortStableFunc(ls, byStart)
		}
		var s enreach.ServiceCall
		queue := r.svc >= 0
		if queue {
			s = scs[r.svc]
		}
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
