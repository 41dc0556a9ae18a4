package zoho

// Every field mapping of the Zoho client lives in this file. [doc] marks a
// fact from Zoho's documentation (URL given), [assumed] a team assumption that
// a sandbox run must confirm.

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callsync/callsync/crm"
)

// apiVersion is the REST version in the base URL {api_domain}/crm/{version}.
// v8 has the same shapes as v7 [doc] https://www.zoho.com/crm/developer/docs/api/v8/multi-dc.html.
const apiVersion = "v8"

// Module and field API names of the standard Calls module.
// [doc] https://www.zoho.com/crm/developer/docs/api/v8/insert-records.html ("Sample Input to Insert a Call").
const (
	callsModule    = "Calls"
	fSubject       = "Subject"
	fCallType      = "Call_Type"
	fCallStartTime = "Call_Start_Time"
	fCallDuration  = "Call_Duration"
	fWhoID         = "Who_Id"
	fWhatID        = "What_Id"
	fSeModule      = "$se_module"
	fOwner         = "Owner"
	fModifiedTime  = "Modified_Time"
	// Older write-ups name the status field "Outbound_Call_Status"; field exports of
	// live orgs and COQL queries in third-party integrations all use the API
	// name "Outgoing_Call_Status" (picklist Scheduled, Completed, Overdue,
	// Cancelled), so callsync writes that [code].
	fOutboundStatus    = "Outgoing_Call_Status"
	fDescription       = "Description"
	fDialledNumber     = "Dialled_Number"
	fCallerID          = "Caller_ID"
	callTypeInbound    = "Inbound"
	callTypeOutbound   = "Outbound"
	callTypeMissed     = "Missed"
	outboundScheduled  = "Scheduled"
	outboundCompleted  = "Completed"
	maxSubjectRunes    = 255   // Subject ≤ 255 [doc] insert-records
	maxDescriptionLen  = 32000 // textarea limit [assumed]
	defaultMediaType   = "VOIP"
	recordsPerInsert   = 100 // up to 100 records per insert [doc] insert-records
	coqlInValues       = 100 // in/not in up to 100 values [doc] COQL-Limitations
	coqlMaxCriteria    = 25  // WHERE ≤ 25 criteria [doc] COQL-Limitations
	coqlMaxLimit       = 2000
	coqlMaxOffset      = 100000 // COQL-Limitations v8: 1,00,000 records through LIMIT/OFFSET [doc]
	usersPerPage       = 200    // GET users: 200 per page [doc] get-users
	zohoDateTimeLayout = "2006-01-02T15:04:05-07:00"
)

// The Zoho pages cited above by name:
//
//	insert-records    https://www.zoho.com/crm/developer/docs/api/v8/insert-records.html
//	COQL-Limitations  https://www.zoho.com/crm/developer/docs/api/v8/COQL-Limitations.html
//	get-users         https://www.zoho.com/crm/developer/docs/api/v8/get-users.html

// closeDuration is the Call_Duration written when a scheduled callback record
// is completed: Zoho refuses a zero duration for Outbound calls (400
// DEPENDENT_MISMATCH "Call Duration can not be zero." [doc]
// https://www.zoho.com/crm/developer/docs/api/v8/insert-records.html) and a logged (completed) call is one with a
// past Call_Start_Time and a Call_Duration [assumed].
const closeDuration = "00:01"

// searchModule describes one module searched by Lookup.
type searchModule struct {
	Name   string
	Entity crm.Entity
	// NameField is the record's display name.
	NameField string
	// ParentField is the lookup to the parent account ("" when none).
	ParentField string
	// PhoneFields are the phone-type fields compared with the caller forms.
	PhoneFields []string
}

// standardSearchModule returns the search settings of a standard module.
// Contacts phone fields: Phone, Mobile, Home_Phone, Other_Phone, Asst_Phone
// [code] (integrator documentation; confirm with GET settings/fields);
// Accounts and Leads phone fields [assumed].
func standardSearchModule(name string) (searchModule, bool) {
	switch name {
	case "Contacts":
		return searchModule{Name: name, Entity: crm.Contact, NameField: "Full_Name", ParentField: "Account_Name",
			PhoneFields: []string{"Phone", "Mobile", "Home_Phone", "Other_Phone", "Asst_Phone"}}, true
	case "Accounts":
		return searchModule{Name: name, Entity: crm.Account, NameField: "Account_Name",
			PhoneFields: []string{"Phone"}}, true
	case "Leads":
		return searchModule{Name: name, Entity: crm.Lead, NameField: "Full_Name",
			PhoneFields: []string{"Phone", "Mobile"}}, true
	}
	return searchModule{}, false
}

