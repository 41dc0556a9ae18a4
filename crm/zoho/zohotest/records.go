package zohotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

type writeMode int

const (
	writeInsert writeMode = iota
	writeUpdate
	writeUpsert
)

// writeInput is an insert, update or upsert request body, decoded
// (readWrite) before the handler runs.
type writeInput struct {
	Data                 []map[string]json.RawMessage `json:"data"`
	Trigger              []string                     `json:"trigger"`
	DuplicateCheckFields []string                     `json:"duplicate_check_fields"`
	err                  error
}

// readWrite reads body as json.Unmarshal reads it into a writeInput: a
// body of the shape clients send in one pass (readWriteFast), any other
// through json.Unmarshal (readWriteJSON).
func readWrite(body []byte) writeInput {
	if in, ok := readWriteFast(body); ok {
		return in
	}
	return readWriteJSON(body)
}

func readWriteJSON(body []byte) writeInput {
	var req writeInput
	if err := json.Unmarshal(body, &req); err != nil {
		return writeInput{err: err}
	}
	return req
}

// handleWrite serves POST /{module} (insert), PUT /{module} (update) and
// POST /{module}/upsert: at most 100 records, per-record results in input
// order; 201/200 when all succeed, 207 when some fail, 400 when all fail.
func (s *Server) handleWrite(name string, req writeInput, entry *Request, mode writeMode) (int, any, *apiError) {
	m := s.modules[name]
	if m == nil {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: "INVALID_MODULE",
			message: "the module name given seems to be invalid", details: map[string]any{"resource_path_index": 0}}
	}
	if err := req.err; err != nil {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "body",
			details: map[string]any{"reason": err.Error()}}
	}
	entry.Records = len(req.Data)
	switch {
	case len(req.Data) == 0:
		return 0, nil, &apiError{status: http.StatusBadRequest, code: "MANDATORY_NOT_FOUND", message: "required field not found",
			details: map[string]any{"api_name": "data", "json_path": "$.data"}}
	case len(req.Data) > MaxRecords:
		return 0, nil, &apiError{status: http.StatusBadRequest, code: "LIMIT_EXCEEDED", message: "the number of records exceeds the maximum limit",
			details: map[string]any{"limit": MaxRecords, "json_path": "$.data"}}
	}
	var dupFields []string
	if mode == writeUpsert {
		if !m.upsertable {
			return 0, nil, &apiError{status: http.StatusBadRequest, code: "NOT_SUPPORTED",
				message: "upsert is not supported for this module", details: map[string]any{"resource_path_index": 0}}
		}
		dupFields = req.DuplicateCheckFields
		if len(dupFields) == 0 {
			for n, f := range m.fields {
				if f.Unique {
					dupFields = append(dupFields, n)
				}
			}
			sort.Strings(dupFields)
		}
		for k, n := range dupFields {
			if f := m.fields[n]; f == nil || !f.Unique {
				return 0, nil, &apiError{status: http.StatusBadRequest, code: "INVALID_DATA", message: "the field is not a unique field",
					details: map[string]any{"api_name": n, "json_path": fmt.Sprintf("$.duplicate_check_fields[%d]", k)}}
			}
		}
	}
	results := make([]map[string]any, 0, len(req.Data))
	okCount := 0
	for i, raw := range req.Data {
		res, ok := s.writeOne(m, i, raw, mode, dupFields)
		if ok {
			okCount++
		}
		results = append(results, res)
	}
	status := http.StatusCreated
	switch {
	case okCount == 0:
		status = http.StatusBadRequest
	case okCount < len(results):
		status = http.StatusMultiStatus
	case mode != writeInsert:
		status = http.StatusOK
	}
	return status, map[string]any{"data": results}, nil
}

