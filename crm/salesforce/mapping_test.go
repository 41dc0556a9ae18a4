package salesforce

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
)

func TestEscapeSOSL(t *testing.T) {
	tests := map[string]string{
		"358401234567":       "358401234567",
		"+358 40-123":        `\+358 40\-123`,
		`a?b&c|d!e{f}g[h]i`:  `a\?b\&c\|d\!e\{f\}g\[h\]i`,
		`(x)^y~z*w:v\u"t'`:   `\(x\)\^y\~z\*w\:v\\u\"t\'`,
		"Äijälä & Co":        `Äijälä \& Co`,
		"":                   "",
		`already \+ escaped`: `already \\\+ escaped`,
	}
	for in, want := range tests {
		if got := escapeSOSL(in); got != want {
			t.Errorf("escapeSOSL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSOSLText(t *testing.T) {
	q1, ok1 := prepare(crm.NumberQuery{Number: "+358401234567", Forms: []string{"+358401234567", "+358 40 1234567", "040 1234567", "0401234567", "00358401234567", "+358-40-1234567"}})
	q2, ok2 := prepare(crm.NumberQuery{Number: "+358501234567", Suffix: "501234567"})
	_, ok3 := prepare(crm.NumberQuery{Number: "anonymous"})
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("prepare: %v %v %v", ok1, ok2, ok3)
	}
	got := sosl([]lookupQuery{q1, q2}, "Contact(Id)")
	want := "FIND {358401234567 OR 0401234567 OR 00358401234567 OR 501234567} IN PHONE FIELDS RETURNING Contact(Id)"
	if got != want {
		t.Errorf("sosl =\n%s\nwant\n%s", got, want)
	}
	c := &Client{phones: DefaultPhoneFields()}
	ret := c.returning(c.adapted(), map[crm.Entity][]string{crm.Account: {"Industry", "phone"}})
	if ret != "Contact(Id,Name,OwnerId,AccountId,Phone,MobilePhone,HomePhone,OtherPhone,AssistantPhone,Fax),"+
		"Account(Id,Name,OwnerId,Phone,Fax,Industry),Lead(Id,Name,OwnerId,Phone,MobilePhone,Fax)" {
		t.Errorf("returning = %s", ret)
	}
}

func TestChunkQueries(t *testing.T) {
	var qs []lookupQuery
	for i := range 1000 {
		q, _ := prepare(crm.NumberQuery{Number: "+35840" + pad(i), Forms: []string{
			"+35840" + pad(i), "040" + pad(i), "0035840" + pad(i)}})
		qs = append(qs, q)
	}
	chunks := chunkQueries(qs)
	n := 0
	for _, ch := range chunks {
		n += len(ch)
		text := sosl(ch, "")
		body := text[strings.Index(text, "{")+1 : strings.Index(text, "}")]
		if len(body) >= maxSearchQuery || len(ch) > maxNumbersPerSearch {
			t.Errorf("chunk of %d numbers, %d characters", len(ch), len(body))
		}
	}
	// Three digit terms of 10-14 digits per number: about 79 numbers per search.
	if n != 1000 || len(chunks) != 13 {
		t.Errorf("%d numbers in %d chunks", n, len(chunks))
	}
}

func pad(i int) string { return strings.Repeat("0", 7-len(itoa(i))) + itoa(i) }
func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestExternalID(t *testing.T) {
	short := crm.Key("acme", crm.KindCall, "0f0e6c52-1111-4222-8333-444455556666")
	if ExternalID(short) != short {
		t.Errorf("short key changed: %s", ExternalID(short))
	}
	long := crm.Key(strings.Repeat("t", 300), crm.KindCall, "x")
	id := ExternalID(long)
	if len(id) > 255 || !strings.HasPrefix(id, "sha256:") || id != ExternalID(long) || id == ExternalID(long+"y") {
		t.Errorf("long key -> %q", id)
	}
	// Pinned: changing the mapping would duplicate every replayed write.
	if got := ExternalID(strings.Repeat("k", 256)); got != "sha256:ce16fe78208a4e93f7158e62393680e025b2ad584f4e875ce903a654bb74cf93" {
		t.Errorf("ExternalID(256 x k) = %s; the mapping must never change", got)
	}
}

func TestTaskFields(t *testing.T) {
	names := fieldNames{external: "Ext__c", number: "Num__c", start: "Start__c"}
	start := time.Date(2026, 3, 1, 23, 30, 0, 500e6, time.FixedZone("EET", 2*3600))
	base := crm.Activity{Key: "k", Kind: crm.KindCall, EnreachID: "c1", Subject: strings.Repeat("s", 300),
		Direction: crm.Outbound, Number: "+358401234567", Start: start, Duration: 61500 * time.Millisecond, Answered: true}
	lead := crm.Ref{Entity: crm.Lead, ID: "00Q1"}
	account := crm.Ref{Entity: crm.Account, ID: "0011"}
	contact := crm.Ref{Entity: crm.Contact, ID: "0031"}
	tests := []struct {
		name      string
		mod       func(*crm.Activity)
		subtype   bool
		want      map[string]any
		wantUnset []string
	}{
		{"completed outbound call", nil, true, map[string]any{
			"Ext__c": "k", "Subject": strings.Repeat("s", 255), "Status": "Completed", "TaskSubtype": "Call",
			"CallType": "Outbound", "CallDurationInSeconds": 62, "CallDisposition": "Answered", "CallObject": "c1",
			"ActivityDate": "2026-03-01", "Num__c": "+358401234567", "Start__c": "2026-03-01T21:30:00.500Z",
		}, []string{"WhoId", "WhatId", "OwnerId", "Description"}},
		{"lead never carries what", func(a *crm.Activity) { a.Regarding = &lead; a.Related = []crm.Ref{lead, account} }, false,
			map[string]any{"WhoId": "00Q1"}, []string{"WhatId", "TaskSubtype"}},
		{"account is what", func(a *crm.Activity) { a.Regarding = &account }, true,
			map[string]any{"WhatId": "0011"}, []string{"WhoId"}},
		{"contact with its account", func(a *crm.Activity) { a.Regarding = &contact; a.Related = []crm.Ref{contact, account} }, true,
			map[string]any{"WhoId": "0031", "WhatId": "0011"}, nil},
		{"several matches link none", func(a *crm.Activity) { a.Related = []crm.Ref{account, {Entity: crm.Account, ID: "0012"}, contact} }, true,
			nil, []string{"WhoId", "WhatId"}},
		{"open callback", func(a *crm.Activity) {
			due := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
			a.Kind, a.Open, a.Due, a.OwnerID, a.Answered = crm.KindCallback, true, &due, "00G1", false
		}, true, map[string]any{"Status": "Not Started", "ActivityDate": "2026-03-05", "OwnerId": "00G1"}, []string{"CallDisposition"}},
		{"missed call", func(a *crm.Activity) { a.Answered = false }, true, map[string]any{"CallDisposition": "Not answered"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			if tt.mod != nil {
				tt.mod(&a)
			}
			m := decodeRecord(t, taskFields(new(jsonw.Object), a, names, adaptation{custom: true}, tt.subtype))
			for k, v := range tt.want {
				if m[k] != v {
					t.Errorf("%s = %#v, want %#v", k, m[k], v)
				}
			}
			for _, k := range tt.wantUnset {
				if _, ok := m[k]; ok {
					t.Errorf("%s set to %v", k, m[k])
				}
			}
			if attrs, _ := m["attributes"].(map[string]any); attrs["type"] != "Task" {
				t.Errorf("attributes %v", m["attributes"])
			}
		})
	}
}

// decodeRecord reads a record's JSON into a map, whole numbers as int.
func decodeRecord(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("record %s: %v", b, err)
	}
	for k, v := range m {
		if f, ok := v.(float64); ok && f == math.Trunc(f) {
			m[k] = int(f)
		}
	}
	return m
}

func TestReadLimitInfo(t *testing.T) {
	for _, tt := range []struct {
		header string
		want   crm.Quota
	}{
		{"api-usage=10018/100000", crm.Quota{Known: true, Remaining: 89982, Limit: 100000}},
		{"api-usage=10018/100000; api-bursts=1/750", crm.Quota{Known: true, Remaining: 89982, Limit: 100000}},
		{"per-app-api-usage=17/250(appName=x), api-usage=25/15000", crm.Quota{Known: true, Remaining: 14975, Limit: 15000}},
		{"garbage", crm.Quota{}},
		{"api-usage=a/b", crm.Quota{}},
	} {
		h := http.Header{}
		h.Set("Sforce-Limit-Info", tt.header)
		if got := ReadLimitInfo(h); got != tt.want {
			t.Errorf("%q: %+v, want %+v", tt.header, got, tt.want)
		}
	}
}

func TestSOQLString(t *testing.T) {
	if got := soqlString(`o'brien\x`); got != `'o\'brien\\x'` {
		t.Errorf("soqlString = %s", got)
	}
	chunks := chunkIN(make([]string, 450), 100)
	if len(chunks) != 3 || len(chunks[0]) != maxINValues {
		t.Errorf("chunkIN: %d chunks", len(chunks))
	}
}

// TestSOQLStringAsReplacer compares soqlString, soqlLen and inList with the
// strings.Replacer quoting they replace, on every special character alone,
// in runs, at the edges, and inside multi-byte text.
func TestSOQLStringAsReplacer(t *testing.T) {
	ref := func(s string) string {
		r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\"", `\"`)
		return "'" + r.Replace(s) + "'"
	}
	values := []string{"", "+358401234567", "0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f", "Äijälä Oy", "日本語"}
	for _, c := range []string{`\`, `'`, "\n", "\r", "\t", `"`, "\x00", "%", "_", "\u2028"} {
		values = append(values, c, c+c+c, "a"+c, c+"b", "Ä"+c+"ä", "x"+c+"y"+c+"z")
	}
	for _, v := range values {
		want := ref(v)
		if got := soqlString(v); got != want {
			t.Errorf("soqlString(%q) = %q, want %q", v, got, want)
		}
		if got := soqlLen(v); got != len(want) {
			t.Errorf("soqlLen(%q) = %d, want %d", v, got, len(want))
		}
	}
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = ref(v)
	}
	if got, want := inList(values), "("+strings.Join(q, ",")+")"; got != want {
		t.Errorf("inList = %q, want %q", got, want)
	}
	if got := inList(values[1:2]); got != "('+358401234567')" {
		t.Errorf("inList of one = %q", got)
	}
}

func TestParseDateTime(t *testing.T) {
	want := time.Date(2026, 1, 2, 10, 0, 0, 250e6, time.UTC)
	for _, s := range []string{"2026-01-02T10:00:00.250+0000", "2026-01-02T12:00:00.250+0200", "2026-01-02T10:00:00.25Z"} {
		got, err := parseDateTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseDateTime(%s) = %v, %v", s, got, err)
		}
	}
	if _, err := parseDateTime("yesterday"); err == nil {
		t.Error("parsed garbage")
	}
}