// defaultSearchModules is used when config search_modules is empty.
func defaultSearchModules() []string { return []string{"Contacts", "Accounts", "Leads"} }

// moduleOf returns the Zoho module of a crm entity.
func moduleOf(e crm.Entity) string {
	switch e {
	case crm.Contact:
		return "Contacts"
	case crm.Account:
		return "Accounts"
	case crm.Lead:
		return "Leads"
	}
	return string(e)
}

// Users API fields: GET users?type=ActiveUsers [doc]
// https://www.zoho.com/crm/developer/docs/api/v8/get-users.html; the custom user field named by user_id_field is
// returned in the same object [assumed].
const (
	userFieldID     = "id"
	userFieldEmail  = "email"
	userFieldName   = "full_name"
	userFieldStatus = "status"
	userActive      = "active"
)

// Description of a Calls record: the engine's text verbatim, a blank line,
// then one line per call datum that has no standard Calls field (the
// queue, media type, the recording's replay link as the Enghouse connector
// writes it), the callback request time (Call_Start_Time holds the
// due date), an open marker for open calls (Zoho calls have no open state
// unless scheduled) and last the Enreach id marker. Without call_id_field the
// marker is the only place the id lives and the pre-check compares it (COQL
// cannot filter multi-line fields such as Description: ZD COQL-Limitations)
// [assumed].
const (
	lineQueue      = "Queue: "
	lineMediaType  = "Media Type: "
	lineReplay     = "Replay: "
	lineRequested  = "Requested: "
	lineOpen       = "Status: open"
	markerCall     = "Enreach call ID: "
	markerCallback = "Enreach callback ID: "
	// descriptionSeparator separates the engine's text from the data lines.
	descriptionSeparator = "\n\n"
)

// marker returns the Description line identifying a, e.g. "Enreach call ID: 42".
func marker(a crm.Activity) string {
	if a.Kind == crm.KindCallback {
		return markerCallback + enreachID(a)
	}
	return markerCall + enreachID(a)
}

func enreachID(a crm.Activity) string {
	if a.EnreachID != "" {
		return a.EnreachID
	}
	return a.Key
}

// externalCallID is the value written to call_id_field ("Telephony External
// ID" in the original integration): the Enreach CallId, and for a callback
// request "callback/" + its CallbackListItemId so both id spaces can share the
// field [assumed].
func externalCallID(a crm.Activity) string {
	if a.Kind == crm.KindCallback {
		return "callback/" + enreachID(a)
	}
	return enreachID(a)
}

// callType maps the direction: unanswered inbound → Missed (Call_Type is a
// picklist Inbound, Outbound, Missed [doc] insert-records; Missed for an
// unanswered inbound call is [assumed]).
func callType(a crm.Activity) string {
	switch {
	case a.Kind == crm.KindCallback:
		return callTypeOutbound
	case a.Direction == crm.Outbound:
		return callTypeOutbound
	case !a.Answered:
		return callTypeMissed
	default:
		return callTypeInbound
	}
}

