package zohotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldType is a Zoho field data type.
type FieldType string

const (
	Text        FieldType = "text"
	Phone       FieldType = "phone"
	Email       FieldType = "email"
	Website     FieldType = "website"
	Picklist    FieldType = "picklist"
	TextArea    FieldType = "textarea"
	DateTime    FieldType = "datetime"
	Lookup      FieldType = "lookup"
	OwnerLookup FieldType = "ownerlookup"
	// MultiModuleLookup is What_Id: a lookup whose module is given in
	// $se_module.
	MultiModuleLookup FieldType = "multi_module_lookup"
	Integer           FieldType = "integer"
	Decimal           FieldType = "double"
	Boolean           FieldType = "boolean"
)

// Field describes one field of a module.
type Field struct {
	Type FieldType
	// Lookup is the target module of a Lookup field.
	Lookup string
	// Values restricts a picklist (empty: any value).
	Values    []string
	Mandatory bool
	// Unique is "Do not allow duplicate values"; upsert can check it.
	Unique bool
	// ReadOnly fields are computed by the server; values sent are ignored.
	ReadOnly bool
	// Length is the maximum length settings/fields reports and writes
	// enforce (characters for text types); 0 takes the type's default.
	Length int
	// Hidden fields exist in the org but the integration user's profile has
	// no access: absent from settings/fields, unknown to COQL and writes.
	Hidden bool
	// ProfileReadOnly fields are read-only for the integration user's
	// profile (settings/fields read_only true); values sent are ignored.
	ProfileReadOnly bool
}

// maxLength is the field's length: Length, else the type's default.
func (f *Field) maxLength() int {
	if f.Length > 0 {
		return f.Length
	}
	switch f.Type {
	case Text, Website, Picklist:
		return maxText
	case Email:
		return 100
	case Phone:
		return maxPhone
	case TextArea:
		return maxTextArea
	case Integer:
		return 9
	case Decimal:
		return 16
	case Lookup, OwnerLookup, MultiModuleLookup:
		return 120
	}
	return 0
}

// field returns a field the integration user can see, or nil.
func (m *module) field(name string) *Field {
	f := m.fields[name]
	if f == nil || f.Hidden {
		return nil
	}
	return f
}

// ref is a stored lookup value.
type ref struct {
	ID     string
	Module string
}

type module struct {
	name       string
	fields     map[string]*Field
	records    map[string]map[string]any
	order      []string
	pos        map[string]int         // id -> position in order
	gen        int                    // bumped when a record changes or goes
	index      map[string]*valueIndex // by field, built on first use
	times      map[string]*timeIndex  // datetime fields, built on first use
	upsertable bool
	calls      bool
	nameField  string
	custom     bool
	id         string
}

const (
	zohoLayout   = "2006-01-02T15:04:05-07:00"
	maxText      = 255
	maxTextArea  = 32000
	maxPhone     = 50
	durationExpr = `^([0-9]+):([0-5][0-9])$`
)

var durationRe = regexp.MustCompile(durationExpr)

