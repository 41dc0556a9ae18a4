package double

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// decodeStd is what DecodeJSON reads as: a json.Decoder with UseNumber.
func decodeStd(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

var jsonSeeds = []string{
	`{"activityid":"0d5954e3-287b-5646-a667-0acf1067d299","actualdurationminutes":5,"description":"CallId is x\nIncoming\tcall","directioncode":false,` +
		`"phonecall_activity_parties":[{"participationtypemask":1,"partyid_contact@odata.bind":"/contacts(1)"}],"x":null,"y":true}`,
	`{"records":[{"Subject":"Call","Amount":-12.5e+3,"N":0,"E":1E-2,"Z":-0}],"allOrNone":false}`,
	` {} `, `[]`, `[1,[2,[3]],{"a":{}}]`, `"s"`, `123`, `-0.5`, `true`, `false`, `null`,
	`{"a":1,"a":2}`, `{"a":1}{"b":2}`, `{"a":1} garbage`, `123abc`, `01`, `truex`, `"a"x`,
	`{"esc":"\" \\ \/ \b \f \n \r \t \u00e9 \u20AC \ud83d\ude00"}`,
	`{"lone":"\ud83d x \ude00 \ud83d\u0041 \uDBFF\uDFFF"}`,
	"{\"bad utf8\":\"a\xff\xfeb\xed\xa0\x80c\xc3\"}", "{\"ok utf8\":\"café ☎ \U0001F600\"}",
	"{\"\xff\":1}", "{\"ctl\":\"a\x01b\"}", "{\"del\":\"a\x7fb\"}",
	``, ` `, `{`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{1:2}`, `[1,]`, `[,1]`, `[1 2]`,
	`-`, `1.`, `1.e5`, `1e`, `1e+`, `.5`, `+1`, `0x10`, `tru`, `nul`, `fals`, `"abc`, `"\x"`, `"\u12"`, `"\u12g4"`, `"\`,
	`{"a":[1,2,{"b":[true,false,null]}]}`, "\ufeff{}", "{\"a\":1}\n", "\t\r\n[\t1\r\n,\n2 ]",
}

// deepJSON are values at and past encoding/json's nesting limit.
var deepJSON = []string{
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
}

// DecodeJSON reads what a json.Decoder with UseNumber reads, and fails
// where it fails.
func TestDecodeJSONAsDecoder(t *testing.T) {
	for _, s := range append(jsonSeeds, deepJSON...) {
		got, err := DecodeJSON([]byte(s))
		want, werr := decodeStd([]byte(s))
		if (err != nil) != (werr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%.80q: got %#v, %v; want %#v, %v", s, got, err, want, werr)
		}
	}
}

func FuzzDecodeJSONAsDecoder(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeJSON(b)
		want, werr := decodeStd(b)
		if (err != nil) != (werr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v, %v; want %#v, %v", b, got, err, want, werr)
		}
	})
}

// decodeStdBody is what DecodeJSONBody reads as: a json.Decoder with
// UseNumber, and nothing but white space after the value.
func decodeStdBody(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("more after the value")
	}
	return v, nil
}

func TestDecodeJSONBodyAsDecoder(t *testing.T) {
	for _, s := range append(jsonSeeds, deepJSON...) {
		got, err := DecodeJSONBody([]byte(s))
		want, werr := decodeStdBody([]byte(s))
		if (err != nil) != (werr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%.80q: got %#v, %v; want %#v, %v", s, got, err, want, werr)
		}
	}
}

func FuzzDecodeJSONBodyAsDecoder(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeJSONBody(b)
		want, werr := decodeStdBody(b)
		if (err != nil) != (werr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v, %v; want %#v, %v", b, got, err, want, werr)
		}
	})
}

// One Decoder reads body after body as DecodeJSON and DecodeJSONBody read
// each alone, whatever it read before (a body that failed halfway
// included), and keeps no member or element of a body once it is read.
func TestDecoderReused(t *testing.T) {
	var dec Decoder
	bodies := append(append([]string{}, jsonSeeds...), deepJSON...)
	for round := range 2 {
		for _, s := range bodies {
			for _, whole := range []bool{false, true} {
				var got, want any
				var err, werr error
				if whole {
					got, err = dec.DecodeBody([]byte(s))
					want, werr = decodeStdBody([]byte(s))
				} else {
					got, err = dec.Decode([]byte(s))
					want, werr = decodeStd([]byte(s))
				}
				if (err != nil) != (werr != nil) || err == nil && !reflect.DeepEqual(got, want) {
					t.Errorf("round %d, %.80q (whole %v): got %#v, %v; want %#v, %v", round, s, whole, got, err, want, werr)
				}
				if len(dec.members) != 0 || len(dec.elems) != 0 {
					t.Fatalf("%.80q: %d members, %d elements left", s, len(dec.members), len(dec.elems))
				}
			}
		}
	}
}

func FuzzDecoderReused(f *testing.F) {
	for i, s := range jsonSeeds {
		f.Add([]byte(s), []byte(jsonSeeds[(i+1)%len(jsonSeeds)]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var dec Decoder
		dec.Decode(a)
		got, err := dec.Decode(b)
		want, werr := decodeStd(b)
		if (err != nil) != (werr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q after %q: got %#v, %v; want %#v, %v", b, a, got, err, want, werr)
		}
		got, err = dec.DecodeBody(a)
		want, werr = decodeStdBody(a)
		if (err != nil) != (werr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q (whole) after %q: got %#v, %v; want %#v, %v", a, b, got, err, want, werr)
		}
	})
}