// formatDuration renders Call_Duration as "mm:ss" (minutes may exceed 59).
// The doc prose says "HH:mm", its sample is "10:00"; mm:ss [assumed]
// (https://www.zoho.com/crm/developer/docs/api/v8/insert-records.html).
// Inbound/Outbound calls never get "00:00" (DEPENDENT_MISMATCH [doc]): a
// sub-second call is written as one second.
func formatDuration(d time.Duration, typ string) string {
	s := int64((d + time.Second/2) / time.Second)
	if s < 1 && typ != callTypeMissed {
		s = 1
	}
	if s < 0 {
		s = 0
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// formatTime renders a datetime the way insert-records documents it:
// yyyy-MM-ddTHH:mm:ss±HH:mm, always in UTC ("+00:00") [doc].
func formatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(zohoDateTimeLayout) }

// subject returns the Subject, defaulted and cut to 255 characters. A call
// with no configured subject gets the Enghouse connector's default,
// "[Incoming] VOIP Call dd/MM/yyyy, HH:mm:ss" ("[Outgoing] ..." for outbound
// calls), the start in loc (subject_time_zone); a callback request gets
// "Callback request <number>".
func subject(a crm.Activity, loc *time.Location) string {
	s := strings.TrimSpace(a.Subject)
	if s == "" {
		switch {
		case a.Kind == crm.KindCallback:
			s = "Callback request " + a.Number
		case a.Direction == crm.Outbound:
			s = "[" + directionOutgoing + "] " + defaultMediaType + " Call " + a.Start.In(loc).Format(subjectTimeLayout)
		default:
			s = "[" + directionIncoming + "] " + defaultMediaType + " Call " + a.Start.In(loc).Format(subjectTimeLayout)
		}
	}
	return truncateRunes(strings.TrimSpace(s), maxSubjectRunes)
}

// callDescription is the Calls Description (see lineQueue): a's
// description, a blank line and the lines callsync adds, written once into
// a buffer of their length (a queue name or replay link on one line: CR and
// LF as spaces).
func callDescription(a crm.Activity) string {
	var requested string
	hasRequested := a.Kind == crm.KindCallback && !a.Start.IsZero()
	mark := marker(a)
	tail := len(mark)
	if a.QueueName != "" {
		tail += len(lineQueue) + len(a.QueueName) + 1
	}
	if a.Kind == crm.KindCallback {
		if hasRequested {
			requested = formatTime(a.Start)
			tail += len(lineRequested) + len(requested) + 1
		}
	} else {
		tail += len(lineMediaType) + len(defaultMediaType) + 1
		if a.RecordingLink != "" {
			tail += len(lineReplay) + len(a.RecordingLink) + 1
		}
		if a.Open {
			tail += len(lineOpen) + 1
		}
	}
	head := a.Description
	if strings.TrimSpace(head) == "" {
		head = ""
	} else if room := maxDescriptionLen - tail - len(descriptionSeparator); len(head) > room {
		head = truncateBytes(head, room)
	}
	var b strings.Builder
	if head != "" {
		b.Grow(len(head) + len(descriptionSeparator) + tail)
		b.WriteString(head)
		b.WriteString(descriptionSeparator)
	} else {
		b.Grow(tail)
	}
	if a.QueueName != "" {
		b.WriteString(lineQueue)
		writeOneLine(&b, a.QueueName)
		b.WriteByte('\n')
	}
	if a.Kind == crm.KindCallback {
		if hasRequested {
			b.WriteString(lineRequested)
			b.WriteString(requested)
			b.WriteByte('\n')
		}
	} else {
		b.WriteString(lineMediaType + defaultMediaType + "\n")
		if a.RecordingLink != "" {
			b.WriteString(lineReplay)
			writeOneLine(&b, a.RecordingLink)
			b.WriteByte('\n')
		}
		if a.Open {
			b.WriteString(lineOpen + "\n")
		}
	}
	b.WriteString(mark)
	return b.String()
}

// writeOneLine writes s with each CR and LF as a space.
func writeOneLine(b *strings.Builder, s string) {
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			b.WriteString(s)
			return
		}
		b.WriteString(s[:i])
		b.WriteByte(' ')
		s = s[i+1:]
	}
}

// withoutOpenLine returns a Description without the open marker line, and
// whether it had one.
func withoutOpenLine(desc string) (string, bool) {
	i := strings.LastIndex(desc, "\n"+lineOpen+"\n")
	if i < 0 {
		return desc, false
	}
	return desc[:i] + desc[i+len(lineOpen)+1:], true
}

// callbackStart is a callback's Call_Start_Time: the due date, else the time
// the request was created (Activity.Start), else now. It is derived from the
// item, not the clock, whenever possible so a replay finds the record again
// [assumed].
func callbackStart(a crm.Activity, now time.Time) time.Time {
	switch {
	case a.Due != nil && !a.Due.IsZero():
		return *a.Due
	case !a.Start.IsZero():
		return a.Start
	}
	return now
}

// closeRecord completes a scheduled call (a callback request closed in
// Enreach): status Completed and a nominal duration (see closeDuration); a
// scheduled time still in the future becomes the close time, because only
// scheduled calls may start in the future (Call_Start_Time, insert-records) [assumed].
func closeRecord(id string, scheduled, now time.Time) map[string]any {
	rec := map[string]any{
		"id":            id,
		fOutboundStatus: outboundCompleted,
		fCallDuration:   closeDuration,
	}
	if scheduled.IsZero() || scheduled.After(now) {
		rec[fCallStartTime] = formatTime(now.Add(-time.Second))
	}
	return rec
}

