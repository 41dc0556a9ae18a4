package jobs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/store"
)

// Reasons recorded on ledger rows that are not written.
const (
	ReasonDirectOff         = "direct_calls_off"             // process_direct_calls false
	ReasonServiceOff        = "service_calls_off"            // process_service_calls false
	ReasonUnansweredOff     = "unanswered_service_calls_off" // process_service_calls_unanswered false
	ReasonNotWork           = "not_work"                     // direct call classified Private or Undefined
	ReasonTooShort          = "too_short"                    // shorter than call_duration_limit
	ReasonUnansweredDirect  = "unanswered_direct"            // a direct call nobody answered
	ReasonUnmatchable       = "unmatchable_number"           // anonymous, withheld, too short, unparsable
	ReasonInternal          = "internal_number"              // the organisation's own number
	ReasonNoMatch           = "no_match"                     // unresolved: no CRM record yet
	ReasonMultipleMatches   = "multiple_matches"             // unresolved: several records, no create
	ReasonExistingActivity  = "existing_activity"            // written: a CRM activity inside call_start_margin
	ReasonMultipleMatchOpen = "multiple_match_open"          // written unlinked, open for a person
	ReasonNotRecorded       = "not_recorded"                 // the CRM client is set not to record it (Zoho record_incoming/outgoing)
)

// Filter applies the settings that need no CRM data. It returns "" when the
// call is to be processed, else the skip reason.
func Filter(c Call, s config.PhoneCalls) string {
	switch {
	case c.Queue && c.Answered && !s.ProcessServiceCalls:
		return ReasonServiceOff
	case c.Queue && !c.Answered && !s.ProcessServiceCallsUnanswered:
		return ReasonUnansweredOff
	case !c.Queue && !s.ProcessDirectCalls:
		return ReasonDirectOff
	case !c.Queue && !strings.EqualFold(c.Privacy, "Work"):
		// Only direct calls carry a privacy class; queue calls are work.
		return ReasonNotWork
	case !c.Queue && !c.Answered:
		return ReasonUnansweredDirect
	case c.Answered && time.Duration(c.Duration)*time.Second < s.CallDurationLimit.D():
		// A missed call has no talk time; the limit applies to answered calls.
		return ReasonTooShort
	}
	return ""
}

// Decision is what to do with one processed call.
type Decision struct {
	// State is the ledger state: store.Pending (write Activity),
	// store.Unresolved or store.Skipped.
	State    string
	Reason   string
	Activity crm.Activity
}

// Owners are the CRM users relevant to one call.
type Owners struct {
	// User is the CRM user mapped from the call's Enreach user ("" if none).
	User string
	// Default is the CRM user mapped from default_crm_assignee ("" if none).
	Default string
}

// Decide builds the activity for a call that passed Filter, given its
// verified CRM matches (in CRM order) and owners. number is the customer's
// number as it will be written (E.164 when it parsed).
func Decide(tenant string, c Call, number string, matches []crm.Record, owners Owners, s config.PhoneCalls) Decision {
	a := crm.Activity{
		Key:       crm.Key(tenant, crm.KindCall, strings.ToLower(c.ID)),
		Kind:      crm.KindCall,
		EnreachID: c.ID,
		Number:    number,
		Start:     c.Start,
		End:       c.End,
		Duration:  time.Duration(c.Duration) * time.Second,
		Answered:  c.Answered,
		QueueName: c.QueueName,
	}
	switch {
	case c.Outbound:
		a.Direction, a.Subject, a.DialledNumber = crm.Outbound, s.OutgoingDirectCallSubject, c.ANum
	case c.Queue:
		a.Direction, a.Subject, a.DialledNumber = crm.Inbound, s.IncomingQueueCallSubject, c.BNum
	default:
		a.Direction, a.Subject, a.DialledNumber = crm.Inbound, s.IncomingDirectCallSubject, c.BNum
	}
	a.OwnerID = owners.User
	if a.OwnerID == "" {
		a.OwnerID = owners.Default
	}
	a.UserID = a.OwnerID
	a.Description = Audit(c, s.EnableAudit)

	switch {
	case len(matches) == 0:
		return Decision{State: store.Unresolved, Reason: ReasonNoMatch}
	case len(matches) == 1 || s.MultipleMatchesPickFirst:
		r := matches[0].Ref
		a.Regarding = &r
		a.Related = refs(matches[:1])
		return Decision{State: store.Pending, Activity: a}
	case s.EnableMultipleMatchCreate:
		a.Open = true
		a.StatusReason = s.MultipleMatchPhoneCallStatus
		a.Related = refs(matches)
		return Decision{State: store.Pending, Reason: ReasonMultipleMatchOpen, Activity: a}
	default:
		return Decision{State: store.Unresolved, Reason: ReasonMultipleMatches}
	}
}

func refs(rs []crm.Record) []crm.Ref {
	out := make([]crm.Ref, len(rs))
	for i, r := range rs {
		out[i] = r.Ref
	}
	return out
}

// Audit renders the activity description: with enable_audit every Enreach
// value of the call (each source record's fields, sorted), else "CallId is <id>".
func Audit(c Call, enabled bool) string {
	if !enabled {
		return "CallId is " + c.ID
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CallId is %s\n", c.ID)
	for _, raw := range c.Raw {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if d.Decode(&m) != nil {
			continue
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("--\n")
		for _, k := range keys {
			v := m[k]
			if v == nil {
				continue
			}
			switch x := v.(type) {
			case string:
				fmt.Fprintf(&b, "%s: %s\n", k, x)
			default:
				j, _ := json.Marshal(x)
				fmt.Fprintf(&b, "%s: %s\n", k, j)
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