func (s *Server) addStandardModules() {
	common := func(extra map[string]Field) map[string]Field {
		m := map[string]Field{
			"Owner":         {Type: OwnerLookup},
			"Created_Time":  {Type: DateTime, ReadOnly: true},
			"Modified_Time": {Type: DateTime, ReadOnly: true},
			"Created_By":    {Type: OwnerLookup, ReadOnly: true},
			"Modified_By":   {Type: OwnerLookup, ReadOnly: true},
			"Description":   {Type: TextArea},
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	s.addModuleLocked("Accounts", common(map[string]Field{
		"Account_Name":    {Type: Text, Mandatory: true},
		"Phone":           {Type: Phone},
		"Fax":             {Type: Phone},
		"Website":         {Type: Website},
		"Billing_Country": {Type: Text},
	}), true, "Account_Name")
	s.addModuleLocked("Contacts", common(map[string]Field{
		"First_Name":      {Type: Text},
		"Last_Name":       {Type: Text, Mandatory: true},
		"Full_Name":       {Type: Text, ReadOnly: true},
		"Email":           {Type: Email},
		"Phone":           {Type: Phone},
		"Mobile":          {Type: Phone},
		"Home_Phone":      {Type: Phone},
		"Other_Phone":     {Type: Phone},
		"Asst_Phone":      {Type: Phone},
		"Account_Name":    {Type: Lookup, Lookup: "Accounts"},
		"Mailing_Country": {Type: Text},
	}), true, "Full_Name")
	s.addModuleLocked("Leads", common(map[string]Field{
		"First_Name": {Type: Text},
		"Last_Name":  {Type: Text, Mandatory: true},
		"Full_Name":  {Type: Text, ReadOnly: true},
		"Company":    {Type: Text},
		"Email":      {Type: Email},
		"Phone":      {Type: Phone},
		"Mobile":     {Type: Phone},
		"Fax":        {Type: Phone},
		"Country":    {Type: Text},
	}), true, "Full_Name")
	// Calls: https://www.zoho.com/crm/developer/docs/api/v8/insert-records.html; the status
	// field's API name is Outgoing_Call_Status in live orgs.
	s.addModuleLocked("Calls", common(map[string]Field{
		"Subject":                  {Type: Text, Mandatory: true},
		"Call_Type":                {Type: Picklist, Mandatory: true, Values: []string{"Inbound", "Outbound", "Missed"}},
		"Call_Start_Time":          {Type: DateTime},
		"Call_Duration":            {Type: Text},
		"Call_Duration_in_seconds": {Type: Integer, ReadOnly: true},
		"Who_Id":                   {Type: Lookup, Lookup: "Contacts"},
		"What_Id":                  {Type: MultiModuleLookup},
		"Outgoing_Call_Status":     {Type: Picklist, Values: []string{"Scheduled", "Completed", "Overdue", "Cancelled"}},
		"Call_Purpose":             {Type: Picklist},
		"Call_Result":              {Type: Picklist},
		"Call_Agenda":              {Type: Text},
		"Caller_ID":                {Type: Text},
		"Dialled_Number":           {Type: Text},
		"Voice_Recording__s":       {Type: Website},
		"Telephony_External_ID__s": {Type: Text},
	}), false, "Subject")
	s.modules["Calls"].calls = true
}

func (s *Server) addModuleLocked(name string, fields map[string]Field, upsertable bool, nameField string) {
	s.seq++
	m := &module{name: name, fields: map[string]*Field{}, records: map[string]map[string]any{}, upsertable: upsertable, nameField: nameField,
		id: fmt.Sprintf("5725767%012d", s.seq)}
	for k, f := range fields {
		f := f
		m.fields[k] = &f
	}
	s.modules[name] = m
}

// AddModule creates a custom module (upsert supported) with the given fields
// plus Name (mandatory), Owner and the system time fields.
func (s *Server) AddModule(name string, fields map[string]Field) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := map[string]Field{
		"Name":          {Type: Text, Mandatory: true},
		"Owner":         {Type: OwnerLookup},
		"Created_Time":  {Type: DateTime, ReadOnly: true},
		"Modified_Time": {Type: DateTime, ReadOnly: true},
		"Created_By":    {Type: OwnerLookup, ReadOnly: true},
		"Modified_By":   {Type: OwnerLookup, ReadOnly: true},
	}
	for k, v := range fields {
		all[k] = v
	}
	s.addModuleLocked(name, all, true, "Name")
	s.modules[name].custom = true
}

// AddActivityModule creates the custom call module of the original
// integration: CCSPCallID (unique, the upsert key), Direction, DNIS,
// Subject, MediaType, From, To, PhoneNumber, DurationMins (a Number field:
// integer, so a decimal is refused), StartTime, EndTime, Recording, Queue
// (in the original guide's example record) and
// RelatesTo{Contacts,Accounts,Leads} lookups.
func (s *Server) AddActivityModule(name string) {
	s.AddModule(name, map[string]Field{
		"CCSPCallID":        {Type: Text, Unique: true, Mandatory: true},
		"Direction":         {Type: Text},
		"DNIS":              {Type: Text},
		"Subject":           {Type: Text},
		"MediaType":         {Type: Text},
		"From":              {Type: Text},
		"To":                {Type: Text},
		"PhoneNumber":       {Type: Phone},
		"DurationMins":      {Type: Integer},
		"StartTime":         {Type: DateTime},
		"EndTime":           {Type: DateTime},
		"Recording":         {Type: Website},
		"Queue":             {Type: Text},
		"RelatesToContacts": {Type: Lookup, Lookup: "Contacts"},
		"RelatesToAccounts": {Type: Lookup, Lookup: "Accounts"},
		"RelatesToLeads":    {Type: Lookup, Lookup: "Leads"},
	})
}

// AddField adds a (custom) field to a module, e.g. the Calls field holding
// the Enreach call id.
func (s *Server) AddField(moduleName, name string, f Field) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modules[moduleName]
	if m == nil {
		panic("zohotest: AddField: no module " + moduleName)
	}
	m.fields[name] = &f
}