// writeOne validates and stores one record; it returns the per-record result
// and whether it succeeded.
func (s *Server) writeOne(m *module, i int, raw map[string]json.RawMessage, mode writeMode, dupFields []string) (map[string]any, bool) {
	if e := s.injectedFault(m.name, raw); e != nil {
		return e.result(), false
	}
	now := s.now().UTC().Truncate(time.Second)
	var existing map[string]any
	id := ""
	action := "insert"
	dupField := any(nil)
	switch mode {
	case writeUpdate:
		id = lookupID(raw["id"])
		if id == "" {
			return (&recErr{code: "MANDATORY_NOT_FOUND", message: "required field not found",
				details: map[string]any{"api_name": "id", "json_path": fmt.Sprintf("$.data[%d].id", i)}}).result(), false
		}
		if existing = m.records[id]; existing == nil {
			return invalid(i, "id", "the id given seems to be invalid", nil).result(), false
		}
		action = "update"
	case writeUpsert:
		for _, f := range dupFields {
			var v string
			if json.Unmarshal(raw[f], &v) != nil || v == "" {
				continue
			}
			if found := m.find(f, v, ""); found != "" {
				id, existing, action, dupField = found, m.records[found], "update", f
				break
			}
		}
	}
	rec := make(map[string]any, len(existing)+len(raw)+6) // and the computed fields
	for k, v := range existing {
		rec[k] = v
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k == "id" {
			continue
		}
		if k == "$se_module" {
			var mod string
			if json.Unmarshal(raw[k], &mod) != nil || s.modules[mod] == nil || mod == m.name {
				return invalid(i, k, "invalid data", nil).result(), false
			}
			rec[k] = mod
			continue
		}
		f := m.field(k)
		if f == nil {
			return invalid(i, k, "invalid field name", nil).result(), false
		}
		if f.ReadOnly || f.ProfileReadOnly {
			continue
		}
		v, e := s.coerce(i, k, f, raw[k])
		if e != nil {
			return e.result(), false
		}
		if v == nil {
			delete(rec, k)
		} else {
			rec[k] = v
		}
	}
	// What_Id takes its module from $se_module (mandatory with it).
	for k, f := range m.fields {
		if f.Type != MultiModuleLookup {
			continue
		}
		r, ok := rec[k].(ref)
		if !ok {
			continue
		}
		mod, _ := rec["$se_module"].(string)
		if mod == "" {
			return (&recErr{code: "MANDATORY_NOT_FOUND", message: "required field not found",
				details: map[string]any{"api_name": "$se_module", "json_path": fmt.Sprintf("$.data[%d].$se_module", i)}}).result(), false
		}
		if t := s.modules[mod]; t == nil || t.records[r.ID] == nil {
			return invalid(i, k, "the related id given seems to be invalid", nil).result(), false
		}
		rec[k] = ref{ID: r.ID, Module: mod}
	}
	if _, ok := rec["Owner"]; !ok && m.fields["Owner"] != nil {
		rec["Owner"] = ref{ID: s.adminID, Module: "users"}
	}
	for n, f := range m.fields {
		if _, ok := rec[n]; f.Mandatory && !ok {
			return (&recErr{code: "MANDATORY_NOT_FOUND", message: "required field not found",
				details: map[string]any{"api_name": n, "json_path": fmt.Sprintf("$.data[%d]", i)}}).result(), false
		}
	}
	if m.calls {
		if e := s.validateCall(i, rec, now); e != nil {
			return e.result(), false
		}
	}
	for n, f := range m.fields {
		v, ok := rec[n].(string)
		if !f.Unique || !ok || v == "" {
			continue
		}
		if other := m.find(n, v, id); other != "" {
			return (&recErr{code: "DUPLICATE_DATA", message: "duplicate data", details: map[string]any{
				"api_name": n, "json_path": fmt.Sprintf("$.data[%d].%s", i, n),
				"duplicate_record": map[string]any{
					"id":     other,
					"module": map[string]any{"api_name": m.name, "id": "5725767000000002179"},
					"Owner":  s.render(m.records[other]["Owner"], true),
				},
			}}).result(), false
		}
	}

	// Stored: computed fields.
	admin := ref{ID: s.adminID, Module: "users"}
	if existing == nil {
		id = s.nextID()
		rec["Created_Time"], rec["Created_By"] = now, admin
		m.appendRecord(id)
	}
	rec["Modified_Time"], rec["Modified_By"] = now, admin
	if m.fields["Full_Name"] != nil {
		first, _ := rec["First_Name"].(string)
		last, _ := rec["Last_Name"].(string)
		rec["Full_Name"] = strings.TrimSpace(first + " " + last)
	}
	if m.calls {
		if d, ok := rec["Call_Duration"].(string); ok {
			secs, _ := durationSeconds(d)
			rec["Call_Duration_in_seconds"] = float64(secs)
		}
	}
	m.records[id] = rec
	if existing != nil {
		m.changed()
	}

	msg := "record added"
	if action == "update" {
		msg = "record updated"
	}
	res := map[string]any{
		"code": "SUCCESS",
		"details": map[string]any{
			"Modified_Time":   s.render(rec["Modified_Time"], true),
			"Modified_By":     s.render(admin, true),
			"Created_Time":    s.render(rec["Created_Time"], true),
			"id":              id,
			"Created_By":      s.render(rec["Created_By"], true),
			"$approval_state": "approved",
		},
		"message": msg,
		"status":  "success",
	}
	if mode == writeUpsert {
		res["action"] = action
		res["duplicate_field"] = dupField
	}
	return res, true
}

