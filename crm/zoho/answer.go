package zoho

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// recordResult is one element of a data[] answer (201 all, 207 mixed:
// https://www.zoho.com/crm/developer/docs/api/v8/insert-records.html).
type recordResult struct {
	Code    string `json:"code"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Action  string `json:"action"`
	// Details is the element's details object as encoding/json reads it
	// (decodeRecordsJSON); nil when read by decodeRecords, which keeps
	// its bytes (details) and its "id" (detailID) instead.
	Details  map[string]any `json:"details"`
	details  []byte
	detailID string
}

// detailMap is the details object, decoded from its bytes when
// decodeRecords kept them (only results that are read further than their
// id: failures).
func (r recordResult) detailMap() map[string]any {
	if r.Details != nil || r.details == nil {
		return r.Details
	}
	var m map[string]any
	if json.Unmarshal(r.details, &m) != nil {
		return nil // not reached: decodeRecords read them as an object
	}
	return m
}

func (r recordResult) id() string {
	if r.Details != nil {
		id, _ := r.Details["id"].(string)
		return id
	}
	return r.detailID
}

func (r recordResult) apiName() string {
	s, _ := r.detailMap()["api_name"].(string)
	return s
}

func (r recordResult) duplicateID() string {
	d, _ := r.detailMap()["duplicate_record"].(map[string]any)
	id, _ := d["id"].(string)
	return id
}

func (r recordResult) err() error {
	return &RecordError{Code: r.Code, Message: r.Message, Details: r.detailMap()}
}

// decodeRecords reads the data[] of an insert, upsert or update answer as
// decodeRecordsJSON does. An answer of the plain shape is read in one pass
// with jsontext, without building each result's details as maps (the
// created record's Created_By, Modified_By, times and id: the decoding
// was most of a backfill write's CPU in the client); only its id is read,
// the rest kept as bytes for a failure. Any other answer (a member named
// in other case, which encoding/json also takes, a null or non-string
// where a string is read, duplicate names, invalid UTF-8, ...) is read by
// decodeRecordsJSON (TestDecodeRecordsMatchesJSON, FuzzDecodeRecords).
func decodeRecords(body []byte) ([]recordResult, error) {
	if out, ok := decodeRecordsPlain(body); ok {
		return out, nil
	}
	return decodeRecordsJSON(body)
}

// decodeRecordsJSON reads the data[] of an answer with encoding/json.
func decodeRecordsJSON(body []byte) ([]recordResult, error) {
	var out struct {
		Data []recordResult `json:"data"`
	}
	err := json.Unmarshal(body, &out)
	return out.Data, err
}

// decodeRecordsPlain is decodeRecords' one-pass reader; ok is false for an
// answer it does not take.
func decodeRecordsPlain(body []byte) (out []recordResult, ok bool) {
	d := jsontext.NewDecoder(bytes.NewReader(body))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, false
	}
	data := false
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return nil, false
		}
		if name.String() != "data" {
			if strings.EqualFold(name.String(), "data") || d.SkipValue() != nil {
				return nil, false
			}
			continue
		}
		if _, err := d.ReadToken(); err != nil || d.PeekKind() == 0 {
			return nil, false
		}
		data = true
		out = []recordResult{}
		for d.PeekKind() != ']' {
			r, ok := readResult(d, body)
			if !ok {
				return nil, false
			}
			out = append(out, r)
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, false
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, false
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, false // only white space may follow, as for json.Unmarshal
	}
	if !data {
		return nil, true
	}
	return out, true
}

// readResult reads one element of data[]: an object whose code, status,
// message and action are strings and whose details is an object or null.
func readResult(d *jsontext.Decoder, body []byte) (r recordResult, ok bool) {
	if d.PeekKind() != '{' {
		return r, false
	}
	if _, err := d.ReadToken(); err != nil {
		return r, false
	}
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return r, false
		}
		var dst *string
		switch n := name.String(); n {
		case "code":
			dst = &r.Code
		case "status":
			dst = &r.Status
		case "message":
			dst = &r.Message
		case "action":
			dst = &r.Action
		case "details":
			switch d.PeekKind() {
			case 'n':
				if _, err := d.ReadToken(); err != nil {
					return r, false
				}
				r.details, r.detailID = nil, ""
			case '{':
				start := d.InputOffset()
				id, ok := readDetails(d)
				if !ok {
					return r, false
				}
				// start is where the name ended: the colon and white space
				// precede the object.
				r.details = bytes.TrimLeft(body[start:d.InputOffset()], " \t\r\n:")
				r.detailID = id
			default:
				return r, false
			}
			continue
		default:
			for _, f := range [...]string{"code", "status", "message", "action", "details"} {
				if strings.EqualFold(n, f) {
					return r, false
				}
			}
			if d.SkipValue() != nil {
				return r, false
			}
			continue
		}
		if d.PeekKind() != '"' {
			return r, false
		}
		v, err := d.ReadToken()
		if err != nil {
			return r, false
		}
		*dst = v.String()
	}
	if _, err := d.ReadToken(); err != nil {
		return r, false
	}
	return r, true
}

// readDetails reads a details object and returns its "id" member when that
// is a string (as detailMap()["id"].(string) reads it).
func readDetails(d *jsontext.Decoder) (id string, ok bool) {
	if _, err := d.ReadToken(); err != nil {
		return "", false
	}
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return "", false
		}
		if name.String() == "id" && d.PeekKind() == '"' {
			v, err := d.ReadToken()
			if err != nil {
				return "", false
			}
			id = v.String()
			continue
		}
		if d.SkipValue() != nil {
			return "", false
		}
	}
	if _, err := d.ReadToken(); err != nil {
		return "", false
	}
	return id, true
}
