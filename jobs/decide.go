package jobs

import (
	"net/url"
	"strings"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
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
	ReasonNotRecorded       = "not_recorded"                 // the CRM is set not to record it (Zoho record_incoming/outgoing, module "")
	ReasonUnlinked          = "unlinked"                     // written with no customer (write_unmatched); linked when the caller appears
	ReasonLinked            = "linked"                       // written unlinked, since linked to the caller
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

// callRecording is the tenant's CRM configuration when it can switch the
// writing of calls off (zoho.Config: record_incoming, record_outgoing, an
// empty module).
type callRecording interface {
	RecordsCall(outbound bool) bool
}

// NotRecorded applies the CRM's recording switches, which need no CRM data
// either. It returns ReasonNotRecorded when the call is not to be written,
// else "". Callback requests are always written, so only calls pass here.
func NotRecorded(c Call, z config.CRM) string {
	if r, ok := z.Options.Value().(callRecording); ok && !r.RecordsCall(c.Outbound) {
		return ReasonNotRecorded
	}
	return ""
}

// auditWriter is the tenant's CRM configuration when it can tell whether
// Activity.Audit is written at all (dynamics, salesforce and zoho Config:
// audit_field set).
type auditWriter interface {
	WritesAudit() bool
}

// AuditSettings returns s with enable_audit off when the tenant's CRM
// writes no audit text (no audit_field): Decide then builds only the short
// text, which no client writes either, instead of the record's JSON (about
// 1 KB a call). Another CRM's configuration leaves s as it is.
func AuditSettings(s config.PhoneCalls, z config.CRM) config.PhoneCalls {
	if w, ok := z.Options.Value().(auditWriter); ok && !w.WritesAudit() {
		s.EnableAudit = false
	}
	return s
}

// Decision is what to do with one processed call.
type Decision struct {
	// State is the ledger state: store.Pending (write Activity),
	// store.Unresolved or store.Skipped.
	State    store.LedgerState
	Reason   string
	Activity crm.Activity
	// Unmapped is the Enreach user of the call when that user has no CRM
	// user (the default assignee, if any, stands in), "" otherwise;
	// callsync status counts these calls per user.
	Unmapped string
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
//
// Matches, following Enreach Voice for Dynamics 365's settings:
//   - one: linked;
//   - several, multiple_matches_pick_first: the first is linked (direct
//     and queue calls: "the first account or contact is picked");
//   - several, a queue (service) call, enable_multiple_match_create: written
//     unlinked and open with multiple_match_phone_call_status
//     (EnableMultipleMatchCreate "defines if service calls should be
//     created when multiple contacts/accounts/leads found");
//   - several otherwise (a direct call, or create off): not written,
//     unresolved multiple_matches (unlinked beats wrong);
//   - none: unresolved no_match, or with write_unmatched written unlinked
//     (reason unlinked) and linked later when the caller appears.
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
	var unmapped string
	a.OwnerID = owners.User
	if a.OwnerID == "" {
		a.OwnerID = owners.Default
		unmapped = strings.ToLower(c.UserID)
	}
	a.UserID = a.OwnerID
	links := RecordingLinks(s.RecordingLink, c.Recordings)
	if len(links) > 0 {
		a.RecordingLink = links[0]
	}
	a.Description = Describe(c, number, links)
	a.Audit = Audit(c, s.EnableAudit)

	d := decideMatch(c, matches, s, a)
	d.Unmapped = unmapped
	return d
}

func decideMatch(c Call, matches []crm.Record, s config.PhoneCalls, a crm.Activity) Decision {
	switch {
	case len(matches) == 0 && s.WriteUnmatched:
		return Decision{State: store.Pending, Reason: ReasonUnlinked, Activity: a}
	case len(matches) == 0:
		return Decision{State: store.Unresolved, Reason: ReasonNoMatch}
	case len(matches) == 1 || s.MultipleMatchesPickFirst:
		r := matches[0].Ref
		a.Regarding = &r
		a.Related = refs(matches[:1])
		return Decision{State: store.Pending, Activity: a}
	case c.Queue && s.EnableMultipleMatchCreate:
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

// Audit is the activity's audit text (the original's "Enreach Api Audit"
// field): with enable_audit the full Enreach record as JSON (an array when
// the call merges several records), else "CallId is <id>".
func Audit(c Call, enabled bool) string {
	if !enabled || len(c.Raw) == 0 {
		return "CallId is " + c.ID
	}
	if len(c.Raw) == 1 {
		if b, err := jsonw.AppendCompact(nil, c.Raw[0]); err == nil {
			return string(b)
		}
	}
	// json.Marshal(c.Raw), appended without reflection.
	n := 2
	for _, r := range c.Raw {
		n += len(r) + 1
	}
	b := append(make([]byte, 0, n), '[')
	for i, r := range c.Raw {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = jsonw.AppendRaw(b, r); err != nil {
			return "CallId is " + c.ID
		}
	}
	return string(append(b, ']'))
}

// RecordingLinks builds one address per recording id from the
// phone_calls.recording_link template ({id} stands for the id, path-escaped);
// nil when the template is empty.
func RecordingLinks(template string, ids []string) []string {
	if template == "" {
		return nil
	}
	var out []string
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, strings.ReplaceAll(template, "{id}", url.PathEscape(id)))
		}
	}
	return out
}

// Describe is the activity's short human summary: what kind of call, who,
// when, how long, the recordings (their links when there are any, else
// their ids), and the Enreach call id.
func Describe(c Call, number string, links []string) string {
	var b strings.Builder
	b.Grow(256)
	line := func(label, v string) {
		if strings.TrimSpace(v) != "" {
			b.WriteString(label)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	b.WriteString("CallId is ")
	b.WriteString(c.ID)
	b.WriteByte('\n')
	switch {
	case c.Outbound:
		b.WriteString("Outgoing direct call\n")
	case c.Queue && c.Answered:
		b.WriteString("Incoming queue call, answered\n")
	case c.Queue:
		b.WriteString("Incoming queue call, not answered\n")
	default:
		b.WriteString("Incoming direct call\n")
	}
	line("Customer", number)
	if c.Queue {
		q := c.QueueName
		if c.QueueNumber != "" {
			q = strings.TrimSpace(q + " (" + c.QueueNumber + ")")
		}
		line("Queue", q)
	}
	line("User", c.UserName)
	if !c.Start.IsZero() {
		line("Start", c.Start.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if c.Answered {
		line("Duration", (time.Duration(c.Duration) * time.Second).String())
	}
	if len(links) > 0 {
		line("Recording", strings.Join(links, " "))
	} else {
		line("Recording", strings.Join(c.Recordings, ", "))
	}
	return strings.TrimRight(b.String(), "\n")
}
