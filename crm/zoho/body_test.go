package zoho

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
)

// marshalBody writes what json.Marshal writes, for the bodies the client
// sends and for values it leaves to json.Marshal.
func TestMarshalBodyAsMarshal(t *testing.T) {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	a := crm.Activity{
		Key: "t/call/1", Kind: crm.KindCall, EnreachID: "0f6b2c1e", Number: "+358401234567", DialledNumber: "+358201234567",
		Direction: crm.Outbound, Subject: "Call <b>&</b> \u2028 \"quoted\" \\ \x01 \xff é", Description: "line 1\nline 2\t<tab>",
		Start: start, End: start.Add(3 * time.Minute), Duration: 3 * time.Minute, Answered: true, OwnerID: "4150868000000225013",
		Regarding: &crm.Ref{Entity: crm.Account, ID: "4150868000000624001"},
	}
	cb := a
	cb.Kind, cb.Regarding = crm.KindCallback, &crm.Ref{Entity: crm.Contact, ID: "1"}
	now := start.Add(time.Hour)
	bodies := []any{
		map[string]any{"data": []map[string]any{refCallFields(a, "Enreach_Call_Id", now, time.UTC), refCallFields(cb, "", now, time.UTC)}, "trigger": []string{}},
		map[string]any{"data": []map[string]any{customRecord(a, time.UTC)}, "duplicate_check_fields": []string{cfCallID}, "trigger": []string{}},
		map[string]string{"select_query": "select id from Calls where Caller_ID in ('+358 40', '<&>')"},
		map[string]any{"a": nil, "b": []any{1, true, "x", nil, []string{"y"}}, "c": map[string]any(nil), "d": []string(nil), "é": 1, "A": 2},
		map[string]any{"f": 1.5, "t": start}, // left to json.Marshal
		[]map[string]any{nil, {}},
		"plain",
	}
	for _, body := range bodies {
		want, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshalBody(body)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("marshalBody(%#v) =\n%s, %v\njson.Marshal:\n%s", body, got, err, want)
		}
	}
}

// Any string, as a key or a value, is written as json.Marshal writes it.
func FuzzMarshalBody(f *testing.F) {
	for _, s := range []string{"", "a", "<&>", "\u2028\u2029", "\xff\xfe", "\"\\\x00\x1f\x7f", "é日本"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		body := map[string]any{k: v, "data": []map[string]any{{k: map[string]any{"id": v}, "x": []string{v, k}}}, v: map[string]string{k: v}}
		want, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := marshalBody(body); err != nil || !bytes.Equal(got, want) {
			t.Errorf("marshalBody(%q) =\n%s, %v\njson.Marshal:\n%s", body, got, err, want)
		}
	})
}
