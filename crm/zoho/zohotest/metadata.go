package zohotest

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
)

// Metadata of the org as the integration user sees it, in the shapes of the
// v8 examples in https://github.com/zoho/crm-oas:
//   - GET /settings/modules: v8.0/modules/operations/getModules
//     (response-200-allmoduleswithvariations);
//   - GET /settings/fields?module=X: v8.0/fields/operations/getFields
//     (response-200-fullexample); a missing module parameter and an unknown
//     module answer as v8.0/fields/operations/getScheduledJobs'
//     REQUIRED_PARAM_MISSING and INVALID_MODULE examples.
//
// A field hidden from the integration user's profile is absent from the
// fields list (and unknown to COQL and writes); a field read-only for the
// profile has "read_only": true and permission_type "read_only".

const (
	profileName = "Administrator"
	profileID   = "5725767000000026011"
)

// handleModules serves GET /settings/modules.
func (s *Server) handleModules() (int, any, *apiError) {
	names := make([]string, 0, len(s.modules))
	for n := range s.modules {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]map[string]any, 0, len(names))
	for i, n := range names {
		m := s.modules[n]
		gen := "default"
		if m.custom {
			gen = "custom"
		}
		out = append(out, map[string]any{
			"has_more_profiles":       false,
			"access_type":             "org_based",
			"global_search_supported": true,
			"deletable":               true,
			"creatable":               true,
			"editable":                true,
			"viewable":                true,
			"api_supported":           true,
			"plural_label":            n,
			"actual_plural_label":     n,
			"singular_label":          n,
			"actual_singular_label":   n,
			"id":                      m.id,
			"api_name":                n,
			"module_name":             n,
			"generated_type":          gen,
			"sequence_number":         i + 1,
			"status":                  "visible",
			"visibility":              1,
			"show_as_tab":             true,
			"quick_create":            true,
			"profiles":                []any{map[string]any{"name": profileName, "id": profileID}},
			"parent_module":           map[string]any{},
		})
	}
	return http.StatusOK, map[string]any{"modules": out}, nil
}

// handleFields serves GET /settings/fields?module=X.
func (s *Server) handleFields(q url.Values) (int, any, *apiError) {
	name := q.Get("module")
	if name == "" {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: "REQUIRED_PARAM_MISSING",
			message: "One of the expected parameter is missing", details: map[string]any{"param_name": "module"}}
	}
	m := s.modules[name]
	if m == nil {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: "INVALID_MODULE",
			message: "the module name given seems to be invalid", details: map[string]any{"param_name": "module"}}
	}
	names := make([]string, 0, len(m.fields))
	for n, f := range m.fields {
		if !f.Hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]map[string]any, 0, len(names))
	for i, n := range names {
		out = append(out, fieldJSON(m, n, m.fields[n], i))
	}
	return http.StatusOK, map[string]any{"fields": out}, nil
}

// jsonType is the json_type settings/fields reports for a data type.
func jsonType(t FieldType) string {
	switch t {
	case Integer:
		return "integer"
	case Decimal:
		return "double"
	case Boolean:
		return "boolean"
	case Lookup, OwnerLookup, MultiModuleLookup:
		return "jsonobject"
	}
	return "string"
}

