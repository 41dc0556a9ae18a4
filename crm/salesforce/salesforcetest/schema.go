package salesforcetest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldType is the Salesforce type of a field, as far as the double needs it.
type FieldType int

const (
	FieldString FieldType = iota
	FieldPhone
	FieldEmail
	FieldPicklist
	FieldTextArea // long text area: not filterable
	FieldReference
	FieldID
	FieldInt
	FieldBool
	FieldDate
	FieldDateTime
)

func (t FieldType) stringy() bool {
	switch t {
	case FieldString, FieldPhone, FieldEmail, FieldPicklist, FieldTextArea, FieldReference, FieldID:
		return true
	}
	return false
}

// field describes one field of an object (describe-like metadata).
type field struct {
	name       string
	typ        FieldType
	length     int
	picklist   []string
	restricted bool
	createable bool
	updateable bool
	refTo      []string
	externalID bool
	// hidden: field-level security hides the field from the integration
	// user: absent from describe, INVALID_FIELD in SOQL, SOSL and writes.
	hidden bool
}

// object describes one sObject type.
type object struct {
	name   string
	prefix string
	fields []*field
	byName map[string]*field // lower-cased name
}

// field returns a field the integration user can see (nil when it does
// not exist or field-level security hides it).
func (o *object) field(name string) *field {
	f := o.lookup(name)
	if f == nil || f.hidden {
		return nil
	}
	return f
}

// anyField returns a field whether or not it is hidden (seeding).
func (o *object) anyField(name string) *field { return o.lookup(name) }

