package salesforcetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// decodeByRecord is decodeCollection as it was before it decoded in one
// pass: the body into raw records, then each record on its own.
func (s *Server) decodeByRecord(body []byte, pathObj *object) (bool, []*pendingWrite, *requestError) {
	var req collectionBody
	if err := json.Unmarshal(body, &req); err != nil {
		return false, nil, &requestError{status: http.StatusBadRequest, code: "JSON_PARSER_ERROR", msg: err.Error()}
	}
	if err := checkCollectionSize(len(req.Records)); err != nil {
		return false, nil, err
	}
	out := make([]*pendingWrite, len(req.Records))
	for i, raw := range req.Records {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			return false, nil, &requestError{status: http.StatusBadRequest, code: "JSON_PARSER_ERROR", msg: err.Error()}
		}
		pw, err := s.pendingWrite(rec, pathObj)
		if err != nil {
			return false, nil, err
		}
		out[i] = pw
	}
	return req.AllOrNone, out, nil
}

// TestCollectionDecodedInOnePass: decodeCollection answers every body as
// decoding it record by record does (records, values, per-field errors,
// and the request's error), and valid collections take the one pass.
func TestCollectionDecodedInOnePass(t *testing.T) {
	s := NewServer(Config{Username: "u@example.invalid"})
	defer s.Close()
	task := `{"attributes":{"type":"Task"},"Enreach_Call_Id__c":"K1","Subject":"call","CallDurationInSeconds":42,"Enreach_Call_Start__c":"2025-01-01T10:00:00Z"}`
	many := strings.TrimSuffix(strings.Repeat(task+",", 201), ",")
	bodies := []struct {
		body    string
		onePass bool
	}{
		{`{"allOrNone":true,"records":[` + task + `]}`, true},
		{`{"allOrNone":false,"records":[` + task + `,` + task + `]}`, true},
		{`{"records":[` + task + `,{"attributes":{"type":"Task"},"CallDurationInSeconds":"long"}]}`, true},
		{`{"records":[{"attributes":{"type":"Task"},"NoSuchField__c":1}]}`, true},
		{`{"records":[{"attributes":{"type":"Account"},"Name":"x"}]}`, true},
		{`{"records":[{"attributes":{"type":"Nope"}}]}`, true},
		{`{"records":[null]}`, true},
		{`{"records":[]}`, true},
		{`{"allOrNone":true}`, true},
		{`{"records":[` + many + `]}`, true},
		{`{"records":[` + task + `,[1,2]]}`, false},
		{`{"records":[{"attributes":{"type":"Nope"}},7]}`, false},
		{`{"records":[` + task + `]} {}`, false},
		{`{"records":[` + task + `]}x`, false},
		{`{"records":{"a":1}}`, false},
		{`{"allOrNone":"yes","records":[` + task + `]}`, false},
		{`{"records":[` + task, false},
		{``, false},
		{`[]`, false},
		{`{"AllOrNone":true,"records":[` + task + `]}`, true},
		{`{"records":[` + task + `],"Records":null}`, true},
		{`{"records":[{"attributes":{"type":"Nope"}}],"allOrNone":true,"records":[` + task + `],"allOrNone":false}`, true},
		{`{"records":null}`, true},
		{`{"allOrNone":null,"records":[` + task + `]}`, true},
	}
	task0 := s.schema["task"]
	for _, b := range bodies {
		for _, pathObj := range []*object{nil, task0} {
			a1, w1, e1 := s.decodeCollection([]byte(b.body), pathObj)
			a2, w2, e2 := s.decodeByRecord([]byte(b.body), pathObj)
			if a1 != a2 || !reflect.DeepEqual(w1, w2) || !reflect.DeepEqual(e1, e2) {
				t.Errorf("%.80s: got %v %v %v, want %v %v %v", b.body, a1, fmt.Sprint(w1), e1, a2, fmt.Sprint(w2), e2)
			}
		}
		if _, _, ok := decodeRecords([]byte(b.body)); ok != b.onePass {
			t.Errorf("%.80s: one pass %v, want %v", b.body, ok, b.onePass)
		}
		// api logs a body readCollection read by its records' count, in
		// place of subrequests' decoding of it.
		if in := readCollection([]byte(b.body)); in.ok && len(in.recs) != subrequests([]byte(b.body)) {
			t.Errorf("%.80s: %d records read, subrequests counts %d", b.body, len(in.recs), subrequests([]byte(b.body)))
		}
	}
	if _, _, ok, sure := decodeRecordsFast([]byte(bodies[0].body)); !ok || !sure {
		t.Errorf("a client's collection is not read by DecodeJSONBody (ok %v, sure %v)", ok, sure)
	}
}

// BenchmarkDecodeCollection decodes a collection of 200 Tasks in one pass
// and record by record.
func BenchmarkDecodeCollection(b *testing.B) {
	s := NewServer(Config{Username: "u@example.invalid"})
	defer s.Close()
	var recs []string
	for i := range 200 {
		recs = append(recs, fmt.Sprintf(`{"attributes":{"type":"Task"},"Enreach_Call_Id__c":"K%d","Subject":"Call +358401234567","Description":"inbound call, answered","CallDurationInSeconds":%d,"Enreach_Number__c":"+358401234567","Enreach_Call_Start__c":"2025-01-01T10:00:00Z","TaskSubtype":"Call","Status":"Completed"}`, i, i))
	}
	body := []byte(`{"allOrNone":false,"records":[` + strings.Join(recs, ",") + `]}`)
	for name, decode := range map[string]func([]byte, *object) (bool, []*pendingWrite, *requestError){
		"one-pass": s.decodeCollection, "by-record": s.decodeByRecord} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				if _, _, err := decode(body, nil); err != nil {
					b.Fatal(err.msg)
				}
			}
		})
	}
}
