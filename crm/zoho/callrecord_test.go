package zoho

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
)

// refCallRecord is the Calls record as it was built before it was appended
// without reflection (callRecord, then shapeCalls): a map of the fields,
// for json.Marshal.
func refCallRecord(c *Client, a crm.Activity, now time.Time, s crm.Schema, known bool) map[string]any {
	rec := refCallFields(a, c.cfg.CallIDField, now, c.loc)
	if !known {
		return rec
	}
	if c.cfg.CallIDField != fTelephonyID {
		if _, ok := writable(s, fTelephonyID, "text"); ok {
			rec[fTelephonyID] = externalCallID(a)
		}
	}
	c.shapeAudit(rec, a, s, known)
	return rec
}

// refCallFields is callRecord as it was: the record before shaping.
func refCallFields(a crm.Activity, callIDField string, now time.Time, loc *time.Location) map[string]any {
	typ := callType(a)
	rec := map[string]any{
		fSubject:     subject(a, loc),
		fCallType:    typ,
		fDescription: callDescription(a),
	}
	if a.Kind == crm.KindCallback {
		rec[fOutboundStatus] = outboundScheduled
		rec[fCallStartTime] = formatTime(callbackStart(a, now))
		if a.Duration > 0 {
			rec[fCallDuration] = formatDuration(a.Duration, typ)
		}
	} else {
		rec[fCallStartTime] = formatTime(a.Start)
		rec[fCallDuration] = formatDuration(a.Duration, typ)
		if typ == callTypeOutbound {
			rec[fOutboundStatus] = outboundCompleted
		}
	}
	caller, dialled := a.Number, a.DialledNumber
	if typ == callTypeOutbound {
		caller, dialled = a.DialledNumber, a.Number
	}
	if caller != "" {
		rec[fCallerID] = caller
	}
	if dialled != "" {
		rec[fDialledNumber] = dialled
	}
	if a.OwnerID != "" {
		rec[fOwner] = map[string]any{"id": a.OwnerID}
	}
	if r := a.Regarding; r != nil && r.ID != "" {
		switch r.Entity {
		case crm.Contact:
			rec[fWhoID] = map[string]any{"id": r.ID}
		default:
			rec[fWhatID] = map[string]any{"id": r.ID}
			rec[fSeModule] = moduleOf(r.Entity)
		}
	}
	if callIDField != "" {
		rec[callIDField] = externalCallID(a)
	}
	return rec
}

// callActivities cover appendCallRecord's branches: calls and callback
// requests (due, start or neither), each direction answered or not, each
// regarding entity and none (and an empty id), owner or none, numbers
// present or absent, durations from none to over 100 minutes, queue,
// recording, open, subject and description text json.Marshal escapes or
// that is cut, and audit text.
func callActivities() []crm.Activity {
	start := time.Date(2026, 3, 1, 23, 30, 0, 500e6, time.FixedZone("EET", 2*3600))
	due := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	contact := crm.Ref{Entity: crm.Contact, ID: "4150868000000624001"}
	account := crm.Ref{Entity: crm.Account, ID: "4150868000000624002"}
	lead := crm.Ref{Entity: crm.Lead, ID: "4150868000000624003"}
	base := crm.Activity{
		Key: "t/call/0f6b2c1e", Kind: crm.KindCall, EnreachID: "0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f",
		Number: "+358401234567", DialledNumber: "+358201234567", Direction: crm.Inbound,
		Subject: "Incoming call", Description: "CallId is 0f6b2c1e\nanswered",
		Start: start, End: start.Add(3 * time.Minute), Duration: 61500 * time.Millisecond, Answered: true,
		OwnerID: "4150868000000225013", Regarding: &contact, Related: []crm.Ref{contact, account},
		QueueName: "Support", Audit: `{"CallId":"0f6b2c1e","QueueName":"A & B <x>"}`,
	}
	var out []crm.Activity
	add := func(f func(a *crm.Activity)) {
		a := base
		f(&a)
		out = append(out, a)
	}
	add(func(a *crm.Activity) {})
	add(func(a *crm.Activity) { a.Answered = false })
	add(func(a *crm.Activity) { a.Answered, a.Duration = false, 0 })
	add(func(a *crm.Activity) { a.Direction = crm.Outbound })
	add(func(a *crm.Activity) { a.Direction, a.Answered = crm.Outbound, false })
	add(func(a *crm.Activity) { a.Direction = "" })
	add(func(a *crm.Activity) { a.Regarding = &account })
	add(func(a *crm.Activity) { a.Regarding = &lead })
	add(func(a *crm.Activity) { a.Regarding = &crm.Ref{Entity: "Vendors", ID: "9"} })
	add(func(a *crm.Activity) { a.Regarding = &crm.Ref{Entity: crm.Account} })
	add(func(a *crm.Activity) { a.Regarding, a.Related, a.OwnerID = nil, nil, "" })
	add(func(a *crm.Activity) { a.Number = "" })
	add(func(a *crm.Activity) { a.DialledNumber = "" })
	add(func(a *crm.Activity) { a.Number, a.DialledNumber, a.Direction = "", "", crm.Outbound })
	add(func(a *crm.Activity) { a.Duration = 0 })
	add(func(a *crm.Activity) { a.Duration = 400 * time.Millisecond })
	add(func(a *crm.Activity) { a.Duration = 59*time.Minute + 59*time.Second })
	add(func(a *crm.Activity) { a.Duration = 100*time.Minute + 7*time.Second })
	add(func(a *crm.Activity) { a.Duration = 1000*time.Hour + 1 })
	add(func(a *crm.Activity) { a.Duration, a.Answered = -5*time.Second, false })
	add(func(a *crm.Activity) { a.Start, a.End, a.Duration = time.Time{}, time.Time{}, 0 })
	add(func(a *crm.Activity) { a.Subject, a.Description, a.QueueName, a.Audit = "", "", "", "" })
	add(func(a *crm.Activity) { a.Subject, a.EnreachID = "", "" })
	add(func(a *crm.Activity) { a.Subject, a.Direction = "  ", crm.Outbound })
	add(func(a *crm.Activity) { a.RecordingLink, a.Open = "https://rec.example/1?a=1&b=<2>\n", true })
	add(func(a *crm.Activity) {
		a.Subject = strings.Repeat("Ä<", 200) + "\u2028"
		a.Description = strings.Repeat("<b>\"x\"\\\t</b>\r\n", 5000) + "\xff\x01"
		a.QueueName = "Q\r\n<&>\u2029"
		a.Number = "+358 40 <&> \"1\""
		a.OwnerID = "o\\\"<>"
		a.Audit = strings.Repeat("äö<&>", 10000)
	})
	add(func(a *crm.Activity) { a.Kind, a.Open, a.Due = crm.KindCallback, true, &due })
	add(func(a *crm.Activity) { a.Kind, a.Open = crm.KindCallback, true })
	add(func(a *crm.Activity) { a.Kind, a.Due, a.Duration = crm.KindCallback, &time.Time{}, 0 })
	add(func(a *crm.Activity) { a.Kind, a.Start, a.Duration = crm.KindCallback, time.Time{}, 0 })
	add(func(a *crm.Activity) { a.Kind, a.Regarding, a.Number = crm.KindCallback, &lead, "" })
	return out
}

