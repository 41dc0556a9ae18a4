package salesforce

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
)

// encodeActivities are activities covering taskFields' branches: kinds,
// directions, open or not, due or start dates, each regarding entity and
// none, related accounts, owner, the custom fields, the audit field cut or
// not, and text json.Marshal escapes or that is cut.
func encodeActivities() []crm.Activity {
	start := time.Date(2026, 3, 1, 23, 30, 0, 500e6, time.FixedZone("EET", 2*3600))
	due := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	contact := crm.Ref{Entity: crm.Contact, ID: "003000000000001AAA"}
	account := crm.Ref{Entity: crm.Account, ID: "001000000000001AAA"}
	lead := crm.Ref{Entity: crm.Lead, ID: "00Q000000000001AAA"}
	base := crm.Activity{
		Key: "t/call/0f6b2c1e", Kind: crm.KindCall, EnreachID: "0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f",
		Number: "+358401234567", Direction: crm.Inbound, Subject: "Incoming call",
		Description: "CallId is 0f6b2c1e\nanswered", Start: start, End: start.Add(3 * time.Minute),
		Duration: 61500 * time.Millisecond, Answered: true, OwnerID: "005000000000001AAA",
		Regarding: &contact, Related: []crm.Ref{contact, account},
		Audit: `{"CallId":"0f6b2c1e","QueueName":"A & B <x>"}`,
	}
	var out []crm.Activity
	add := func(f func(a *crm.Activity)) {
		a := base
		f(&a)
		out = append(out, a)
	}
	add(func(a *crm.Activity) {})
	add(func(a *crm.Activity) { a.Direction = crm.Outbound; a.Answered = false })
	add(func(a *crm.Activity) { a.Direction = "" })
	add(func(a *crm.Activity) { a.Regarding, a.Related = &account, nil })
	add(func(a *crm.Activity) { a.Regarding, a.Related = &lead, []crm.Ref{lead, account} })
	add(func(a *crm.Activity) { a.Regarding = nil })
	add(func(a *crm.Activity) { a.Regarding, a.Related, a.OwnerID = nil, nil, "" })
	add(func(a *crm.Activity) { a.Start, a.End, a.Duration = time.Time{}, time.Time{}, 0 })
	add(func(a *crm.Activity) { a.Subject, a.Description, a.EnreachID, a.Number, a.Audit = "", "", "", "", "" })
	add(func(a *crm.Activity) {
		a.Subject = strings.Repeat("Ä<", 200) + "\u2028"
		a.Description = strings.Repeat("<b>\"x\"\\\t</b>", 5000)
		a.Number = strings.Repeat("9", 100)
		a.EnreachID = strings.Repeat("e", 300)
		a.Audit = strings.Repeat("äö<&>", 10000)
	})
	add(func(a *crm.Activity) { a.Key = strings.Repeat("k", 300) })
	add(func(a *crm.Activity) { a.Key = "" })
	add(func(a *crm.Activity) { a.Kind, a.Open, a.Due = crm.KindCallback, true, &due })
	add(func(a *crm.Activity) { a.Kind, a.Open = crm.KindCallback, true })
	add(func(a *crm.Activity) { a.Kind, a.Due = crm.KindCallback, &time.Time{} })
	return out
}

