package dynamicstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// Table definitions (metadata) and the shapes of real orgs.
//
// GET EntityDefinitions(LogicalName='<table>')/Attributes?$select=... lists
// a table's columns as AttributeMetadata, and a cast segment
// (/Microsoft.Dynamics.CRM.StringAttributeMetadata, ...MemoAttributeMetadata)
// narrows the list to that type and adds its properties such as MaxLength.
// There is no paging: every matching item comes in the first response
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api).
// Everyone can read table definitions
// (https://learn.microsoft.com/power-apps/developer/data-platform/column-level-security).

// Column describes a column added to a table (a custom column, or a standard
// one re-created with another type).
type Column struct {
	// Name is the logical name, e.g. new_enreachapiaudit.
	Name string
	// Type is the AttributeType: String, Memo, Integer, Boolean, DateTime.
	Type string
	// MaxLength bounds String and Memo columns (default 100 and 2000).
	MaxLength int
	// ReadOnly columns are not valid for create or update.
	ReadOnly bool
}

// attributeTypes maps an AttributeType to the double's storage type.
var attributeTypes = map[string]colType{
	"String": tString, "Memo": tString, "Integer": tInt, "Boolean": tBool, "DateTime": tDate,
}

// AddColumn adds (or re-creates, with its new type) a column of the table
// whose entity set is set ("contacts", "phonecalls", "systemusers", ...).
func (s *Server) AddColumn(set string, c Column) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTable(set)
	ct, ok := attributeTypes[c.Type]
	if !ok {
		panic(fmt.Sprintf("dynamicstest: column type %q is not one of String, Memo, Integer, Boolean, DateTime", c.Type))
	}
	t.cols[c.Name] = ct
	t.attrType[c.Name] = c.Type
	delete(t.maxLen, c.Name)
	if c.Type == "String" || c.Type == "Memo" {
		n := c.MaxLength
		if n == 0 {
			n = map[string]int{"String": 100, "Memo": 2000}[c.Type]
		}
		t.maxLen[c.Name] = n
	}
	if c.ReadOnly {
		t.readOnly[c.Name] = true
	} else {
		delete(t.readOnly, c.Name)
	}
	for _, rw := range t.rows {
		delete(rw, c.Name)
	}
	t.dropIndex(c.Name)
	if set == "phonecalls" {
		t.custom[c.Name] = true
	}
}

// DropColumn removes a column, as an admin deleting it does: it is gone
// from the table definitions, and naming it in $select or $filter fails
// with "Could not find a property named ...".
func (s *Server) DropColumn(set, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTable(set)
	if _, ok := t.cols[name]; !ok {
		panic(fmt.Sprintf("dynamicstest: %s has no column %q", set, name))
	}
	delete(t.cols, name)
	delete(t.attrType, name)
	delete(t.maxLen, name)
	delete(t.secured, name)
	delete(t.granted, name)
	delete(t.custom, name)
	for _, rw := range t.rows {
		delete(rw, name)
	}
	t.dropIndex(name)
}

// SecureColumn turns column-level security on for a column and gives the
// application user no field security profile for it. Its definition still
// says IsValidForRead (and IsSecured: true), but the API returns no data
// for it: "The default API behavior when returning a value for a secured
// column is to return no data. The calling application can't distinguish
// between a value that is secured and a value that is null."
// (https://learn.microsoft.com/power-apps/developer/data-platform/column-level-security).
// The double also lets $filter see only that null, so a secured phone column
// never matches [assumed: how Dataverse filters on a secured column the user
// cannot read is not documented].
func (s *Server) SecureColumn(set, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTable(set)
	if _, ok := t.cols[name]; !ok {
		panic(fmt.Sprintf("dynamicstest: %s has no column %q", set, name))
	}
	t.secured[name] = true
}

// GrantColumnAccess gives the application user a field security profile
// with Read and Create (or, read false, Create only) on a secured column:
// RetrievePrincipalAttributePrivileges lists it (CanRead/CanCreate/CanUpdate
// 4 Allowed, 0 Not Allowed), and with read its values are returned.
func (s *Server) GrantColumnAccess(set, name string, read bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTable(set)
	if !t.secured[name] {
		panic(fmt.Sprintf("dynamicstest: %s.%s is not secured", set, name))
	}
	t.granted[name] = read
}

// DropTable removes a table, e.g. "leads" for an org without Dynamics 365
// Sales (lead comes with Sales).
func (s *Server) DropTable(set string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustTable(set)
	delete(s.tables, set)
}

// DenyPrivilege takes a privilege ("prvReadContact", "prvCreateActivity",
// ...) away from the application user's security role: requests that need
// it get 403 with 0x80040220 (PrivilegeDenied), and RetrieveUserPrivileges no
// longer lists it.
func (s *Server) DenyPrivilege(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[strings.ToLower(name)] = true
}

func (s *Server) mustTable(set string) *table {
	t, ok := s.tables[set]
	if !ok {
		panic(fmt.Sprintf("dynamicstest: no table %q", set))
	}
	return t
}