// callsConfigs are the call_id_field and audit_field settings appendCallRecord
// merges into the fixed fields: none, the usual names, Telephony's own name,
// names equal to fixed fields (which they replace), to each other, and
// names sorting before, between and after the fixed fields or needing
// escapes.
func callsConfigs() [][2]string {
	return [][2]string{
		{"", ""},
		{"Enreach_Call_Id", ""},
		{"", "Enreach_Audit"},
		{"Enreach_Call_Id", "Enreach_Audit"},
		{fTelephonyID, "Enreach_Audit"},
		{"Enreach_Call_Id", fTelephonyID},
		{"Enreach_Call_Id", "Enreach_Call_Id"},
		{fSubject, fDescription},
		{fCallType, fWhoID},
		{fSeModule, fOwner},
		{"$a", "zz"},
		{"Call_E", "Caller_IE"},
		{"A<&>", "Ω"},
	}
}

// callsSchemas are the module metadata states: unknown, Telephony and the
// audit fields writable (long and short), read-only, or of another type.
func callsSchemas() []struct {
	s     crm.Schema
	known bool
} {
	fields := func(tel crm.FieldInfo, audit crm.FieldInfo) map[string]crm.FieldInfo {
		m := map[string]crm.FieldInfo{fTelephonyID: tel}
		for _, f := range []string{"Enreach_Audit", fTelephonyID, "Enreach_Call_Id", fDescription, fWhoID, fOwner, "zz", "Caller_IE", "Ω"} {
			if f != fTelephonyID {
				m[f] = audit
			}
		}
		return m
	}
	w := func(typ string, n int) crm.FieldInfo {
		return crm.FieldInfo{Type: typ, MaxLength: n, Creatable: true, Updatable: true}
	}
	return []struct {
		s     crm.Schema
		known bool
	}{
		{crm.Schema{}, false},
		{crm.Schema{Fields: fields(w("text", 255), w("textarea", 32000))}, true},
		{crm.Schema{Fields: fields(w("text", 255), w("text", 60))}, true},
		{crm.Schema{Fields: fields(crm.FieldInfo{Type: "text", Creatable: true}, w("picklist", 100))}, true},
		{crm.Schema{}, true},
	}
}

