package enreach

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// scalarText reads a JSON string as json.Unmarshal does, with or without
// escapes, and text that is not UTF-8 as U+FFFD.
func TestScalarTextReadsStringsAsUnmarshal(t *testing.T) {
	for _, raw := range []string{
		`"plain"`, `""`, `"+358401234567"`, `"Åsa Öberg"`, `"tab\there"`, `"quote \" inside"`, `"\u00e5\u00e4"`,
		"\"bad \xff utf8\"", "\"half \xe2\x82 rune\"", `"\ud83d\ude00"`, `"\ud800 lone"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		got, err := scalarText(json.RawMessage(raw))
		if err != nil || got != want {
			t.Errorf("scalarText(%s) = %q, %v; want %q", raw, got, err, want)
		}
	}
}

// Field names match in any casing, and one given twice in two casings with
// different values is a reason to quarantine the record.
func TestRecordNamesAnyCasing(t *testing.T) {
	r, err := newRecord(json.RawMessage(`{"CALLID":"c1","userid":"u1","aNuM":"+358401234567","BNum":null,"bnum":"+358201000100"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := [4]string{r.str("CallId"), r.str("UserId"), r.str("ANum"), r.str("BNum")}; got != [4]string{"c1", "u1", "+358401234567", "+358201000100"} || r.err != nil {
		t.Fatalf("got %q, err %v", got, r.err)
	}
	r, err = newRecord(json.RawMessage(`{"CallId":"x","CALLID":"y"}`))
	if err != nil || r.err == nil {
		t.Fatalf("two values of one name: err %v, record err %v", err, r.err)
	}
}

// referenceFields is what a record held when it was read with
// json.Unmarshal into a map and its names lower-cased: each lower-cased
// name's value; ok is false when a name is given twice in any casing (the
// record's own rules apply then) or raw is not an object.
func referenceFields(raw []byte) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		lk := strings.ToLower(k)
		if _, dup := out[lk]; dup {
			return nil, false
		}
		out[lk] = v
	}
	if bytes.Count(raw, []byte(`":`)) > len(m) && len(m) > 0 {
		return nil, false // maybe a name given twice in the same casing
	}
	return out, true
}

// checkRecordAsUnmarshal fails t when the record read from raw (as a
// checked or as an already valid element) holds other fields than
// json.Unmarshal reads from it.
func checkRecordAsUnmarshal(t *testing.T, raw []byte) {
	t.Helper()
	want, ok := referenceFields(raw)
	for _, valid := range []bool{false, true} {
		if valid && !json.Valid(raw) {
			continue
		}
		r, err := readRecord(raw, valid)
		if !ok {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if len(r.fields) != len(want) {
			t.Fatalf("%s: %d fields, want %d", raw, len(r.fields), len(want))
		}
		for k, v := range want {
			_, got, found := r.lookup(k)
			if found != !isNull(v) || (found && !bytes.Equal(got, v)) {
				t.Fatalf("%s: field %q = %s (%v), want %s", raw, k, got, found, v)
			}
		}
	}
}

// A record's fields are json.Unmarshal's: names in any casing, escaped
// names, nested values, spacing.
func TestRecordFieldsAsUnmarshal(t *testing.T) {
	for _, s := range []string{
		`{"CallId":"c1","UserId":"u1","Direction":0,"Duration":12.5,"RecordingIds":["r1",2,null],"AnswerTime":null}`,
		` { "CALLID" : "c1" , "nested" : {"a":[1,{"b":"}]\""}],"c":"x"} , "list":[ ] , "t":true,"f":false,"n":null } `,
		`{"Call\u0049d":"escaped name","Ünï":"x","quote\"d":"y","e":"a\\\"b","num":-1.5e3}`,
		`{}`, `{"a":{}}`, `{"a":[]}`, `{"\u212Aey":"kelvin"}`,
	} {
		checkRecordAsUnmarshal(t, []byte(s))
	}
	for _, s := range recordSeeds {
		var raws []json.RawMessage
		if json.Unmarshal([]byte(s), &raws) != nil {
			continue
		}
		for _, raw := range raws {
			checkRecordAsUnmarshal(t, raw)
		}
	}
	for _, bad := range []string{`{"a":1,}`, `{"a" 1}`, `{"a":}`, `{"a":1`, `{"a":1}x`, `{a:1}`} {
		if _, err := newRecord(json.RawMessage(bad)); err == nil {
			t.Errorf("%s read as a record", bad)
		}
	}
}

// parseSimpleTime reads what ParseTime reads, or leaves the text to it.
func TestParseSimpleTimeIsParseTime(t *testing.T) {
	for _, s := range []string{
		"2026-01-10 10:00:00", "2026-01-10T23:59:59", "2024-02-29 00:00:00", "2025-02-29 00:00:00",
		"2026-04-31 10:00:00", "2026-13-01 10:00:00", "2026-00-01 10:00:00", "2026-01-00 10:00:00",
		"2026-01-10 24:00:00", "2026-01-10 10:60:00", "2026-01-10 10:00:60", "0000-01-01 00:00:00",
		"2026-01-10x10:00:00", "2026-1-10 10:00:00 ", "+026-01-10 10:00:00", "2026-01-10 1a:00:00",
	} {
		want, werr := ParseTime(s)
		got, ok := parseSimpleTime([]byte(s))
		if ok && (werr != nil || !got.Equal(want) || got.Location() != time.UTC) {
			t.Errorf("parseSimpleTime(%q) = %v; ParseTime %v, %v", s, got, want, werr)
		}
		if !ok && werr == nil && len(s) == 19 && s[10] != 'x' {
			t.Errorf("parseSimpleTime(%q) left to ParseTime, which reads it as %v", s, want)
		}
	}
}
