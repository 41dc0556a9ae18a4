package jobs

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/store"
)

func settings() config.PhoneCalls {
	return config.PhoneCalls{
		CallStartMargin:               config.Duration(15 * time.Second),
		EnableAudit:                   true,
		EnableMultipleMatchCreate:     true,
		MultipleMatchPhoneCallStatus:  7,
		IncomingDirectCallSubject:     "Incoming direct call",
		IncomingQueueCallSubject:      "Incoming queue call",
		OutgoingDirectCallSubject:     "Outgoing direct call",
		ProcessDirectCalls:            true,
		ProcessServiceCalls:           true,
		ProcessServiceCallsUnanswered: true,
	}
}

func TestFilter(t *testing.T) {
	direct := Call{ID: "d", Answered: true, Privacy: "Work", Duration: 60}
	queue := Call{ID: "q", Queue: true, Answered: true, Duration: 60}
	missed := Call{ID: "m", Queue: true, Answered: false}
	with := func(f func(*config.PhoneCalls)) config.PhoneCalls { s := settings(); f(&s); return s }
	tests := []struct {
		name string
		call Call
		s    config.PhoneCalls
		want string
	}{
		{"direct work answered", direct, settings(), ""},
		{"direct calls off", direct, with(func(s *config.PhoneCalls) { s.ProcessDirectCalls = false }), ReasonDirectOff},
		{"private", Call{ID: "p", Answered: true, Privacy: "Private"}, settings(), ReasonNotWork},
		{"undefined", Call{ID: "u", Answered: true, Privacy: "Undefined"}, settings(), ReasonNotWork},
		{"no privacy", Call{ID: "u", Answered: true}, settings(), ReasonNotWork},
		{"work in other case", Call{ID: "w", Answered: true, Privacy: "work", Duration: 5}, settings(), ""},
		{"direct unanswered", Call{ID: "x", Privacy: "Work"}, settings(), ReasonUnansweredDirect},
		{"queue answered", queue, settings(), ""},
		{"queue answered off", queue, with(func(s *config.PhoneCalls) { s.ProcessServiceCalls = false }), ReasonServiceOff},
		{"queue unanswered", missed, settings(), ""},
		{"queue unanswered off", missed, with(func(s *config.PhoneCalls) { s.ProcessServiceCallsUnanswered = false }), ReasonUnansweredOff},
		{"queue unanswered needs only its own switch", missed, with(func(s *config.PhoneCalls) { s.ProcessServiceCalls = false }), ""},
		{"queue ignores privacy", Call{ID: "q", Queue: true, Answered: true, Privacy: "Private"}, settings(), ""},
		{"too short", direct, with(func(s *config.PhoneCalls) { s.CallDurationLimit = config.Duration(61 * time.Second) }), ReasonTooShort},
		{"exactly the limit", direct, with(func(s *config.PhoneCalls) { s.CallDurationLimit = config.Duration(60 * time.Second) }), ""},
		{"limit does not apply to a missed call", missed, with(func(s *config.PhoneCalls) { s.CallDurationLimit = config.Duration(time.Minute) }), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Filter(tt.call, tt.s); got != tt.want {
				t.Fatalf("Filter = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	start := time.Date(2026, 3, 29, 0, 59, 30, 0, time.UTC) // DST night in Europe: UTC is unaffected
	contact := crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}}
	account := crm.Record{Ref: crm.Ref{Entity: crm.Account, ID: "a1"}}
	in := Call{ID: "CALL-1", Answered: true, Privacy: "Work", ANum: "+358401111111", BNum: "+358201234567", UserID: "u1", Start: start, End: start.Add(90 * time.Second), Duration: 90}
	out := in
	out.Outbound, out.ANum, out.BNum = true, "+358201234567", "+358401111111"
	queue := in
	queue.Queue, queue.QueueName = true, "Sales"
	owners := Owners{User: "crm-u1", Default: "crm-default"}
	noAudit := func() config.PhoneCalls { s := settings(); s.EnableAudit = false; return s }
	tests := []struct {
		name    string
		call    Call
		matches []crm.Record
		owners  Owners
		s       config.PhoneCalls
		check   func(t *testing.T, d Decision)
	}{
		{"inbound direct, one match", in, []crm.Record{contact}, owners, settings(), func(t *testing.T, d Decision) {
			a := d.Activity
			if d.State != store.Pending || a.Direction != crm.Inbound || a.Subject != "Incoming direct call" ||
				a.Regarding == nil || *a.Regarding != contact.Ref || a.OwnerID != "crm-u1" || a.UserID != "crm-u1" || a.Open {
				t.Fatalf("%+v", d)
			}
			if a.Key != "callsync/v1/t/call/call-1" || a.Duration != 90*time.Second || !a.Start.Equal(start) {
				t.Fatalf("key/duration/start: %+v", a)
			}
		}},
		{"outbound", out, []crm.Record{contact}, owners, settings(), func(t *testing.T, d Decision) {
			if d.Activity.Direction != crm.Outbound || d.Activity.Subject != "Outgoing direct call" || d.Activity.DialledNumber != "+358201234567" {
				t.Fatalf("%+v", d.Activity)
			}
		}},
		{"queue call subject", queue, []crm.Record{account}, owners, settings(), func(t *testing.T, d Decision) {
			if d.Activity.Subject != "Incoming queue call" || d.Activity.Regarding.Entity != crm.Account {
				t.Fatalf("%+v", d.Activity)
			}
		}},
		{"user without CRM user falls back to default assignee", in, []crm.Record{contact}, Owners{Default: "crm-default"}, settings(), func(t *testing.T, d Decision) {
			if d.Activity.OwnerID != "crm-default" || d.Activity.UserID != "crm-default" {
				t.Fatalf("%+v", d.Activity)
			}
		}},
		{"no match is unresolved", in, nil, owners, settings(), func(t *testing.T, d Decision) {
			if d.State != store.Unresolved || d.Reason != ReasonNoMatch {
				t.Fatalf("%+v", d)
			}
		}},
		{"several matches, pick first", in, []crm.Record{contact, account}, owners, func() config.PhoneCalls { s := settings(); s.MultipleMatchesPickFirst = true; return s }(), func(t *testing.T, d Decision) {
			if d.State != store.Pending || *d.Activity.Regarding != contact.Ref || d.Activity.Open {
				t.Fatalf("%+v", d)
			}
		}},
		{"several matches, queue call, create open unlinked", queue, []crm.Record{contact, account}, owners, settings(), func(t *testing.T, d Decision) {
			a := d.Activity
			if d.State != store.Pending || d.Reason != ReasonMultipleMatchOpen || a.Regarding != nil || !a.Open || a.StatusReason != 7 || len(a.Related) != 2 {
				t.Fatalf("%+v", d)
			}
		}},
		{"several matches, no create", queue, []crm.Record{contact, account}, owners, func() config.PhoneCalls { s := settings(); s.EnableMultipleMatchCreate = false; return s }(), func(t *testing.T, d Decision) {
			if d.State != store.Unresolved || d.Reason != ReasonMultipleMatches {
				t.Fatalf("%+v", d)
			}
		}},
		{"audit off", in, []crm.Record{contact}, owners, noAudit(), func(t *testing.T, d Decision) {
			if d.Activity.Audit != "CallId is CALL-1" || !strings.HasPrefix(d.Activity.Description, "CallId is CALL-1\n") {
				t.Fatalf("audit %q description %q", d.Activity.Audit, d.Activity.Description)
			}
		}},
		{"unmapped user is reported", in, []crm.Record{contact}, Owners{Default: "crm-default"}, settings(), func(t *testing.T, d Decision) {
			if d.Unmapped != "u1" {
				t.Fatalf("Unmapped = %q, want u1", d.Unmapped)
			}
		}},
		{"mapped user is not reported", in, []crm.Record{contact}, owners, settings(), func(t *testing.T, d Decision) {
			if d.Unmapped != "" {
				t.Fatalf("Unmapped = %q", d.Unmapped)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, Decide("t", tt.call, tt.call.CustomerNumber(), tt.matches, tt.owners, tt.s))
		})
	}
}

// EnableMultipleMatchCreate is for service (queue) calls; a direct call
// with several matches follows MultipleMatchesPickFirst only.
func TestDecideSeveralMatches(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	direct := Call{ID: "D", Answered: true, Privacy: "Work", ANum: "+358401111111", UserID: "u1", Start: start, Duration: 60}
	queue := Call{ID: "Q", Queue: true, Answered: true, ANum: "+358401111111", UserID: "u1", QueueName: "Sales", Start: start, Duration: 60}
	missed := Call{ID: "M", Queue: true, ANum: "+358401111111", QueueName: "Sales", Start: start}
	two := []crm.Record{{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}}, {Ref: crm.Ref{Entity: crm.Account, ID: "a1"}}}
	const (
		linkedFirst = "linked to the first"
		openUnlink  = "written open, unlinked"
		unresolved  = "unresolved"
	)
	tests := []struct {
		call              Call
		pickFirst, create bool
		want              string
	}{
		{direct, false, false, unresolved},
		{direct, false, true, unresolved}, // create is for service calls only
		{direct, true, false, linkedFirst},
		{direct, true, true, linkedFirst},
		{queue, false, false, unresolved},
		{queue, false, true, openUnlink},
		{queue, true, false, linkedFirst},
		{queue, true, true, linkedFirst},
		{missed, false, true, openUnlink},
		{missed, false, false, unresolved},
	}
	for _, tt := range tests {
		s := settings()
		s.MultipleMatchesPickFirst, s.EnableMultipleMatchCreate = tt.pickFirst, tt.create
		d := Decide("t", tt.call, "+358401111111", two, Owners{User: "crm-u1"}, s)
		var got string
		switch {
		case d.State == store.Pending && d.Activity.Regarding != nil && *d.Activity.Regarding == two[0].Ref && !d.Activity.Open:
			got = linkedFirst
		case d.State == store.Pending && d.Activity.Regarding == nil && d.Activity.Open && d.Activity.StatusReason == 7 && d.Reason == ReasonMultipleMatchOpen:
			got = openUnlink
		case d.State == store.Unresolved && d.Reason == ReasonMultipleMatches:
			got = unresolved
		default:
			got = fmt.Sprintf("%+v", d)
		}
		if got != tt.want {
			t.Errorf("call %s pick_first=%v create=%v: %s, want %s", tt.call.ID, tt.pickFirst, tt.create, got, tt.want)
		}
	}
}

// write_unmatched writes a call with no match unlinked; off, it waits.
func TestDecideWriteUnmatched(t *testing.T) {
	c := Call{ID: "U", Answered: true, Privacy: "Work", ANum: "+358401111111", UserID: "u1", Start: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Duration: 60}
	s := settings()
	if d := Decide("t", c, "+358401111111", nil, Owners{}, s); d.State != store.Unresolved || d.Reason != ReasonNoMatch {
		t.Errorf("off: %+v", d)
	}
	s.WriteUnmatched = true
	d := Decide("t", c, "+358401111111", nil, Owners{}, s)
	if d.State != store.Pending || d.Reason != ReasonUnlinked || d.Activity.Regarding != nil || d.Activity.Open || d.Activity.Key != "callsync/v1/t/call/u" {
		t.Errorf("on: %+v", d)
	}
}

// The audit text is the full Enreach record as JSON; the description is a
// short summary without the record.
func TestAuditIsTheEnreachRecord(t *testing.T) {
	raw := `{"CallId":"X","ANum":"+3584","Duration":42,"QueueName":null,"Note":"` + strings.Repeat("n", 3000) + `"}`
	c := Call{ID: "X", Answered: true, ANum: "+3584", Duration: 42, UserName: "Aino Agent", Raw: []json.RawMessage{json.RawMessage(raw)}}
	if got := Audit(c, true); got != raw {
		t.Fatalf("audit = %.200q, want the record", got)
	}
	two := c
	two.Raw = append(two.Raw, json.RawMessage(`{"CallId":"X","UserId":"u"}`))
	var arr []map[string]any
	if err := json.Unmarshal([]byte(Audit(two, true)), &arr); err != nil || len(arr) != 2 {
		t.Fatalf("audit of two records = %v, %v", arr, err)
	}
	if got := Audit(c, false); got != "CallId is X" {
		t.Fatalf("audit off = %q", got)
	}
	d := Decide("t", c, "+3584", []crm.Record{{Ref: crm.Ref{Entity: crm.Contact, ID: "c"}}}, Owners{}, settings())
	if d.Activity.Audit != raw {
		t.Errorf("Decide audit = %.100q", d.Activity.Audit)
	}
	desc := d.Activity.Description
	if strings.Contains(desc, "nnnn") || len(desc) > 400 || !strings.Contains(desc, "CallId is X") || !strings.Contains(desc, "Aino Agent") || !strings.Contains(desc, "42s") {
		t.Errorf("description is not a short summary:\n%s", desc)
	}
}

// phone_calls.recording_link turns the call's recording ids into links: the
// first is the activity's RecordingLink, all are in the description; without
// the template the description names the ids.
func TestRecordingLink(t *testing.T) {
	c := Call{ID: "X", Answered: true, ANum: "+3584", Duration: 42, Recordings: []string{"r 1", "r2"}}
	match := []crm.Record{{Ref: crm.Ref{Entity: crm.Contact, ID: "c"}}}
	s := settings()
	d := Decide("t", c, "+3584", match, Owners{}, s)
	if d.Activity.RecordingLink != "" || !strings.Contains(d.Activity.Description, "Recording: r 1, r2") {
		t.Fatalf("without template: link %q, description\n%s", d.Activity.RecordingLink, d.Activity.Description)
	}
	s.RecordingLink = "https://rec.example/replay/{id}?v=1"
	d = Decide("t", c, "+3584", match, Owners{}, s)
	if d.Activity.RecordingLink != "https://rec.example/replay/r%201?v=1" ||
		!strings.Contains(d.Activity.Description, "Recording: https://rec.example/replay/r%201?v=1 https://rec.example/replay/r2?v=1") {
		t.Fatalf("with template: link %q, description\n%s", d.Activity.RecordingLink, d.Activity.Description)
	}
	c.Recordings = nil
	if d = Decide("t", c, "+3584", match, Owners{}, s); d.Activity.RecordingLink != "" || strings.Contains(d.Activity.Description, "Recording") {
		t.Fatalf("no recording: link %q, description\n%s", d.Activity.RecordingLink, d.Activity.Description)
	}
}

func TestMergeOneCallIDIsOneCall(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	calls := []enreach.Call{
		{CallID: "A", UserID: "u2", EndResult: 1, StartTime: t0.Add(time.Second), Privacy: "Work"},
		{CallID: "a", UserID: "u1", EndResult: 0, StartTime: t0.Add(2 * time.Second), Privacy: "Work", Duration: 30},
		{CallID: "D", UserID: "u3", EndResult: 0, StartTime: t0, Outbound: true, Privacy: "Private"},
	}
	scs := []enreach.ServiceCall{{CallID: "A", QueueName: "Sales", StartTime: t0, Duration: 40, EndResult: 0}}
	got := Merge(calls, scs)
	if len(got) != 2 {
		t.Fatalf("merged into %d calls, want 2: %+v", len(got), got)
	}
	var q, d Call
	for _, c := range got {
		if c.Queue {
			q = c
		} else {
			d = c
		}
	}
	if q.QueueName != "Sales" || q.UserID != "u1" || !q.Answered || q.Duration != 40 || len(q.Raw) != 3 {
		t.Fatalf("queue call = %+v", q)
	}
	if !d.Outbound || d.Privacy != "Private" || d.UserID != "u3" {
		t.Fatalf("direct call = %+v", d)
	}
}

func TestNextNightly(t *testing.T) {
	start, end := 22*time.Hour, 23*time.Hour+30*time.Minute
	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	if got := NextNightly(day.Add(10*time.Hour), start, end, 0.5); !got.Equal(day.Add(22*time.Hour + 45*time.Minute)) {
		t.Fatalf("same day: %v", got)
	}
	if got := NextNightly(day.Add(23*time.Hour), start, end, 0.5); !got.Equal(day.AddDate(0, 0, 1).Add(22*time.Hour + 45*time.Minute)) {
		t.Fatalf("after the moment: %v", got)
	}
	for _, r := range []float64{0, 0.25, 0.999} {
		got := NextNightly(day, start, end, r)
		if got.Before(day.Add(start)) || !got.Before(day.Add(end)) {
			t.Fatalf("r=%v: %v outside the window", r, got)
		}
	}
}

// The description's text, line by line: a queue call with its queue
// number, user, start, duration and recordings; a direct call without a
// user leaves that line out.
func TestDescribeText(t *testing.T) {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	q := Call{ID: "CALL-1", Queue: true, Answered: true, QueueName: "Support", QueueNumber: "+358201234567",
		UserName: "Aino Agent", Start: start, Duration: 95, Recordings: []string{"r1", "r2"}}
	want := "CallId is CALL-1\nIncoming queue call, answered\nCustomer: +358401234567\nQueue: Support (+358201234567)\n" +
		"User: Aino Agent\nStart: 2026-11-20 09:30:00 UTC\nDuration: 1m35s\nRecording: r1, r2"
	if got := Describe(q, "+358401234567", nil); got != want {
		t.Errorf("queue call:\n%s\nwant\n%s", got, want)
	}
	d := Call{ID: "CALL-2", Outbound: true, Start: start}
	if got, want := Describe(d, "+358401234567", nil), "CallId is CALL-2\nOutgoing direct call\nCustomer: +358401234567\nStart: 2026-11-20 09:30:00 UTC"; got != want {
		t.Errorf("direct call:\n%s\nwant\n%s", got, want)
	}
}
