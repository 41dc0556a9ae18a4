package enreach

import (
	"encoding/json"
	"testing"
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
