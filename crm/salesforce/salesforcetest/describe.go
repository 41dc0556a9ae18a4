package salesforcetest

import (
	"net/http"
	"strings"
)

// typeName is the describe "type" of a field type.
func (t FieldType) typeName() string {
	switch t {
	case FieldString:
		return "string"
	case FieldPhone:
		return "phone"
	case FieldEmail:
		return "email"
	case FieldPicklist:
		return "picklist"
	case FieldTextArea:
		return "textarea"
	case FieldReference:
		return "reference"
	case FieldID:
		return "id"
	case FieldInt:
		return "int"
	case FieldBool:
		return "boolean"
	case FieldDate:
		return "date"
	case FieldDateTime:
		return "datetime"
	}
	return "anyType"
}

// describe serves GET /sobjects/<Object>/describe: the object's metadata and
// the fields the integration user can see (a field hidden by field-level
// security is absent), each with name, type, length, createable,
// updateable, filterable, nillable, custom, externalId, referenceTo and
// picklistValues, as the sObject Describe resource answers
// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_describe.htm;
// field properties: DescribeSObjectResult Field in the SOAP API guide).
func (s *Server) describe(version, name string) (int, any) {
	o := s.schema[strings.ToLower(name)]
	if o == nil {
		return http.StatusNotFound, errArray("NOT_FOUND", "The requested resource does not exist")
	}
	fields := make([]map[string]any, 0, len(o.fields))
	for _, f := range o.fields {
		if f.hidden {
			continue
		}
		pl := []map[string]any{}
		for _, v := range f.picklist {
			pl = append(pl, map[string]any{"value": v, "label": v, "active": true, "defaultValue": false})
		}
		refTo := f.refTo
		if refTo == nil {
			refTo = []string{}
		}
		fields = append(fields, map[string]any{
			"name":               f.name,
			"label":              f.name,
			"type":               f.typ.typeName(),
			"length":             f.length,
			"createable":         f.createable,
			"updateable":         f.updateable,
			"filterable":         f.typ != FieldTextArea,
			"sortable":           f.typ != FieldTextArea,
			"nillable":           f.name != "Id",
			"custom":             strings.HasSuffix(f.name, "__c"),
			"externalId":         f.externalID,
			"unique":             f.externalID,
			"idLookup":           f.name == "Id" || f.externalID,
			"referenceTo":        refTo,
			"restrictedPicklist": f.restricted,
			"picklistValues":     pl,
			"defaultValue":       nil,
		})
	}
	return http.StatusOK, map[string]any{
		"name":       o.name,
		"label":      o.name,
		"keyPrefix":  o.prefix,
		"custom":     false,
		"createable": true,
		"updateable": true,
		"queryable":  true,
		"searchable": true,
		"fields":     fields,
		"urls":       map[string]string{"sobject": "/services/data/v" + version + "/sobjects/" + o.name, "describe": "/services/data/v" + version + "/sobjects/" + o.name + "/describe"},
	}
}

// identity serves the identity URL of the token response (GET
// /id/<orgId>/<userId> with the access token): the integration user's ids,
// username, e-mail and whether it is active
// (https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_using_openid.htm).
func (s *Server) identity(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !s.tokens[tok] {
		http.Error(w, "Bad_OAuth_Token", http.StatusForbidden)
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/id/"), "/"), "/")
	if len(parts) != 2 {
		http.Error(w, "Bad_Id", http.StatusNotFound)
		return
	}
	u, ok := s.byID[parts[1]]
	if !ok {
		http.Error(w, "Bad_Id", http.StatusNotFound)
		return
	}
	active, _ := u["IsActive"].(bool)
	writeJSON(w, http.StatusOK, map[string]any{
		"id":              s.URL + r.URL.Path,
		"asserted_user":   true,
		"user_id":         parts[1],
		"organization_id": parts[0],
		"username":        orEmpty(u["Username"]),
		"display_name":    orEmpty(u["Name"]),
		"email":           orEmpty(u["Email"]),
		"active":          active,
		"user_type":       "STANDARD",
		"urls": map[string]string{
			"rest":     s.URL + "/services/data/v{version}/",
			"sobjects": s.URL + "/services/data/v{version}/sobjects/",
			"query":    s.URL + "/services/data/v{version}/query/",
		},
	})
}