// Fields of the custom activity module of the original (Enghouse) integration.
// Names are fixed by that integration (Enghouse Zoho CRM Integration Reference
// and Deployment Guide 1.0) [doc]; the value formats are [assumed].
const (
	cfCallID       = "CCSPCallID" // the unique field used by upsert
	cfName         = "Name"       // custom modules' system name field (https://www.zoho.com/crm/developer/docs/api/v8/upsert-records.html)
	cfDirection    = "Direction"
	cfDNIS         = "DNIS"
	cfSubject      = "Subject"
	cfMediaType    = "MediaType"
	cfFrom         = "From"
	cfTo           = "To"
	cfPhoneNumber  = "PhoneNumber"
	cfDurationMins = "DurationMins"
	cfStartTime    = "StartTime"
	cfEndTime      = "EndTime"
	cfRecording    = "Recording"
	cfRelatesTo    = "RelatesTo" // + module, e.g. RelatesToContacts
	cfQueue        = "Queue"
	// Direction values and the default subject's time format of the
	// Enghouse connector (its guide's example record: Direction "Incoming",
	// Name "[Incoming] VOIP Call 03/07/2024, 11:23:17").
	directionIncoming = "Incoming"
	directionOutgoing = "Outgoing"
	subjectTimeLayout = "02/01/2006, 15:04:05"
)

// customRecord maps an activity to a record of the custom module: Direction
// "Incoming"/"Outgoing" and MediaType "VOIP" as the Enghouse connector
// writes them (Zoho CRM Integration Reference and Deployment Guide 1.0,
// example record), DNIS the called number, From/To the parties' numbers,
// DurationMins whole minutes (wholeMinutes), StartTime/EndTime in Zoho's
// datetime format (insert-records), MediaType VOIP. A linked call (Regarding set) gets one
// RelatesTo<Module> lookup per module of Regarding and Related (Regarding
// first); an unlinked call (Regarding nil, e.g. several matches without
// multiple_matches_pick_first) gets none [assumed]. Queue is added by
// shapeCustom when the module has it. Recording is the recording link
// (phone_calls.recording_link) when the call has one: an Enreach call record
// carries recording ids only.
func customRecord(a crm.Activity, loc *time.Location) map[string]any {
	dir, from, to := directionIncoming, a.Number, a.DialledNumber
	if a.Direction == crm.Outbound {
		dir, from, to = directionOutgoing, a.DialledNumber, a.Number
	}
	s := subject(a, loc)
	rec := map[string]any{
		cfCallID:       enreachID(a),
		cfName:         s,
		cfSubject:      s,
		cfDirection:    dir,
		cfDNIS:         to,
		cfMediaType:    defaultMediaType,
		cfFrom:         from,
		cfTo:           to,
		cfPhoneNumber:  a.Number,
		cfDurationMins: wholeMinutes(a.Duration),
		cfStartTime:    formatTime(a.Start),
	}
	end := a.End
	if end.IsZero() && !a.Start.IsZero() {
		end = a.Start.Add(a.Duration)
	}
	if !end.IsZero() {
		rec[cfEndTime] = formatTime(end)
	}
	if a.OwnerID != "" {
		rec[fOwner] = map[string]any{"id": a.OwnerID}
	}
	if a.RecordingLink != "" {
		rec[cfRecording] = a.RecordingLink
	}
	// Without Regarding the call is unlinked: Related then lists the
	// candidates of a multiple match (multiple_matches_pick_first off), and
	// linking any of them could be the wrong record.
	var refs []crm.Ref
	if a.Regarding != nil {
		refs = append([]crm.Ref{*a.Regarding}, a.Related...)
	}
	for _, r := range refs {
		if r.ID == "" {
			continue
		}
		f := cfRelatesTo + moduleOf(r.Entity)
		if _, ok := rec[f]; !ok {
			rec[f] = map[string]any{"id": r.ID}
		}
	}
	return rec
}

// wholeMinutes is DurationMins: the custom module's DurationMins is a
// Number field, and a Number field holds an integer (Zoho answers a decimal
// with INVALID_DATA, expected_data_type "integer": example InvalidDataType
// of the v8 records API, https://github.com/zoho/crm-oas v8.0). The duration
// is rounded to the nearest minute, half a minute up: 0-29 s → 0, 30-89 s →
// 1, 90 s → 2.
func wholeMinutes(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + 30*time.Second) / time.Minute)
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

func truncateBytes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