// lookup is o.byName[strings.ToLower(name)]: an ASCII name of up to 64
// bytes is lower-cased into a buffer on the stack (strings.ToLower maps
// only A-Z in ASCII text), so a lookup does not allocate; any other name
// goes through strings.ToLower.
func (o *object) lookup(name string) *field {
	var buf [64]byte
	if len(name) > len(buf) {
		return o.byName[strings.ToLower(name)]
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= utf8.RuneSelf:
			return o.byName[strings.ToLower(name)]
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return o.byName[string(buf[:len(name)])]
}

func (o *object) remove(name string) {
	f := o.byName[strings.ToLower(name)]
	if f == nil {
		return
	}
	delete(o.byName, strings.ToLower(name))
	for i, x := range o.fields {
		if x == f {
			o.fields = append(o.fields[:i], o.fields[i+1:]...)
			break
		}
	}
}

func (o *object) add(f *field) *field {
	if old := o.anyField(f.name); old != nil {
		return old
	}
	o.fields = append(o.fields, f)
	o.byName[strings.ToLower(f.name)] = f
	return f
}

func str(name string, length int) *field {
	return &field{name: name, typ: FieldString, length: length, createable: true, updateable: true}
}
func phone(name string) *field {
	return &field{name: name, typ: FieldPhone, length: 40, createable: true, updateable: true}
}
func ref(name string, to ...string) *field {
	return &field{name: name, typ: FieldReference, length: 18, createable: true, updateable: true, refTo: to}
}
func pick(name string, restricted bool, values ...string) *field {
	return &field{name: name, typ: FieldPicklist, length: 255, picklist: values, restricted: restricted, createable: true, updateable: true}
}
func typed(name string, t FieldType) *field {
	return &field{name: name, typ: t, createable: true, updateable: true}
}
func readOnly(f *field) *field { f.createable, f.updateable = false, false; return f }

// newSchema returns the objects of a fresh org: the standard fields callsync
// touches (Salesforce object reference,
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/) plus the Task's
// custom call fields.
func newSchema(cfg Config) map[string]*object {
	objs := map[string]*object{}
	def := func(name, prefix string, fs ...*field) *object {
		o := &object{name: name, prefix: prefix, byName: map[string]*field{}}
		o.add(readOnly(&field{name: "Id", typ: FieldID, length: 18}))
		for _, f := range fs {
			o.add(f)
		}
		o.add(readOnly(typed("CreatedDate", FieldDateTime)))
		o.add(readOnly(typed("SystemModstamp", FieldDateTime)))
		objs[strings.ToLower(name)] = o
		return o
	}
	def("Account", "001", str("Name", 255), ref("OwnerId", "User", "Group"), phone("Phone"), phone("Fax"), str("BillingCountry", 80),
		pick("Industry", false), pick("Type", false), str("AccountNumber", 40))
	def("Contact", "003", str("Name", 121), str("FirstName", 40), str("LastName", 80), ref("AccountId", "Account"),
		ref("OwnerId", "User", "Group"), phone("Phone"), phone("MobilePhone"), phone("HomePhone"), phone("OtherPhone"),
		phone("AssistantPhone"), phone("Fax"), typed("Email", FieldEmail), str("Title", 128), str("MailingCountry", 80))
	def("Lead", "00Q", str("Name", 121), str("FirstName", 40), str("LastName", 80), str("Company", 255),
		ref("OwnerId", "User", "Group"), phone("Phone"), phone("MobilePhone"), phone("Fax"), typed("Email", FieldEmail), str("Country", 80),
		pick("Status", false, "Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"),
		typed("IsConverted", FieldBool))
	def("User", "005", str("Name", 121), str("FirstName", 40), str("LastName", 80), typed("Email", FieldEmail),
		str("Username", 80), str("Alias", 8), typed("IsActive", FieldBool))
	def("Group", "00G", str("Name", 40), str("DeveloperName", 80), pick("Type", true, "Queue", "Regular"))
	subtype := pick("TaskSubtype", true, "Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")
	subtype.updateable = false
	subtype.createable = !cfg.TaskSubtypeNotCreateable
	task := def("Task", "00T", str("Subject", 255),
		pick("Status", true, "Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"),
		pick("Priority", true, "High", "Normal", "Low"),
		typed("ActivityDate", FieldDate), subtype,
		pick("CallType", true, "Inbound", "Internal", "Outbound"),
		typed("CallDurationInSeconds", FieldInt), str("CallObject", 255), str("CallDisposition", 255),
		ref("WhoId", "Contact", "Lead"), ref("WhatId", "Account"), ref("OwnerId", "User", "Group"),
		&field{name: "Description", typ: FieldTextArea, length: 32000, createable: true, updateable: true},
		readOnly(ref("AccountId", "Account")), readOnly(typed("IsClosed", FieldBool)))
	def("Case", "500", str("CaseNumber", 30), str("Subject", 255), ref("ContactId", "Contact"), ref("AccountId", "Account"),
		ref("OwnerId", "User", "Group"), pick("Priority", false, "High", "Medium", "Low"),
		pick("Status", false, "New", "Working", "Escalated", "Closed"), readOnly(typed("IsClosed", FieldBool)))
	ext := str(cfg.ExternalIDField, 255)
	ext.externalID = true
	task.add(ext)
	for name, t := range cfg.TaskFields {
		f := typed(name, t)
		switch t {
		case FieldString, FieldPhone:
			f.length = 40
		case FieldTextArea:
			f.length = 32000
		}
		task.add(f)
	}
	for obj, names := range cfg.HiddenFields {
		o := objs[strings.ToLower(obj)]
		if o == nil {
			continue
		}
		for _, n := range names {
			if f := o.anyField(n); f != nil {
				f.hidden = true
			}
		}
	}
	return objs
}

// idPattern is a 15- or 18-character Salesforce id.
var idPattern = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)

const sfDateTime = "2006-01-02T15:04:05.000-0700"

