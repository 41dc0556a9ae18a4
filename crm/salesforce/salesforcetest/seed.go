package salesforcetest

import (
	"fmt"
	"maps"
	"strings"
	"time"
)

// Record is a copy of a stored record: field name to value (string, int64,
// bool, time.Time for dateTime, "YYYY-MM-DD" for date).
type Record map[string]any

// String returns a field as text ("" when null).
func (r Record) String(field string) string {
	switch v := r[field].(type) {
	case nil:
		return ""
	case string:
		return v
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	default:
		return fmt.Sprint(v)
	}
}

// Time returns a dateTime field (zero when null).
func (r Record) Time(field string) time.Time {
	t, _ := r[field].(time.Time)
	return t
}

// Int returns an integer field (0 when null).
func (r Record) Int(field string) int64 {
	n, _ := r[field].(int64)
	return n
}

// Bool returns a checkbox field.
func (r Record) Bool(field string) bool {
	b, _ := r[field].(bool)
	return b
}

// DefineField adds a custom field to an object (e.g. a custom phone field on
// Contact, or the User field holding Enreach user ids).
func (s *Server) DefineField(objectName, name string, t FieldType) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustObject(objectName)
	f := typed(name, t)
	switch t {
	case FieldString, FieldPhone, FieldEmail, FieldPicklist:
		f.length = 255
		if t == FieldPhone {
			f.length = 40
		}
	case FieldTextArea:
		f.length = 32000
	}
	o.add(f)
}

func (s *Server) mustObject(name string) *object {
	o := s.schema[strings.ToLower(name)]
	if o == nil {
		panic("salesforcetest: unknown object " + name)
	}
	return o
}

// Add stores a record as if created in the org and returns its id. Fields
// the object lacks are defined as text fields first; values are Go values
// (string, int, bool, time.Time). No validation: seed what the test needs.
func (s *Server) Add(objectName string, fields map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustObject(objectName)
	rec := map[string]any{"Id": s.newID(o), "CreatedDate": s.cfg.Now().UTC()}
	s.defaults(o, rec)
	for k, v := range fields {
		f := o.anyField(k)
		if f == nil {
			f = o.add(str(k, 255))
		}
		if sv := seedValue(f, v); sv != nil {
			rec[f.name] = sv
		} else {
			delete(rec, f.name)
		}
	}
	s.derive(o, rec)
	s.records[o.name] = append(s.records[o.name], rec)
	s.byID[rec["Id"].(string)] = rec
	s.indexed(o.name, rec)
	return rec["Id"].(string)
}

// AddUser stores a user; extra holds more fields (e.g. a custom Enreach id field).
func (s *Server) AddUser(name, email string, active bool, extra map[string]any) string {
	fields := map[string]any{"Name": name, "Email": email, "Username": email, "IsActive": active}
	maps.Copy(fields, extra)
	return s.Add("User", fields)
}

// AddQueue stores a queue (Group of type Queue) that can own Tasks.
func (s *Server) AddQueue(name string) string {
	return s.Add("Group", map[string]any{"Name": name, "DeveloperName": strings.ReplaceAll(name, " ", "_"), "Type": "Queue"})
}

// Update changes fields of a stored record, as a user editing it would.
func (s *Server) Update(id string, fields map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.byID[id]
	if !ok {
		panic("salesforcetest: no record " + id)
	}
	o := s.mustObject(s.objectOf(rec))
	s.unindexed(o.name, rec, false)
	defer s.indexed(o.name, rec)
	for k, v := range fields {
		f := o.anyField(k)
		if f == nil {
			f = o.add(str(k, 255))
		}
		if sv := seedValue(f, v); sv != nil {
			rec[f.name] = sv
		} else {
			delete(rec, f.name)
		}
	}
	s.derive(o, rec)
}

// Records returns copies of an object's records in creation order.
func (s *Server) Records(objectName string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.mustObject(objectName)
	out := make([]Record, 0, len(s.records[o.name]))
	for _, rec := range s.records[o.name] {
		out = append(out, Record(maps.Clone(rec)))
	}
	return out
}

// Tasks returns copies of every Task.
func (s *Server) Tasks() []Record { return s.Records("Task") }

// Get returns a copy of the record with id.
func (s *Server) Get(id string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	return Record(maps.Clone(rec)), true
}

// HideField hides a field from the integration user from now on, as an admin
// removing its field-level security would: describe leaves it out, SOQL,
// SOSL and writes that name it fail with INVALID_FIELD. Stored values stay.
func (s *Server) HideField(objectName, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.mustObject(objectName).anyField(name); f != nil {
		f.hidden = true
	}
}

// ShowField makes a hidden field visible to the integration user again.
func (s *Server) ShowField(objectName, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.mustObject(objectName).anyField(name); f != nil {
		f.hidden = false
	}
}

// RemoveField deletes a field from an object, as an admin deleting a custom
// field would.
func (s *Server) RemoveField(objectName, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustObject(objectName).remove(name)
}