func fieldJSON(m *module, name string, f *Field, i int) map[string]any {
	writable := !f.ReadOnly
	perm := "read_write"
	if f.ProfileReadOnly {
		perm = "read_only"
	}
	var lookup any = map[string]any{}
	if f.Type == Lookup {
		lookup = map[string]any{"display_label": name, "api_name": name,
			"module": map[string]any{"api_name": f.Lookup, "id": "5725767000000002175", "crypt": false}}
	}
	picks := []any{}
	for k, v := range f.Values {
		picks = append(picks, map[string]any{"display_value": v, "actual_value": v, "reference_value": v,
			"sequence_number": k + 1, "id": fmt.Sprintf("57257670000003%05d", k), "type": "used"})
	}
	var unique any = map[string]any{}
	if f.Unique {
		unique = map[string]any{"case_sensitive": false}
	}
	var decimals any
	if f.Type == Decimal {
		decimals = 2
	}
	return map[string]any{
		"api_name":         name,
		"field_label":      name,
		"display_label":    name,
		"data_type":        string(f.Type),
		"json_type":        jsonType(f.Type),
		"length":           f.maxLength(),
		"decimal_place":    decimals,
		"field_read_only":  f.ReadOnly,
		"read_only":        f.ReadOnly || f.ProfileReadOnly,
		"visible":          true,
		"system_mandatory": f.Mandatory,
		"custom_field":     m.custom && name != m.nameField && name != "Owner",
		"unique":           unique,
		"lookup":           lookup,
		"pick_list_values": picks,
		"type":             "used",
		"id":               fmt.Sprintf("%s%04d", m.id[:15], i),
		"operation_type":   map[string]any{"web_update": writable, "api_create": writable, "web_create": writable, "api_update": writable},
		"view_type":        map[string]any{"view": true, "edit": writable, "quick_create": false, "create": writable},
		"profiles":         []any{map[string]any{"permission_type": perm, "name": profileName, "id": profileID}},
		"filterable":       f.Type != TextArea,
		"searchable":       true,
		"sortable":         true,
		"webhook":          true,
	}
}

// ---- shapes of real orgs ----

// RemoveField deletes a field from a module (an admin deleted it, or the
// org was set up without it): it disappears from settings/fields, COQL and
// writes, and the stored values go with it.
func (s *Server) RemoveField(moduleName, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mustModule("RemoveField", moduleName)
	delete(m.fields, name)
	for _, rec := range m.records {
		delete(rec, name)
	}
}

// HideField hides a field from the integration user's profile: absent from
// settings/fields, unknown to COQL and writes; its values stay stored.
func (s *Server) HideField(moduleName, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustField("HideField", moduleName, name).Hidden = true
}

// SetFieldReadOnlyForProfile makes a field read-only for the integration
// user's profile (settings/fields read_only true; values sent are ignored).
func (s *Server) SetFieldReadOnlyForProfile(moduleName, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustField("SetFieldReadOnlyForProfile", moduleName, name).ProfileReadOnly = true
}

// SetFieldType changes a field's data type (an org where the admin created
// it with the wrong type); length goes back to the type's default unless
// given (> 0).
func (s *Server) SetFieldType(moduleName, name string, t FieldType, length int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.mustField("SetFieldType", moduleName, name)
	f.Type, f.Length, f.Values = t, length, nil
}

// SetFieldLength sets a field's maximum length.
func (s *Server) SetFieldLength(moduleName, name string, length int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustField("SetFieldLength", moduleName, name).Length = length
}

// RemoveModule deletes a module (e.g. the custom call module was never
// created): it is absent from settings/modules and every request naming it
// answers INVALID_MODULE.
func (s *Server) RemoveModule(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.modules, name)
}

// MinimalActivityFields are the custom call module fields callsync cannot
// work without: the upsert key, the number and the start time (the
// CallStartMargin search), besides the module's own Name.
var MinimalActivityFields = []string{"CCSPCallID", "PhoneNumber", "StartTime"}

// AddMinimalActivityModule creates a custom call module with only
// MinimalActivityFields ("minimal org": none of the original's optional
// fields, no RelatesTo lookups).
func (s *Server) AddMinimalActivityModule(name string) {
	s.AddModule(name, map[string]Field{
		"CCSPCallID":  {Type: Text, Unique: true, Mandatory: true},
		"PhoneNumber": {Type: Phone},
		"StartTime":   {Type: DateTime},
	})
}

func (s *Server) mustModule(op, name string) *module {
	m := s.modules[name]
	if m == nil {
		panic("zohotest: " + op + ": no module " + name)
	}
	return m
}

func (s *Server) mustField(op, moduleName, name string) *Field {
	f := s.mustModule(op, moduleName).fields[name]
	if f == nil {
		panic("zohotest: " + op + ": no field " + moduleName + "." + name)
	}
	return f
}