// TestTaskFieldsAsMap compares taskFields with the map and json.Marshal it
// replaced (refTaskFields, the code before) byte for byte, for every
// activity of encodeActivities under each adaptation, field names and
// TaskSubtype choice (a custom field named like a standard one included);
// and closeFields, updateFields and collectionBody with the maps they
// replaced.
func TestTaskFieldsAsMap(t *testing.T) {
	names := []fieldNames{
		{external: "Enreach_Call_Id__c", number: "Enreach_Number__c", start: "Enreach_Call_Start__c", audit: "Enreach_Audit__c"},
		{external: "Ext__c", number: "Num__c", start: "Start__c"},
		{external: "Ext__c", number: "Num__c", start: "Start__c", audit: "Description"},
	}
	ads := []adaptation{{}, {custom: true}, {custom: true, auditLen: 32000}, {auditLen: 80}}
	n := 0
	var recs [][]byte
	var refRecs []map[string]any
	// One object for every record, as a write uses it: nothing of a record
	// is left in the next.
	var m jsonw.Object
	for i, a := range encodeActivities() {
		for j, nm := range names {
			for k, ad := range ads {
				for _, sub := range []bool{true, false} {
					want, err := json.Marshal(refTaskFields(a, nm, ad, sub))
					if err != nil {
						t.Fatal(err)
					}
					got := taskFields(&m, a, nm, ad, sub)
					if !bytes.Equal(got, want) {
						t.Errorf("activity %d, names %d, adaptation %d, subtype %v:\ngot  %s\nwant %s", i, j, k, sub, got, want)
					}
					n++
					if len(recs) < 5 {
						recs, refRecs = append(recs, got), append(refRecs, refTaskFields(a, nm, ad, sub))
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no activity compared")
	}
	wantBody, _ := json.Marshal(map[string]any{"allOrNone": false, "records": refRecs})
	for _, by := range []int{1, 7, 32 << 10} {
		if got := readCollection(t, collectionBody(recs), by); !bytes.Equal(got, wantBody) {
			t.Errorf("collectionBody read by %d:\ngot  %s\nwant %s", by, got, wantBody)
		}
		if got, want := readCollection(t, collectionBody(nil), by), `{"allOrNone":false,"records":[]}`; string(got) != want {
			t.Errorf("empty collectionBody read by %d = %s, want %s", by, got, want)
		}
	}

	wantClose, _ := json.Marshal(map[string]any{"attributes": map[string]string{"type": taskObject}, "id": "00T1", fStatus: statusCompleted})
	if got := closeFields("00T1"); !bytes.Equal(got, wantClose) {
		t.Errorf("closeFields = %s, want %s", got, wantClose)
	}
	contact := crm.Ref{Entity: crm.Contact, ID: "0031"}
	account := crm.Ref{Entity: crm.Account, ID: "0011"}
	for i, u := range []crm.ActivityUpdate{
		{},
		{Description: "new <text>"},
		{Regarding: &contact, Related: []crm.Ref{contact, account}},
		{Regarding: &account, Description: strings.Repeat("d", 40000)},
	} {
		m := map[string]any{"attributes": map[string]string{"type": taskObject}, "id": "00T1"}
		if u.Regarding != nil {
			who, what := regarding(crm.Activity{Regarding: u.Regarding, Related: u.Related})
			if who != "" {
				m[fWhoID] = who
			}
			if what != "" {
				m[fWhatID] = what
			}
		}
		if u.Description != "" {
			m[fDescription] = truncate(u.Description, maxDescription)
		}
		want, _ := json.Marshal(m)
		if got := updateFields("00T1", u); !bytes.Equal(got, want) {
			t.Errorf("update %d: updateFields = %s, want %s", i, got, want)
		}
	}
}

// refTaskFields is taskFields as it was before it was appended without
// reflection: a map of the fields, for json.Marshal.
func refTaskFields(a crm.Activity, names fieldNames, ad adaptation, withSubtype bool) map[string]any {
	m := map[string]any{
		"attributes":   map[string]string{"type": taskObject},
		names.external: ExternalID(a.Key),
	}
	if a.Subject != "" {
		m[fSubject] = truncate(a.Subject, maxSubject)
	}
	if a.Description != "" {
		m[fDescription] = truncate(a.Description, maxDescription)
	}
	if a.Open {
		m[fStatus] = statusOpen
	} else {
		m[fStatus] = statusCompleted
	}
	switch {
	case a.Due != nil && !a.Due.IsZero():
		m[fActivityDate] = a.Due.UTC().Format(time.DateOnly)
	case !a.Start.IsZero():
		m[fActivityDate] = a.Start.UTC().Format(time.DateOnly)
	}
	if withSubtype {
		m[fTaskSubtype] = subtypeCall
	}
	switch a.Direction {
	case crm.Inbound:
		m[fCallType] = callTypeInbound
	case crm.Outbound:
		m[fCallType] = callTypeOutbound
	}
	m[fCallDuration] = int(math.Round(a.Duration.Seconds()))
	if a.Kind != crm.KindCallback {
		if a.Answered {
			m[fCallDisposition] = dispositionAnswered
		} else {
			m[fCallDisposition] = dispositionMissed
		}
	}
	if a.EnreachID != "" {
		m[fCallObject] = truncate(a.EnreachID, maxCallObject)
	}
	who, what := regarding(a)
	if who != "" {
		m[fWhoID] = who
	}
	if what != "" {
		m[fWhatID] = what
	}
	if a.OwnerID != "" {
		m[fOwnerID] = a.OwnerID
	}
	if ad.custom {
		if a.Number != "" {
			m[names.number] = truncate(a.Number, maxNumber)
		}
		if !a.Start.IsZero() {
			m[names.start] = a.Start.UTC().Format(dateTimeLayout)
		}
	}
	if ad.auditLen > 0 && a.Audit != "" {
		m[names.audit] = truncateMarked(a.Audit, ad.auditLen)
	}
	return m
}
