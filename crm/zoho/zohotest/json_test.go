package zohotest

import (
	"encoding/json"
	"testing"
)

var jsonSeeds = []string{`"abc"`, `""`, `"a\"b"`, `"a\\nb"`, `"\u00e9t\u00e9"`, `"été"`, "\"\xff\"", "\"a\tb\"", `"a"b"`, `"`, `12`, `null`,
	`{"id":"4150868000000624001"}`, `{"id": "41"}`, `{"id":41}`, `{"ID":"41"}`, `{"id":"4","id":"5"}`, `{"id":"4\u0031"}`, `{"id":"a"} `, `{"id":"a"}}`, `{"id":""}`}

// plainString reads what json.Unmarshal reads into a string, or leaves
// the value to it.
func FuzzPlainString(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := plainString(b)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(b, &want); err != nil || got != want {
			t.Errorf("plainString(%q) = %q; json.Unmarshal: %q, %v", b, got, want, err)
		}
	})
}

// lookupID reads any value as decodeLookupID does.
func FuzzLookupID(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // a field's value inside a body that decoded
		}
		if got, want := lookupID(b), decodeLookupID(b); got != want {
			t.Errorf("lookupID(%q) = %q, decoded %q", b, got, want)
		}
	})
}