// AddRecord seeds a record through the insert path (fields as the API takes
// them: lookups as {"id": ...} or a bare id, datetimes as strings) and
// returns its id. It panics on data the API would refuse.
func (s *Server) AddRecord(moduleName string, fields map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modules[moduleName]
	if m == nil {
		panic("zohotest: AddRecord: no module " + moduleName)
	}
	raw := map[string]json.RawMessage{}
	for k, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		raw[k] = b
	}
	res, ok := s.writeOne(m, 0, raw, writeInsert, nil)
	if !ok {
		panic(fmt.Sprintf("zohotest: AddRecord %s: %v", moduleName, res))
	}
	return res["details"].(map[string]any)["id"].(string)
}

// Records returns every record of a module as GET /{module} renders it
// (lookups as {"id","name"}, datetimes in the org time zone), in id order.
func (s *Server) Records(moduleName string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modules[moduleName]
	if m == nil {
		return nil
	}
	out := make([]map[string]any, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, s.renderRecord(id, m.records[id]))
	}
	return out
}

// Record returns one record, or nil.
func (s *Server) Record(moduleName, id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modules[moduleName]
	if m == nil || m.records[id] == nil {
		return nil
	}
	return s.renderRecord(id, m.records[id])
}

func (s *Server) renderRecord(id string, rec map[string]any) map[string]any {
	out := map[string]any{"id": id}
	keys := make([]string, 0, len(rec))
	for k := range rec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = s.render(rec[k], true)
	}
	return out
}

// render turns a stored value into its JSON form; full adds lookup names.
func (s *Server) render(v any, full bool) any {
	switch v := v.(type) {
	case time.Time:
		return v.In(s.tz).Format(zohoLayout)
	case ref:
		if !full {
			return map[string]any{"id": v.ID}
		}
		return map[string]any{"id": v.ID, "name": s.refName(v)}
	}
	return v
}

func (s *Server) refName(r ref) string {
	if r.Module == "users" {
		if u := s.userByID(r.ID); u != nil {
			return u.FullName
		}
		return ""
	}
	m := s.modules[r.Module]
	if m == nil || m.records[r.ID] == nil {
		return ""
	}
	n, _ := m.records[r.ID][m.nameField].(string)
	return n
}

// recErr is a per-record error.
type recErr struct {
	code    string
	message string
	details map[string]any
}

func (e *recErr) result() map[string]any {
	d := e.details
	if d == nil {
		d = map[string]any{}
	}
	return map[string]any{"code": e.code, "details": d, "message": e.message, "status": "error"}
}

func invalid(i int, field, msg string, extra map[string]any) *recErr {
	d := map[string]any{"api_name": field, "json_path": fmt.Sprintf("$.data[%d].%s", i, field)}
	for k, v := range extra {
		d[k] = v
	}
	return &recErr{code: "INVALID_DATA", message: msg, details: d}
}