// parseDateTime accepts the forms Salesforce accepts for dateTime values.
func parseDateTime(s string) (time.Time, bool) {
	for _, layout := range []string{sfDateTime, time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// fieldError is a per-record error ({"statusCode","message","fields"}).
type fieldError struct {
	code, msg string
	fields    []string
}

func (e *fieldError) json() map[string]any {
	fs := e.fields
	if fs == nil {
		fs = []string{}
	}
	return map[string]any{"statusCode": e.code, "message": e.msg, "fields": fs}
}

// requestError is a whole-request error (HTTP status + error array).
type requestError struct {
	status    int
	code, msg string
}

func (e *requestError) Error() string { return e.code + ": " + e.msg }

// decodeValue converts a JSON value for field f. A value of the wrong JSON
// type fails the whole request (Salesforce cannot deserialize it); a value
// that breaks a field rule fails the record.
func decodeValue(o *object, f *field, v any) (any, *fieldError, error) {
	if v == nil {
		return nil, nil, nil
	}
	bad := func(what string) error {
		return &requestError{status: 400, code: "JSON_PARSER_ERROR",
			msg: fmt.Sprintf("Cannot deserialize instance of %s from %s value %v or request may be missing a required field", what, jsonKind(v), v)}
	}
	switch {
	case f.typ.stringy():
		s, ok := v.(string)
		if !ok {
			return nil, nil, bad("string")
		}
		if f.length > 0 && utf8.RuneCountInString(s) > f.length {
			return nil, &fieldError{code: "STRING_TOO_LONG",
				msg:    fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.name, abbreviate(s), f.length),
				fields: []string{f.name}}, nil
		}
		if f.typ == FieldPicklist && f.restricted && s != "" && !containsFold(f.picklist, s) {
			return nil, &fieldError{code: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
				msg: fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.name, s), fields: []string{f.name}}, nil
		}
		if (f.typ == FieldReference || f.typ == FieldID) && s != "" && !idPattern.MatchString(s) {
			return nil, &fieldError{code: "MALFORMED_ID",
				msg: fmt.Sprintf("%s: id value of incorrect type: %s", f.name, s), fields: []string{f.name}}, nil
		}
		if s == "" {
			return nil, nil, nil
		}
		return v, nil, nil // s, boxed already
	case f.typ == FieldInt:
		n, ok := v.(json.Number)
		if !ok {
			return nil, nil, bad("int")
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			fl, ferr := n.Float64()
			if ferr != nil || fl != float64(int64(fl)) {
				return nil, nil, bad("int")
			}
			i = int64(fl)
		}
		return i, nil, nil
	case f.typ == FieldBool:
		b, ok := v.(bool)
		if !ok {
			return nil, nil, bad("boolean")
		}
		return b, nil, nil
	case f.typ == FieldDate:
		s, ok := v.(string)
		if !ok {
			return nil, nil, bad("date")
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return nil, nil, bad("date")
		}
		return v, nil, nil // s, boxed already
	case f.typ == FieldDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, nil, bad("datetime")
		}
		t, ok := parseDateTime(s)
		if !ok {
			return nil, nil, bad("datetime")
		}
		return t, nil, nil
	}
	return nil, nil, bad("unknown")
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "VALUE_STRING"
	case json.Number:
		return "VALUE_NUMBER"
	case bool:
		return "VALUE_TRUE"
	case map[string]any:
		return "START_OBJECT"
	case []any:
		return "START_ARRAY"
	}
	return "VALUE"
}

func abbreviate(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// outValue renders a stored value as the REST API does.
func outValue(f *field, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		return x.UTC().Format(sfDateTime)
	case int64:
		return x
	case int:
		return int64(x)
	}
	return v
}

// seedValue converts a Go value given to the seeding API.
func seedValue(f *field, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		if f.typ == FieldDate {
			return x.UTC().Format(time.DateOnly)
		}
		return x.UTC()
	case int:
		return int64(x)
	case string:
		if f.typ == FieldDateTime {
			if t, ok := parseDateTime(x); ok {
				return t
			}
		}
		if x == "" {
			return nil
		}
	}
	return v
}
