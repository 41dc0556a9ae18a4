package salesforcetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/callsync/callsync/internal/double"
)

// maxCollection is the sObject Collections record limit.
const maxCollection = 200

// collectionBody is the request of the collection resources.
type collectionBody struct {
	AllOrNone bool              `json:"allOrNone"`
	Records   []json.RawMessage `json:"records"`
}

// pendingWrite is one record of a collection request, checked but not applied.
type pendingWrite struct {
	obj    *object
	vals   map[string]any // canonical field name -> decoded value
	id     string         // existing record (update) or "" (create)
	errs   []*fieldError
	result map[string]any
}

// collectionInput is a collection body as decodeRecords reads it, decoded
// before s.mu is taken (ServeHTTP); ok is false for a body it cannot read.
type collectionInput struct {
	allOrNone bool
	recs      []map[string]any
	ok        bool
}

func readCollection(body []byte) collectionInput {
	allOrNone, recs, ok := decodeRecords(body)
	return collectionInput{allOrNone: allOrNone, recs: recs, ok: ok}
}

// decodeCollection parses and checks a collection body as a whole: JSON,
// record count, types and field names (any failure fails the request).
func (s *Server) decodeCollection(body []byte, pathObj *object) (bool, []*pendingWrite, *requestError) {
	return s.checkCollection(readCollection(body), body, pathObj)
}

