package zohotest

import (
	"reflect"
	"testing"
	"time"
)

// writeBodies are bodies readWrite is checked with: the client's, and
// shapes around the one readWriteFast reads.
func writeBodies() []string {
	_, _, inserts := backfillBodies(0, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "5725767000000000001", "5725767000000000002")
	return []string{
		string(inserts[0]),
		`{"data":[{"Subject":"a","Owner":{"id":"1"},"n":1.5e3,"b":true,"z":null,"l":[1,{"x":"]"}]}],"trigger":["workflow"]}`,
		` { "data" : [ { "Subject" : "a\"b" , "x" : -0 } , { } ] , "trigger" : [ ] , "duplicate_check_fields" : [ "Email" ] } `,
		`{"data":[{"a":1,"a":2}]}`,
		`{"data":[],"trigger":null,"duplicate_check_fields":null}`,
		`{"data":null}`,
		`{}`,
		`{"Data":[{"a":1}]}`,
		`{"data":[{"a":1}],"data":[{"b":2}]}`,
		`{"data":[{"a":1}],"other":1}`,
		`{"data":[null]}`,
		`{"data":[1]}`,
		`{"data":{"a":1}}`,
		`{"data":[{"a\u0062":1}]}`,
		`{"data":[{"a":"\u00e9"}],"trigger":["a\nb"]}`,
		`{"data":[{"Subject":"x","Description":"line 1\nline 2\r\n\t\u003cb\u003e \u2028 \ud83d\ude00 \ud800 \/ \"q\" \\"}],"trigger":[]}`,
		`{"trigger":[1]}`,
		`{"data":[{"\xff":1}]}`,
		`{"data":[{"a":"\xff"}]}`,
		`null`,
		`[]`,
		`{"data":[{"a":1}]} x`,
		`{"data":[{"a":1}`,
		``,
		`{"data":[{"a":tru}]}`,
	}
}

func sameWrite(a, b writeInput) bool {
	if (a.err == nil) != (b.err == nil) || a.err != nil && a.err.Error() != b.err.Error() {
		return false
	}
	return reflect.DeepEqual(a.Data, b.Data) && reflect.DeepEqual(a.Trigger, b.Trigger) &&
		reflect.DeepEqual(a.DuplicateCheckFields, b.DuplicateCheckFields)
}

// TestWriteBodyAsUnmarshal: readWrite reads every body as json.Unmarshal
// does, and the client's inserts in one pass.
func TestWriteBodyAsUnmarshal(t *testing.T) {
	for _, b := range writeBodies() {
		if got, want := readWrite([]byte(b)), readWriteJSON([]byte(b)); !sameWrite(got, want) {
			t.Errorf("%.100s: got %+v, want %+v", b, got, want)
		}
	}
	if _, ok := readWriteFast([]byte(writeBodies()[0])); !ok {
		t.Error("the client's insert is not read in one pass")
	}
}

func FuzzWriteBodyAsUnmarshal(f *testing.F) {
	for _, b := range writeBodies() {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := readWrite(b), readWriteJSON(b); !sameWrite(got, want) {
			t.Errorf("%q: got %+v, want %+v", b, got, want)
		}
	})
}