// tableByLogical finds a table by its logical name.
func (s *Server) tableByLogical(name string) *table {
	for _, t := range s.tables {
		if t.logical == name {
			return t
		}
	}
	return nil
}

// Privileges of the application user's role: read on each table the double
// serves, and the activity privileges every activity table shares
// (prvCreateActivity, ...), as RetrieveUserPrivileges names them
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/retrieveuserprivileges).
var readPrivilege = map[string]string{
	"contacts": "prvReadContact", "accounts": "prvReadAccount", "leads": "prvReadLead",
	"systemusers": "prvReadUser", "queues": "prvReadQueue", "queueitems": "prvReadQueueItem",
	"phonecalls": "prvReadActivity",
}

var allPrivileges = []string{
	"prvReadContact", "prvAppendToContact", "prvReadAccount", "prvAppendToAccount",
	"prvReadLead", "prvAppendToLead", "prvReadUser", "prvReadQueue", "prvReadQueueItem", "prvAppendToQueue",
	"prvCreateActivity", "prvReadActivity", "prvWriteActivity", "prvAppendActivity", "prvAssignActivity",
}

// privilegeDenied answers 403 0x80040220 as Dataverse does for a missing
// privilege (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/compose-http-requests-handle-errors:
// 403 PrivilegeDenied); the message follows the platform's "Principal user
// ... is missing <prv> privilege" text.
func (s *Server) privilegeDenied(prv, logical string) (apiResponse, bool) {
	if prv == "" || len(s.denied) == 0 || !s.denied[strings.ToLower(prv)] {
		return apiResponse{}, false
	}
	return errResponse(http.StatusForbidden, "0x80040220", fmt.Sprintf(
		"Principal user (Id=%s, type=8, roleCount=1, privilegeCount=%d, accessMode=4), is missing %s privilege on OTC=0 for entity '%s'.",
		s.appUserID, len(allPrivileges)-len(s.denied), prv, logical)), true
}

// retrieveUserPrivileges serves systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges().
func (s *Server) retrieveUserPrivileges(userID string) apiResponse {
	if _, ok := s.tables["systemusers"].rows[userID]; !ok {
		return errResponse(http.StatusNotFound, codeNotExist, fmt.Sprintf("systemuser With Id = %s Does Not Exist", userID))
	}
	var out []map[string]any
	if userID == s.appUserID {
		for i, p := range allPrivileges {
			if s.denied[strings.ToLower(p)] {
				continue
			}
			out = append(out, map[string]any{"Depth": "Global", "PrivilegeName": p,
				"PrivilegeId": fmt.Sprintf("00000000-0000-0000-0000-%012d", i+1), "BusinessUnitId": "00000000-0000-0000-0000-0000000000b0"})
		}
	}
	b, _ := json.Marshal(map[string]any{"@odata.context": s.URL + APIPath + "/$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse", "RolePrivileges": out})
	return apiResponse{status: http.StatusOK, header: http.Header{}, body: b}
}

// attribute is one column as AttributeMetadata.
type attribute struct {
	name, typ                          string
	maxLen                             int
	read, create, update, secured, str bool
}

