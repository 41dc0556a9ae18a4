package jsonw

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// stringCases holds every ASCII byte, the characters Marshal escapes, and
// invalid and multi-byte UTF-8, alone and inside text.
func stringCases() []string {
	out := []string{"", "plain", "Äijälä Oy", "日本語", "emoji 😀", "CallId is 0f6b2c1e\nIncoming queue call",
		"\u2028", "a\u2029b", "\xff", "a\xc3", "\xe2\x80", "€…", "</script>&amp;", "\u007f", "\x00\x01\x1f"}
	for b := 0; b < 0x80; b++ {
		c := string(rune(b))
		out = append(out, c, "x"+c+"y", c+c)
	}
	return out
}

func TestAppendStringIsMarshal(t *testing.T) {
	for _, s := range stringCases() {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("pre"), s); string(got) != "pre"+string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got[3:], want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range stringCases() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

// rawCases are valid JSON values: compact and not, with the characters
// Marshal escapes inside strings and escaped quotes and backslashes.
func rawCases() []string {
	return []string{
		`{"CallId":"0f6b2c1e","ANum":"+358401234567","Duration":180,"Answered":true,"Queue":null}`,
		`{"a": 1, "b" : [1, 2]}`, "{\n\t\"a\":\r\n1}", ` "x" `, `"with space inside"`,
		`{"n":"<b>&</b>"}`, `{"n":"a&b"}`, `{"n":"a<b"}`, `{"n":"a>b"}`, `{"n":"\u2029"}`, `{"n":"line\u2028sep"}`, "{\"n\":\"raw \u2028 sep\"}", `{"n":"€ and …"}`,
		`{"q":"say \"hi\" \\ ok","r":"\\"}`, `{"q":"\\\" "}`, `[]`, `{}`, `0`, `-1.5e3`, `true`, `null`,
		`[{"a":[{"b":"c d"}]} , 2]`, `"\u003c"`,
	}
}

func TestAppendRawIsMarshal(t *testing.T) {
	for _, r := range rawCases() {
		want, err := json.Marshal(json.RawMessage(r))
		if err != nil {
			t.Fatal(r, err)
		}
		got, err := AppendRaw([]byte("pre"), []byte(r))
		if err != nil || string(got) != "pre"+string(want) {
			t.Errorf("AppendRaw(%s) = %s, %v, want %s", r, got, err, want)
		}
	}
	if got, err := AppendRaw(nil, nil); err != nil || string(got) != "null" {
		t.Errorf("AppendRaw(nil) = %s, %v", got, err)
	}
	// Invalid JSON that is not already compact is refused by json.Compact.
	for _, bad := range []string{``, `{ `, `{"a": }`, `"open`} {
		if _, err := AppendRaw(nil, []byte(bad)); err == nil {
			t.Errorf("AppendRaw(%q): no error", bad)
		}
		if _, err := AppendCompact(nil, []byte(bad)); err == nil {
			t.Errorf("AppendCompact(%q): no error", bad)
		}
	}
}

func TestAppendCompactIsCompact(t *testing.T) {
	for _, r := range rawCases() {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(r)); err != nil {
			t.Fatal(r, err)
		}
		got, err := AppendCompact([]byte("pre"), []byte(r))
		if err != nil || string(got) != "pre"+want.String() {
			t.Errorf("AppendCompact(%s) = %s, %v, want %s", r, got, err, want.String())
		}
	}
}

func FuzzAppendRaw(f *testing.F) {
	for _, r := range rawCases() {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, r string) {
		if !json.Valid([]byte(r)) {
			return
		}
		want, err := json.Marshal(json.RawMessage(r))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := AppendRaw(nil, []byte(r)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("AppendRaw(%q) = %s, %v, want %s", r, got, err, want)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, []byte(r)); err != nil {
			t.Fatal(err)
		}
		if got, err := AppendCompact(nil, []byte(r)); err != nil || !bytes.Equal(got, c.Bytes()) {
			t.Errorf("AppendCompact(%q) = %s, %v, want %s", r, got, err, c.Bytes())
		}
	})
}

func TestObjectIsMarshalOfMap(t *testing.T) {
	var o Object
	m := map[string]any{}
	for i, k := range []string{"subject", "Z", "a_b", "attributes", "ä", "<k>", "a", "", "subject"} {
		switch i % 3 {
		case 0:
			o.String(k, "v"+strings.Repeat("<", i))
			m[k] = "v" + strings.Repeat("<", i)
		case 1:
			o.Int(k, -i*1000)
			m[k] = -i * 1000
		default:
			o.Bool(k, i%2 == 0)
			m[k] = i%2 == 0
		}
	}
	var inner Object
	inner.String("type", "Task")
	o.Value("attributes", inner.Append(nil))
	m["attributes"] = map[string]string{"type": "Task"}
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Append(nil); !bytes.Equal(got, want) {
		t.Errorf("Object = %s\nwant     %s", got, want)
	}
	if o.Len() != len(m) {
		t.Errorf("Len = %d, want %d", o.Len(), len(m))
	}
	o.Reset()
	if got := o.Append(nil); string(got) != "{}" {
		t.Errorf("after Reset: %s", got)
	}
}