// validateCall applies the Calls rules of https://www.zoho.com/crm/developer/docs/api/v8/insert-records.html:
// Call_Start_Time always;
// Outgoing_Call_Status only on outbound calls; completed (not scheduled)
// calls need a past start and a "mm:ss" Call_Duration that is not zero for
// Inbound/Outbound.
func (s *Server) validateCall(i int, rec map[string]any, now time.Time) *recErr {
	missing := func(f string) *recErr {
		return &recErr{code: "MANDATORY_NOT_FOUND", message: "required field not found",
			details: map[string]any{"api_name": f, "json_path": fmt.Sprintf("$.data[%d]", i)}}
	}
	start, ok := rec["Call_Start_Time"].(time.Time)
	if !ok {
		return missing("Call_Start_Time")
	}
	typ, _ := rec["Call_Type"].(string)
	status, _ := rec["Outgoing_Call_Status"].(string)
	if status != "" && typ != "Outbound" {
		return &recErr{code: "DEPENDENT_MISMATCH", message: "Outgoing Call Status is applicable only for outbound calls",
			details: map[string]any{"api_name": "Outgoing_Call_Status", "json_path": fmt.Sprintf("$.data[%d].Outgoing_Call_Status", i)}}
	}
	if status == "Scheduled" {
		return nil
	}
	if start.After(now) {
		return invalid(i, "Call_Start_Time", "Call Start Time can be a future time only for scheduled calls", nil)
	}
	d, ok := rec["Call_Duration"].(string)
	if !ok {
		return missing("Call_Duration")
	}
	secs, ok := durationSeconds(d)
	if !ok {
		return invalid(i, "Call_Duration", "invalid data", map[string]any{"expected_format": "mm:ss"})
	}
	if secs == 0 && typ != "Missed" {
		return &recErr{code: "DEPENDENT_MISMATCH", message: "Call Duration can not be zero.",
			details: map[string]any{"api_name": "Call_Duration", "json_path": fmt.Sprintf("$.data[%d].Call_Duration", i)}}
	}
	return nil
}

// find returns the id of a record (other than except) whose field equals v,
// ignoring case.
func (m *module) find(field, v, except string) string {
	for _, id := range m.withValue(field, []string{strings.ToLower(v)}) {
		if id == except {
			continue
		}
		if s, ok := m.records[id][field].(string); ok && strings.EqualFold(s, v) {
			return id
		}
	}
	return ""
}

func (s *Server) injectedFault(module string, raw map[string]json.RawMessage) *recErr {
	if len(s.recordFaults) == 0 {
		return nil
	}
	rec := map[string]any{}
	for k, v := range raw {
		var x any
		_ = json.Unmarshal(v, &x)
		rec[k] = x
	}
	for _, f := range s.recordFaults {
		if f.times > 0 && f.match(module, rec) {
			f.times--
			return &recErr{code: f.code, message: f.message}
		}
	}
	return nil
}