// attributes lists the table's columns as Dataverse defines them: a lookup
// stored as _x_value is the attribute x (Lookup, Owner or Customer).
func (t *table) attributes() []attribute {
	var out []attribute
	for c, ct := range t.cols {
		a := attribute{name: c, read: true, create: !t.readOnly[c], update: !t.readOnly[c], secured: t.secured[c]}
		switch {
		case strings.HasPrefix(c, "_") && strings.HasSuffix(c, "_value"):
			a.name = strings.TrimSuffix(strings.TrimPrefix(c, "_"), "_value")
			a.typ = "Lookup"
			switch a.name {
			case "ownerid":
				a.typ = "Owner"
			case "parentcustomerid", "customerid":
				a.typ = "Customer"
			}
		case c == t.key:
			a.typ, a.update = "Uniqueidentifier", false
		case c == "createdon" || c == "modifiedon":
			a.typ, a.create, a.update = "DateTime", false, false
		case c == "statecode":
			a.typ = "State"
		case c == "statuscode":
			a.typ = "Status"
		case t.attrType[c] != "":
			a.typ = t.attrType[c]
		default:
			a.typ = map[colType]string{tString: "String", tBool: "Boolean", tInt: "Integer", tDate: "DateTime", tGUID: "Uniqueidentifier"}[ct]
		}
		if a.typ == "String" || a.typ == "Memo" {
			a.str = true
			a.maxLen = t.maxLen[c]
			if a.maxLen == 0 {
				a.maxLen = 100 // a new text column's default [assumed]
			}
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// serveMetadata answers EntityDefinitions(LogicalName='x')/Attributes[/cast].
func (s *Server) serveMetadata(r apiRequest) apiResponse {
	rest, ok := strings.CutPrefix(r.path, "EntityDefinitions(LogicalName='")
	name, rest, ok2 := strings.Cut(rest, "')")
	if !ok || !ok2 {
		return errResponse(http.StatusNotImplemented, codeOData, "dynamicstest serves EntityDefinitions(LogicalName='<table>')/Attributes only.")
	}
	t := s.tableByLogical(name)
	if t == nil {
		// [assumed] status and text for an unknown table.
		return errResponse(http.StatusNotFound, codeNotExist, fmt.Sprintf("Could not find entity with name '%s'.", name))
	}
	cast := ""
	switch rest {
	case "/Attributes":
	case "/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata":
		cast = "String"
	case "/Attributes/Microsoft.Dynamics.CRM.MemoAttributeMetadata":
		cast = "Memo"
	default:
		return errResponse(http.StatusNotImplemented, codeOData, fmt.Sprintf("dynamicstest does not serve EntityDefinitions %s.", rest))
	}
	q, _ := url.ParseQuery(r.query)
	props := map[string]bool{"LogicalName": true, "AttributeType": true, "IsValidForRead": true,
		"IsValidForCreate": true, "IsValidForUpdate": true, "IsSecured": true}
	if cast != "" {
		props["MaxLength"] = true
	}
	var sel []string
	if v := q.Get("$select"); v != "" {
		for _, p := range strings.Split(v, ",") {
			if !props[p] {
				typ := "AttributeMetadata"
				if cast != "" {
					typ = cast + "AttributeMetadata"
				}
				return errResponse(http.StatusBadRequest, codeOData, fmt.Sprintf("Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", p, typ))
			}
			sel = append(sel, p)
		}
	} else {
		for p := range props {
			sel = append(sel, p)
		}
	}
	value := []map[string]any{}
	for _, a := range t.attributes() {
		if cast != "" && a.typ != cast {
			continue
		}
		all := map[string]any{"LogicalName": a.name, "AttributeType": a.typ, "IsValidForRead": a.read,
			"IsValidForCreate": a.create, "IsValidForUpdate": a.update, "IsSecured": a.secured}
		if cast != "" {
			all["MaxLength"] = a.maxLen
		}
		typ := "AttributeMetadata"
		if a.str {
			typ = a.typ + "AttributeMetadata"
		}
		o := map[string]any{"@odata.type": "#Microsoft.Dynamics.CRM." + typ, "MetadataId": attributeID(t.logical, a.name)}
		for _, p := range sel {
			o[p] = all[p]
		}
		value = append(value, o)
	}
	b, _ := json.Marshal(map[string]any{"@odata.context": s.URL + APIPath + "/$metadata#EntityDefinitions('" + name + "')" + rest, "value": value})
	return apiResponse{status: http.StatusOK, header: http.Header{}, body: b}
}

// visible is a row as the application user sees it: secured columns it has
// no Read on hold no data.
func (t *table) visible(r row) row {
	if len(t.secured) == 0 {
		return r
	}
	v := r.clone()
	for c := range t.secured {
		if !t.granted[c] {
			v[c] = nil
		}
	}
	return v
}

// attributeID is a column's MetadataId, stable for its table and name.
func attributeID(logical, name string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("dynamicstest/"+logical+"/"+name)).String()
}

// retrievePrincipalAttributePrivileges serves
// systemusers(<id>)/Microsoft.Dynamics.CRM.RetrievePrincipalAttributePrivileges():
// the secured columns the user has a field security profile for, by
// AttributeId (the column's MetadataId), with CanCreate/CanRead/CanUpdate 4
// (Allowed) or 0 (Not Allowed)
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/attributeprivilege;
// values: https://learn.microsoft.com/power-apps/developer/data-platform/column-level-security).
func (s *Server) retrievePrincipalAttributePrivileges(userID string) apiResponse {
	if _, ok := s.tables["systemusers"].rows[userID]; !ok {
		return errResponse(http.StatusNotFound, codeNotExist, fmt.Sprintf("systemuser With Id = %s Does Not Exist", userID))
	}
	out := []map[string]any{}
	if userID == s.appUserID {
		var sets []string
		for set := range s.tables {
			sets = append(sets, set)
		}
		sort.Strings(sets)
		for _, set := range sets {
			t := s.tables[set]
			var cols []string
			for c := range t.granted {
				cols = append(cols, c)
			}
			sort.Strings(cols)
			for _, c := range cols {
				read := 0
				if t.granted[c] {
					read = 4
				}
				out = append(out, map[string]any{"AttributeId": attributeID(t.logical, c), "CanCreate": 4, "CanRead": read, "CanUpdate": 4, "CanReadUnMasked": 0})
			}
		}
	}
	b, _ := json.Marshal(map[string]any{"@odata.context": s.URL + APIPath + "/$metadata#Microsoft.Dynamics.CRM.RetrievePrincipalAttributePrivilegesResponse", "AttributePrivileges": out})
	return apiResponse{status: http.StatusOK, header: http.Header{}, body: b}
}

// Value returns a stored column value of a record as the double holds it
// (string, bool, int, time.Time or nil) and whether the record has it.
func (s *Server) Value(set, id, col string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[set]
	if !ok {
		return nil, false
	}
	rw, ok := t.rows[strings.ToLower(id)]
	if !ok {
		return nil, false
	}
	v, ok := rw[col]
	return v, ok
}