// TestCallRecordAsMap compares appendCallRecord with the map and
// json.Marshal it replaced (refCallRecord) byte for byte, for every
// activity of callActivities under each configuration and schema, and
// callsBody with the insert body map it replaced.
func TestCallRecordAsMap(t *testing.T) {
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	acts := callActivities()
	n := 0
	for ci, cfg := range callsConfigs() {
		for si, sc := range callsSchemas() {
			for _, loc := range []*time.Location{time.UTC, time.FixedZone("X", -5*3600-1800)} {
				c := &Client{cfg: Config{CallIDField: cfg[0], AuditField: cfg[1]}, loc: loc}
				sh := c.callsShape(sc.s, sc.known)
				var refs []map[string]any
				var chunk []int
				for i, a := range acts {
					ref := refCallRecord(c, a, now, sc.s, sc.known)
					want, err := json.Marshal(ref)
					if err != nil {
						t.Fatal(err)
					}
					if got := c.appendCallRecord([]byte("x"), a, now, sh); !bytes.Equal(got[1:], want) || got[0] != 'x' {
						t.Errorf("config %d, schema %d, activity %d:\n%s", ci, si, i, firstDiff(got, append([]byte("x"), want...)))
					}
					refs, chunk = append(refs, ref), append(chunk, i)
					n++
				}
				want, _ := json.Marshal(map[string]any{"data": refs, "trigger": []string{}})
				body := c.callsBody(acts, chunk, now, sh)
				if !bytes.Equal(body, want) {
					t.Errorf("config %d, schema %d: callsBody differs from the map's json.Marshal", ci, si)
				}
				if got, err := marshalBody(body); err != nil || !bytes.Equal(got, want) {
					t.Errorf("config %d, schema %d: marshalBody(callsBody) differs (%v)", ci, si, err)
				}
				if got, err := json.Marshal(body); err != nil || !bytes.Equal(got, want) {
					t.Errorf("config %d, schema %d: json.Marshal(callsBody) differs (%v)", ci, si, err)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no record compared")
	}
	c := &Client{loc: time.UTC}
	if got := c.callsBody(acts, nil, now, callsShape{}); string(got) != `{"data":[],"trigger":[]}` {
		t.Errorf("empty callsBody = %s", got)
	}
}

// Any text in any field, any duration and kind, under any call_id_field
// and audit_field: appendCallRecord writes what json.Marshal writes of the
// map it replaced.
func FuzzCallRecord(f *testing.F) {
	f.Add("Incoming call", "CallId is 1\nanswered", "+358401234567", "+358201234567", "Support", "", "4150868000000225013", "4150868000000624001", "0f6b2c1e", `{"a":"<&>"}`, "Enreach_Call_Id", "Enreach_Audit", int64(61500e6), uint8(0))
	f.Add("", "", "", "", "", "https://r/1", "", "", "", "", fTelephonyID, fSubject, int64(0), uint8(0xff))
	f.Add("<b>\u2028", "\xff\r\n\"\\", "<&>", "\x00", "Q\rq", "\n", "\"", "\\", "é日本", "\x7f", "Ω", "$se_module", int64(-1), uint8(0x5a))
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	start := time.Date(2026, 3, 1, 23, 30, 0, 500e6, time.UTC)
	f.Fuzz(func(t *testing.T, subj, desc, num, dialled, queue, rec, owner, regID, enreachID, audit, callID, auditField string, dur int64, flags uint8) {
		a := crm.Activity{
			Key: "t/" + enreachID, Kind: crm.KindCall, EnreachID: enreachID, Number: num, DialledNumber: dialled,
			Direction: crm.Inbound, Subject: subj, Description: desc, QueueName: queue, RecordingLink: rec,
			Start: start, Duration: time.Duration(dur), Answered: flags&1 != 0, Open: flags&2 != 0,
			OwnerID: owner, Audit: audit,
		}
		if flags&4 != 0 {
			a.Kind = crm.KindCallback
		}
		if flags&8 != 0 {
			a.Direction = crm.Outbound
		}
		if flags&16 != 0 {
			a.Start = time.Time{}
		}
		switch (flags >> 5) & 3 {
		case 1:
			a.Regarding = &crm.Ref{Entity: crm.Contact, ID: regID}
		case 2:
			a.Regarding = &crm.Ref{Entity: crm.Account, ID: regID}
		case 3:
			a.Regarding = &crm.Ref{Entity: crm.Lead, ID: regID}
		}
		known := flags&128 != 0
		s := crm.Schema{Fields: map[string]crm.FieldInfo{
			fTelephonyID: {Type: "text", MaxLength: 255, Creatable: true, Updatable: true},
			auditField:   {Type: "textarea", MaxLength: 1 + int(flags), Creatable: true, Updatable: true},
		}}
		c := &Client{cfg: Config{CallIDField: callID, AuditField: auditField}, loc: time.FixedZone("X", 3600)}
		want, err := json.Marshal(refCallRecord(c, a, now, s, known))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.appendCallRecord(nil, a, now, c.callsShape(s, known)); !bytes.Equal(got, want) {
			t.Errorf("appendCallRecord(%+v):\n%s", a, firstDiff(got, want))
		}
	})
}

// firstDiff shows where got and want part, with some bytes around.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-80)
	return fmt.Sprintf("at byte %d (of %d, want %d):\ngot  …%s\nwant …%s", i, len(got), len(want), got[from:min(len(got), i+80)], want[from:min(len(want), i+80)])
}