// coerce converts one JSON field value to its stored form.
func (s *Server) coerce(i int, name string, f *Field, raw json.RawMessage) (any, *recErr) {
	if string(raw) == "null" {
		return nil, nil
	}
	str := func(max int) (string, *recErr) {
		v, ok := plainString(raw)
		if !ok {
			// A variable of its own: &v passed to json.Unmarshal would put
			// v on the heap for every string read.
			var u string
			if json.Unmarshal(raw, &u) != nil {
				return "", invalid(i, name, "invalid data", map[string]any{"expected_data_type": string(f.Type)})
			}
			v = u
		}
		if len([]rune(v)) > max {
			return "", invalid(i, name, "invalid data", map[string]any{"maximum_length": max})
		}
		return v, nil
	}
	switch f.Type {
	case Text, Email, Website, Phone, TextArea:
		return str(f.maxLength())
	case Picklist:
		v, e := str(f.maxLength())
		if e != nil {
			return nil, e
		}
		if len(f.Values) > 0 {
			ok := false
			for _, p := range f.Values {
				ok = ok || p == v
			}
			if !ok {
				return nil, invalid(i, name, "invalid data", map[string]any{"expected_data_type": "picklist"})
			}
		}
		return v, nil
	case DateTime:
		v, e := str(64)
		if e != nil {
			return nil, e
		}
		t, ok := s.parseTime(v)
		if !ok {
			return nil, invalid(i, name, "invalid data", map[string]any{"expected_data_type": "datetime"})
		}
		return t, nil
	case Integer, Decimal:
		var n float64
		if json.Unmarshal(raw, &n) != nil || (f.Type == Integer && n != math.Trunc(n)) {
			return nil, invalid(i, name, "invalid data", map[string]any{"expected_data_type": string(f.Type)})
		}
		return n, nil
	case Boolean:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return nil, invalid(i, name, "invalid data", map[string]any{"expected_data_type": "boolean"})
		}
		return b, nil
	case Lookup, OwnerLookup, MultiModuleLookup:
		id := lookupID(raw)
		if id == "" {
			return nil, invalid(i, name, "invalid data", map[string]any{"expected_data_type": "lookup"})
		}
		switch f.Type {
		case OwnerLookup:
			if u := s.userByID(id); u == nil || !u.Active {
				return nil, invalid(i, name, "invalid data", map[string]any{"expected_data_type": "lookup"})
			}
			return ref{ID: id, Module: "users"}, nil
		case Lookup:
			if m := s.modules[f.Lookup]; m == nil || m.records[id] == nil {
				return nil, invalid(i, name, "the related id given seems to be invalid", nil)
			}
			return ref{ID: id, Module: f.Lookup}, nil
		}
		return ref{ID: id}, nil // module resolved with $se_module
	}
	return nil, invalid(i, name, "invalid data", nil)
}

// plainString returns the string a JSON string value without escapes
// holds, as json.Unmarshal reads it: its bytes between the quotes, when
// they are valid UTF-8 with no quote, backslash or control character
// (RFC 8259 section 7). ok is false for any other value, which the caller
// reads with json.Unmarshal.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// lookupID reads {"id": "..."} or a bare id string.
func lookupID(raw json.RawMessage) string {
	// The shape clients send, {"id":"<plain string>"}, read without the
	// decoder.
	if rest, ok := bytes.CutPrefix(raw, []byte(`{"id":`)); ok {
		if v, ok := bytes.CutSuffix(rest, []byte("}")); ok {
			if id, ok := plainString(v); ok {
				return id
			}
		}
	}
	if id, ok := plainString(raw); ok {
		return id
	}
	return decodeLookupID(raw)
}

// decodeLookupID is lookupID with the decoder for any shape.
func decodeLookupID(raw json.RawMessage) string {
	var obj struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.ID != nil {
		raw = obj.ID
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// parseTime accepts Zoho's yyyy-MM-ddTHH:mm:ss±HH:mm, or the same
// without offset in the org time zone. "Z" is not the documented format and
// is refused.
func (s *Server) parseTime(v string) (time.Time, bool) {
	if t, err := time.Parse(zohoLayout, v); err == nil && !strings.HasSuffix(v, "Z") {
		return t.UTC(), true
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", v, s.tz); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// durationSeconds parses Call_Duration "mm:ss".
func durationSeconds(v string) (int, bool) {
	m := durationRe.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	mins, _ := strconv.Atoi(m[1])
	secs, _ := strconv.Atoi(m[2])
	return mins*60 + secs, true
}