// checkCollection is decodeCollection of a body readCollection has read
// into in.
func (s *Server) checkCollection(in collectionInput, body []byte, pathObj *object) (bool, []*pendingWrite, *requestError) {
	allOrNone, recs, ok := in.allOrNone, in.recs, in.ok
	if !ok {
		// Not a collection of JSON objects: decode it record by record,
		// which finds the error to answer.
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
	if err := checkCollectionSize(len(recs)); err != nil {
		return false, nil, err
	}
	out := make([]*pendingWrite, len(recs))
	for i, rec := range recs {
		pw, err := s.pendingWrite(rec, pathObj)
		if err != nil {
			return false, nil, err
		}
		out[i] = pw
	}
	return allOrNone, out, nil
}

// collection checks a collection body, decoded already when in is not nil.
func (s *Server) collection(body []byte, in *collectionInput, pathObj *object) (bool, []*pendingWrite, *requestError) {
	if in == nil {
		return s.decodeCollection(body, pathObj)
	}
	return s.checkCollection(*in, body, pathObj)
}

// decodeRecords decodes a collection request whose records are JSON
// objects (or null) in one pass, numbers as json.Number; ok is false for
// any other body. A body whose members are named exactly allOrNone and
// records (a repeated one keeps its last value, as with encoding/json) is
// read by double.DecodeJSONBody; any other (a name in other case, which
// encoding/json also takes) goes through json.Decoder into the request's
// struct.
func decodeRecords(body []byte) (allOrNone bool, recs []map[string]any, ok bool) {
	if allOrNone, recs, ok, sure := decodeRecordsFast(body); sure {
		return allOrNone, recs, ok
	}
	var req struct {
		AllOrNone bool             `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return false, nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return false, nil, false // more after the object: json.Unmarshal refuses it
	}
	return req.AllOrNone, req.Records, true
}

// decodeRecordsFast is decodeRecords for the bodies clients send; sure is
// false when the body needs json.Decoder's reading (see decodeRecords).
func decodeRecordsFast(body []byte) (allOrNone bool, recs []map[string]any, ok, sure bool) {
	v, err := double.DecodeJSONBody(body)
	if err != nil {
		return false, nil, false, true // json.Decoder fails, or finds more after the value
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return false, nil, false, false
	}
	for k := range obj {
		if k != "allOrNone" && k != "records" && (strings.EqualFold(k, "allOrNone") || strings.EqualFold(k, "records")) {
			return false, nil, false, false
		}
	}
	switch a := obj["allOrNone"].(type) {
	case nil:
	case bool:
		allOrNone = a
	default:
		return false, nil, false, false
	}
	switch rs := obj["records"].(type) {
	case nil:
	case []any:
		recs = make([]map[string]any, len(rs))
		for i, r := range rs {
			switch r := r.(type) {
			case nil:
			case map[string]any:
				recs[i] = r
			default:
				return false, nil, false, false
			}
		}
	default:
		return false, nil, false, false
	}
	return allOrNone, recs, true, true
}

func checkCollectionSize(n int) *requestError {
	if n == 0 {
		return &requestError{status: http.StatusBadRequest, code: "INVALID_FIELD", msg: "records is required"}
	}
	if n > maxCollection {
		return &requestError{status: http.StatusBadRequest, code: "EXCEEDED_ID_LIMIT",
			msg: fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxCollection)}
	}
	return nil
}

// pendingWrite checks one decoded record of a collection request.
func (s *Server) pendingWrite(rec map[string]any, pathObj *object) (*pendingWrite, *requestError) {
	attrs, _ := rec["attributes"].(map[string]any)
	typ, _ := attrs["type"].(string)
	o := s.schema[strings.ToLower(typ)]
	if o == nil || (pathObj != nil && o != pathObj) {
		return nil, &requestError{status: http.StatusBadRequest, code: "INVALID_TYPE", msg: "Must send a concrete entity type."}
	}
	pw := &pendingWrite{obj: o, vals: make(map[string]any, len(rec))}
	for k, v := range rec {
		if k == "attributes" {
			continue
		}
		f := o.field(k)
		if f == nil {
			return nil, &requestError{status: http.StatusBadRequest, code: "INVALID_FIELD",
				msg: fmt.Sprintf("No such column '%s' on sobject of type %s", k, o.name)}
		}
		val, ferr, err := decodeValue(o, f, v)
		if err != nil {
			return nil, err.(*requestError)
		}
		if ferr != nil {
			pw.errs = append(pw.errs, ferr)
		}
		pw.vals[f.name] = val
		if f.name == "Id" {
			pw.id, _ = v.(string)
		}
	}
	return pw, nil
}

// upsertCollection serves PATCH /composite/sobjects/<Object>/<ExternalIdField>.
// in is the body ServeHTTP decoded (nil: it is decoded here).
func (s *Server) upsertCollection(version, objName, extName string, body []byte, in *collectionInput) (int, any) {
	o := s.schema[strings.ToLower(objName)]
	if o == nil {
		return http.StatusNotFound, errArray("NOT_FOUND", "The requested resource does not exist")
	}
	ef := o.field(extName)
	if ef == nil || !ef.externalID {
		return http.StatusNotFound, errArray("NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+extName)
	}
	allOrNone, recs, rerr := s.collection(body, in, o)
	if rerr != nil {
		return rerr.status, errArray(rerr.code, rerr.msg)
	}
	count := map[string]int{}
	for _, pw := range recs {
		if v, ok := pw.vals[ef.name].(string); ok {
			count[strings.ToLower(v)]++
		}
	}
	// The existing records with this request's external ids, from the
	// index (in creation order, as a scan would find them).
	byExt := map[string][]string{}
	for k := range count {
		for _, rec := range s.withText(o.name, ef.name, []string{k}) {
			if v, ok := rec[ef.name].(string); ok && strings.ToLower(v) == k {
				byExt[k] = append(byExt[k], rec["Id"].(string))
			}
		}
	}
	for _, pw := range recs {
		pw.id = ""
		delete(pw.vals, "Id")
		if len(pw.errs) > 0 {
			continue
		}
		ext, _ := pw.vals[ef.name].(string)
		if ext == "" {
			pw.errs = append(pw.errs, &fieldError{code: "MISSING_ARGUMENT", msg: ef.name + " not specified", fields: []string{}})
			continue
		}
		if count[strings.ToLower(ext)] > 1 {
			pw.errs = append(pw.errs, &fieldError{code: "DUPLICATE_VALUE",
				msg: "Duplicate external id specified: " + ext, fields: []string{ef.name}})
			continue
		}
		matches := byExt[strings.ToLower(ext)]
		switch len(matches) {
		case 0:
			s.checkWrite(pw, true)
		case 1:
			pw.id = matches[0]
			s.checkWrite(pw, false)
		default:
			pw.errs = append(pw.errs, &fieldError{code: "DUPLICATE_EXTERNAL_ID",
				msg:    fmt.Sprintf("%s: more than one record found for external id field: [%s]", ef.name, strings.Join(matches, ", ")),
				fields: []string{ef.name}})
		}
	}
	return http.StatusOK, s.commit(allOrNone, recs, true)
}

// updateCollection serves PATCH /composite/sobjects (update by id).
func (s *Server) updateCollection(version string, body []byte, in *collectionInput) (int, any) {
	allOrNone, recs, rerr := s.collection(body, in, nil)
	if rerr != nil {
		return rerr.status, errArray(rerr.code, rerr.msg)
	}
	for _, pw := range recs {
		if len(pw.errs) > 0 {
			continue
		}
		delete(pw.vals, "Id")
		if pw.id == "" {
			pw.errs = append(pw.errs, &fieldError{code: "MISSING_ARGUMENT", msg: "Id not specified in an update call", fields: []string{}})
			continue
		}
		rec, ok := s.byID[pw.id]
		if !ok || !strings.HasPrefix(pw.id, pw.obj.prefix) {
			pw.errs = append(pw.errs, &fieldError{code: "INVALID_CROSS_REFERENCE_KEY", msg: "invalid cross reference id", fields: []string{}})
			continue
		}
		pw.id = rec["Id"].(string)
		s.checkWrite(pw, false)
	}
	return http.StatusOK, s.commit(allOrNone, recs, false)
}

// checkWrite applies the field rules of a create or an update to pw.
func (s *Server) checkWrite(pw *pendingWrite, create bool) {
	var refused []string
	for name := range pw.vals {
		f := pw.obj.field(name)
		if name == "Id" {
			continue
		}
		if (create && !f.createable) || (!create && !f.updateable) {
			refused = append(refused, f.name)
		}
	}
	if len(refused) > 0 {
		pw.errs = append(pw.errs, &fieldError{code: "INVALID_FIELD_FOR_INSERT_UPDATE",
			msg: fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and "+
				"verify that it is read/write for your profile or permission set.", strings.Join(refused, ", ")),
			fields: refused})
		return
	}
	// merged is the record as it would be after the write: the written
	// values over the stored record's (an update), Id the stored one.
	var stored map[string]any
	if !create {
		stored = s.byID[pw.id]
	}
	merged := func(name string) any {
		if v, ok := pw.vals[name]; ok && name != "Id" {
			return v
		}
		return stored[name]
	}
	for name := range pw.vals {
		f := pw.obj.field(name)
		if f.typ != FieldReference || merged(f.name) == nil {
			continue
		}
		if e := s.checkRef(pw.obj, f, merged(f.name).(string)); e != nil {
			pw.errs = append(pw.errs, e)
		}
	}
	if pw.obj.name == "Task" {
		if who, _ := merged("WhoId").(string); who != "" && merged("WhatId") != nil {
			if t, ok := s.byID[who]; ok && s.objectOf(t) == "Lead" {
				// [assumed]: a Lead WhoId cannot carry a WhatId.
				pw.errs = append(pw.errs, &fieldError{code: "FIELD_INTEGRITY_EXCEPTION",
					msg: "Related To ID: You can't associate a task with a lead and another record.", fields: []string{"WhatId"}})
			}
		}
	}
}

// checkRef checks a reference value: the record exists, has an allowed
// type, and an owner is an active user or a queue.
func (s *Server) checkRef(o *object, f *field, id string) *fieldError {
	target, ok := s.byID[id]
	if !ok {
		return &fieldError{code: "INVALID_CROSS_REFERENCE_KEY", msg: f.name + ": invalid cross reference id", fields: []string{f.name}}
	}
	typ := s.objectOf(target)
	allowed := false
	for _, t := range f.refTo {
		if t == typ {
			allowed = true
		}
	}
	if !allowed {
		return &fieldError{code: "FIELD_INTEGRITY_EXCEPTION",
			msg: fmt.Sprintf("%s: id value of incorrect type: %s", strings.Join(f.refTo, "/")+" ID", id), fields: []string{f.name}}
	}
	if f.name == "OwnerId" {
		switch typ {
		case "User":
			if active, _ := target["IsActive"].(bool); !active {
				return &fieldError{code: "INACTIVE_OWNER_OR_USER",
					msg: fmt.Sprintf("operation performed with inactive user [%s] as owner of %s", id, strings.ToLower(o.name)), fields: []string{}}
			}
		case "Group":
			if target["Type"] != "Queue" {
				return &fieldError{code: "FIELD_INTEGRITY_EXCEPTION", msg: "Assigned To ID: owner cannot be a group", fields: []string{f.name}}
			}
		}
	}
	return nil
}

func (s *Server) objectOf(rec map[string]any) string {
	id, _ := rec["Id"].(string)
	for _, o := range s.schema {
		if strings.HasPrefix(id, o.prefix) {
			return o.name
		}
	}
	return ""
}

// commit applies the checked writes (none of them under allOrNone when one
// failed) and returns the per-record results in order.
func (s *Server) commit(allOrNone bool, recs []*pendingWrite, upsert bool) []map[string]any {
	failed := false
	for _, pw := range recs {
		if len(pw.errs) > 0 {
			failed = true
		}
	}
	out := make([]map[string]any, len(recs))
	for i, pw := range recs {
		res := make(map[string]any, 4) // id, success, errors, created
		res["success"] = false
		switch {
		case len(pw.errs) > 0:
			errs := make([]map[string]any, len(pw.errs))
			for j, e := range pw.errs {
				errs[j] = e.json()
			}
			res["errors"] = errs
			if pw.id != "" {
				res["id"] = pw.id
			}
		case allOrNone && failed:
			res["errors"] = []map[string]any{(&fieldError{code: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
				msg: "Record rolled back because not all records were valid and the request was using AllOrNone header"}).json()}
		default:
			created := pw.id == ""
			res["id"] = s.apply(pw)
			res["success"] = true
			res["errors"] = []any{}
			if upsert {
				res["created"] = created
			}
		}
		if upsert {
			if _, ok := res["created"]; !ok {
				res["created"] = false
			}
		}
		out[i] = res
	}
	return out
}

// apply writes a checked record and returns its id.
func (s *Server) apply(pw *pendingWrite) string {
	var rec map[string]any
	if pw.id == "" {
		// Sized for the written values and those the double adds (Id,
		// CreatedDate, defaults, derive's).
		rec = make(map[string]any, len(pw.vals)+8)
		rec["Id"] = s.newID(pw.obj)
		rec["CreatedDate"] = s.cfg.Now().UTC()
		s.defaults(pw.obj, rec)
		s.records[pw.obj.name] = append(s.records[pw.obj.name], rec)
		s.byID[rec["Id"].(string)] = rec
	} else {
		rec = s.byID[pw.id]
		s.unindexed(pw.obj.name, rec, false)
	}
	defer s.indexed(pw.obj.name, rec)
	for k, v := range pw.vals {
		if k == "Id" {
			continue
		}
		if v == nil {
			delete(rec, k)
		} else {
			rec[k] = v
		}
	}
	s.derive(pw.obj, rec)
	return rec["Id"].(string)
}

// defaults fills the values a new record gets without being told.
func (s *Server) defaults(o *object, rec map[string]any) {
	if o.anyField("OwnerId") != nil {
		rec["OwnerId"] = s.runAs
	}
	switch o.name {
	case "Task":
		rec["Status"] = "Not Started"
		rec["Priority"] = "Normal"
	case "User":
		rec["IsActive"] = true
	}
}

// derive recomputes the read-only fields Salesforce maintains.
func (s *Server) derive(o *object, rec map[string]any) {
	rec["SystemModstamp"] = s.cfg.Now().UTC()
	switch o.name {
	case "Task":
		rec["IsClosed"] = rec["Status"] == "Completed"
		delete(rec, "AccountId")
		if what, _ := rec["WhatId"].(string); strings.HasPrefix(what, "001") {
			rec["AccountId"] = what
		} else if who, _ := rec["WhoId"].(string); who != "" {
			if c, ok := s.byID[who]; ok && c["AccountId"] != nil {
				rec["AccountId"] = c["AccountId"]
			}
		}
	case "Contact", "Lead", "User":
		if rec["Name"] == nil {
			name := strings.TrimSpace(fmt.Sprint(orEmpty(rec["FirstName"]), " ", orEmpty(rec["LastName"])))
			if name != "" {
				rec["Name"] = name
			}
		}
	}
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}
