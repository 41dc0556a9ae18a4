package dynamicstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/callsync/callsync/internal/double"
)

// Phone-call writes (https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/phonecall;
// duplicate key https://learn.microsoft.com/power-apps/developer/data-platform/bulk-operations). Documented error codes are used as
// documented; the others are marked [assumed].

const (
	codeOData      = "0x80060888" // OData payload/URL errors [Errors]
	codeNotExist   = "0x80040217" // record does not exist [assumed]
	codeDuplicate  = "0x80040237" // Cannot insert duplicate key [Idempotency]
	codeTooLong    = "0x80044331" // field too long [Errors]
	codeInvalidArg = "0x80040203" // state/status and closed-activity errors [assumed]
	codeUserOff    = "0x80040225" // owner is a disabled user [assumed]
)

// phonecall plain properties and their types.
var phoneCallProps = map[string]colType{
	"activityid": tGUID, "subject": tString, "phonenumber": tString, "description": tString,
	"directioncode": tBool, "actualstart": tDate, "actualend": tDate, "scheduledstart": tDate, "scheduledend": tDate,
	"actualdurationminutes": tInt, "statecode": tInt, "statuscode": tInt, "prioritycode": tInt,
	"category": tString, "subcategory": tString,
}

// phonecall single-valued navigation properties and the sets they accept
// [Writing: ownerid, regardingobjectid_<table>_phonecall].
var phoneCallBinds = map[string][]string{
	"ownerid":                             {"systemusers", "teams"},
	"regardingobjectid_contact_phonecall": {"contacts"},
	"regardingobjectid_account_phonecall": {"accounts"},
	"regardingobjectid_lead_phonecall":    {"leads"},
}

// activity party navigation properties [Writing: Parties]; partyid_queue
// is accepted unless the server is told to reject queue parties.
var partyBinds = map[string]string{
	"partyid_contact":    "contacts",
	"partyid_account":    "accounts",
	"partyid_lead":       "leads",
	"partyid_systemuser": "systemusers",
	"partyid_queue":      "queues",
}

var stateNames = map[int]string{0: "Open", 1: "Completed", 2: "Canceled"}

func badRequest(code, format string, a ...any) error {
	return &apiError{http.StatusBadRequest, code, fmt.Sprintf(format, a...)}
}

// decodeEntity reads body as an entity with dec, which may be nil (a
// Decoder of its own).
func decodeEntity(dec *double.Decoder, h http.Header, body []byte) (map[string]any, error) {
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, &apiError{http.StatusUnsupportedMediaType, codeOData, fmt.Sprintf("The content type '%s' is not supported; use application/json.", ct)}
	}
	// As a json.Decoder with UseNumber reads it (double.Decoder).
	if dec == nil {
		dec = new(double.Decoder)
	}
	v, err := dec.Decode(body)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil, badRequest(codeOData, "The request body is not a valid JSON object.")
	}
	return m, nil
}

// resolveBind turns an @odata.bind value ("/contacts(<id>)", "contacts(<id>)",
// an absolute URL or a "$n" Content-ID reference) into a set and id that
// exist.
func (s *Server) resolveBind(prop string, v any, allowed []string, t *tx) (string, string, error) {
	str, ok := v.(string)
	if !ok {
		return "", "", badRequest(codeOData, "The value of '%s@odata.bind' must be a URL string.", prop)
	}
	ref := str
	if strings.HasPrefix(ref, "$") {
		if t == nil || t.refs[ref[1:]] == "" {
			return "", "", badRequest(codeOData, "Content-ID reference '%s' was not found in the change set.", ref)
		}
		ref = t.refs[ref[1:]]
	}
	ref = strings.TrimPrefix(ref, s.URL)
	ref = strings.TrimPrefix(ref, APIPath)
	ref = strings.TrimPrefix(ref, "/")
	set, key, action, err := parsePath(ref)
	if err != nil || key == "" || action != "" {
		return "", "", badRequest(codeOData, "The URL '%s' in '%s@odata.bind' is not a valid entity reference.", str, prop)
	}
	if !slices.Contains(allowed, set) {
		return "", "", badRequest(codeOData, "The entity set '%s' is not a valid target of navigation property '%s'.", set, prop)
	}
	tb, ok := s.tables[set]
	if !ok {
		return "", "", &apiError{http.StatusNotFound, codeOData, fmt.Sprintf("Resource not found for the segment '%s'.", set)}
	}
	if _, ok := tb.rows[key]; !ok {
		return "", "", &apiError{http.StatusNotFound, codeNotExist, fmt.Sprintf("%s With Id = %s Does Not Exist", tb.logical, key)}
	}
	return set, key, nil
}

// setProp checks one plain property value and stores it.
func setProp(rw row, k string, v any, ct colType) error {
	if v == nil {
		rw[k] = nil
		return nil
	}
	bad := func() error {
		return badRequest(codeOData, "Cannot convert the literal '%v' to the expected type '%s' of property '%s'.", v, ct.edm(), k)
	}
	switch ct {
	case tString:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		rw[k] = x
	case tBool:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		rw[k] = x
	case tInt:
		n, ok := v.(json.Number)
		if !ok {
			return bad()
		}
		i, err := n.Int64()
		if err != nil {
			return bad()
		}
		rw[k] = int(i)
	case tDate:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		d, err := parseDate(x)
		if err != nil {
			return bad()
		}
		rw[k] = d
	case tGUID:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		if _, err := uuid.Parse(x); err != nil {
			return bad()
		}
		rw[k] = strings.ToLower(x)
	}
	return nil
}

// phoneRowCols is the number of columns a phone call row created with
// every plain property, an owner and a regarding record has: the
// properties, the two lookups with their logical names, createdon and
// modifiedon.
var phoneRowCols = len(phoneCallProps) + 4 + 2

// applyPhoneCall validates body and applies it to rw. It returns the parties
// to insert (create only).
func (s *Server) applyPhoneCall(rw row, body map[string]any, create bool, t *tx) ([]Party, error) {
	pt := s.tables["phonecalls"]
	var parties []Party
	regarding := 0
	for k, v := range body {
		switch {
		case k == "@odata.type":
			if v != "Microsoft.Dynamics.CRM.phonecall" && v != "#Microsoft.Dynamics.CRM.phonecall" {
				return nil, badRequest(codeOData, "The type '%v' is not compatible with 'Microsoft.Dynamics.CRM.phonecall'.", v)
			}
		case strings.HasSuffix(k, "@odata.bind"):
			nav := strings.TrimSuffix(k, "@odata.bind")
			allowed, ok := phoneCallBinds[nav]
			if !ok {
				return nil, badRequest(codeOData, "An undeclared property '%s' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.", nav)
			}
			set, id, err := s.resolveBind(nav, v, allowed, t)
			if err != nil {
				return nil, err
			}
			if nav == "ownerid" {
				if u := s.tables["systemusers"].rows[id]; u != nil && u["isdisabled"] == true {
					return nil, badRequest(codeUserOff, "The specified user(Id = %s) is disabled. Consider enabling this user. Additional Details: User Status (isDisabled) = True", id)
				}
				rw["_ownerid_value"], rw["_ownerid_value"+lookupSuffix] = id, s.tables[set].logical
				continue
			}
			regarding++
			rw["_regardingobjectid_value"], rw["_regardingobjectid_value"+lookupSuffix] = id, s.tables[set].logical
		case k == "phonecall_activity_parties":
			if !create {
				return nil, badRequest(codeOData, "Deep update of 'phonecall_activity_parties' is not supported; associate parties on create.")
			}
			ps, err := s.parseParties(v, t)
			if err != nil {
				return nil, err
			}
			parties = ps
		default:
			ct, ok := phoneCallProps[k]
			if _, exists := pt.cols[k]; ok && !exists {
				ok = false // dropped by an admin
			}
			if pt.custom[k] {
				ct, ok = pt.cols[k], true
			}
			if !ok {
				if strings.Contains(k, "@") {
					continue // other instance annotations are ignored
				}
				return nil, badRequest(codeOData, "The property '%s' does not exist on type 'Microsoft.Dynamics.CRM.phonecall'. Make sure to only use property names that are defined by the type or mark the type as open type.", k)
			}
			if k == "statecode" && create {
				continue // statecode is not valid for create; ignored [Writing: statecode in the POST]
			}
			if err := setProp(rw, k, v, ct); err != nil {
				return nil, err
			}
			if n, max := rw[k], pt.maxLen[k]; max > 0 {
				if str, _ := n.(string); utf8.RuneCountInString(str) > max {
					return nil, badRequest(codeTooLong, "A validation error occurred. The length of the '%s' attribute of the 'phonecall' entity exceeded the maximum allowed length of '%d'.", k, max)
				}
			}
		}
	}
	if regarding > 1 {
		return nil, badRequest(codeOData, "Only one regardingobjectid navigation property can be set; setting one clears the others.")
	}
	return parties, nil
}

func (s *Server) parseParties(v any, t *tx) ([]Party, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, badRequest(codeOData, "'phonecall_activity_parties' must be a collection of activityparty entities.")
	}
	var out []Party
	for _, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, badRequest(codeOData, "An activityparty must be a JSON object.")
		}
		var p Party
		binds := 0
		for k, val := range obj {
			switch {
			case k == "participationtypemask":
				n, ok := val.(json.Number)
				m, err := n.Int64()
				if !ok || err != nil {
					return nil, badRequest(codeOData, "Cannot convert the literal '%v' to the expected type 'Edm.Int32'.", val)
				}
				p.Mask = int(m)
			case k == "addressused":
			case strings.HasSuffix(k, "@odata.bind"):
				nav := strings.TrimSuffix(k, "@odata.bind")
				set, ok := partyBinds[nav]
				if !ok {
					return nil, badRequest(codeOData, "An undeclared property '%s' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.", nav)
				}
				_, id, err := s.resolveBind(nav, val, []string{set}, t)
				if err != nil {
					return nil, err
				}
				binds++
				p.Ref = Ref{Entity: s.tables[set].logical, ID: id}
			default:
				return nil, badRequest(codeOData, "The property '%s' does not exist on type 'Microsoft.Dynamics.CRM.activityparty'.", k)
			}
		}
		if binds != 1 {
			return nil, badRequest(codeOData, "An activityparty needs exactly one partyid_<table>@odata.bind.")
		}
		if p.Mask != 1 && p.Mask != 2 {
			return nil, badRequest(codeInvalidArg, "Participation type %d is not valid for a phonecall; use 1 (Sender) or 2 (To Recipient).", p.Mask)
		}
		if p.Entity == "queue" && s.rejectQueueParties {
			// activityparty.partyid targets queue, so an org accepts a
			// queue party by default
			// (https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/activityparty);
			// an org told to reject it answers 400 [assumed: the code and
			// text a rejecting org gives are not documented].
			return nil, badRequest(codeInvalidArg, "The party type 'queue' is not valid for the From or To field of a phonecall.")
		}
		out = append(out, p)
	}
	return out, nil
}

// createPhoneCall serves POST phonecalls.
func (s *Server) createPhoneCall(r apiRequest, t *tx) apiResponse {
	if resp, denied := s.privilegeDenied("prvCreateActivity", "phonecall"); denied {
		return resp
	}
	body, err := r.decodedEntity()
	if err != nil {
		return fromErr(err)
	}
	return s.insertPhoneCall("", body, r.header, t)
}

func (s *Server) insertPhoneCall(key string, body map[string]any, h http.Header, t *tx) apiResponse {
	pt := s.tables["phonecalls"]
	// Sized for the columns a create sets (phoneRowCols), so the row is
	// not grown while it is filled.
	rw := make(row, phoneRowCols)
	rw["statecode"], rw["statuscode"], rw["directioncode"] = 0, 1, true
	rw["_ownerid_value"], rw["_ownerid_value"+lookupSuffix] = s.appUserID, "systemuser"
	parties, err := s.applyPhoneCall(rw, body, true, t)
	if err != nil {
		return fromErr(err)
	}
	id, _ := rw["activityid"].(string)
	if key != "" {
		if id != "" && id != key {
			return errResponse(http.StatusBadRequest, codeOData, "The key in the URL and activityid in the body differ.")
		}
		id = key
	}
	if id == "" {
		id = uuid.NewString()
	}
	rw["activityid"] = id
	if _, dup := pt.rows[id]; dup {
		// [Idempotency] duplicate primary key: 412 + 0x80040237.
		return errResponse(http.StatusPreconditionFailed, codeDuplicate, "Cannot insert duplicate key.")
	}
	if sc := rw["statuscode"].(int); !slices.Contains(s.statusCodes[0], sc) {
		return errResponse(http.StatusBadRequest, codeInvalidArg, fmt.Sprintf("%d is not a valid status code for state code PhoneCallState.Open on phonecall.", sc))
	}
	if _, ok := rw["actualdurationminutes"]; !ok {
		rw["actualdurationminutes"] = nil
	}
	undo := pt.insert(rw, s.now())
	s.parties[id] = parties
	if t != nil {
		t.undo = append(t.undo, undo, func() { delete(s.parties, id) })
	}
	loc := s.URL + APIPath + "/phonecalls(" + id + ")"
	hdr := http.Header{"Odata-Entityid": {loc}, "Location": {loc}}
	if _, prefer := h["Prefer"]; prefer && preferences(h)["return"] == "representation" {
		b, _ := json.Marshal(s.render(pt, rw, nil, false))
		return apiResponse{status: http.StatusCreated, header: hdr, body: b}
	}
	return apiResponse{status: http.StatusNoContent, header: hdr}
}

// patchPhoneCall serves PATCH phonecalls(<id>): an update, or an upsert
// when the record does not exist and no If-Match: * is sent
// [Idempotency: PATCH + If-None-Match].
func (s *Server) patchPhoneCall(key string, r apiRequest, t *tx) apiResponse {
	body, err := r.decodedEntity()
	if err != nil {
		return fromErr(err)
	}
	pt := s.tables["phonecalls"]
	cur, exists := pt.rows[key]
	if r.header.Get("If-None-Match") == "*" && exists {
		return errResponse(http.StatusPreconditionFailed, codeDuplicate, "A record with matching key values already exists.")
	}
	if !exists {
		if r.header.Get("If-Match") == "*" {
			return errResponse(http.StatusNotFound, codeNotExist, fmt.Sprintf("phonecall With Id = %s Does Not Exist", key))
		}
		return s.insertPhoneCall(key, body, r.header, t)
	}
	state := cur["statecode"].(int)
	newState, hasState := body["statecode"]
	if state != 0 {
		// Completed and canceled activities are read-only; only a
		// reopen (statecode 0) is allowed [Writing: Closing].
		reopen := hasState && fmt.Sprint(newState) == "0"
		for k := range body {
			if k != "statecode" && k != "statuscode" {
				reopen = false
			}
		}
		if !reopen {
			return errResponse(http.StatusBadRequest, codeInvalidArg, "Cannot update Closed or Cancelled Activity")
		}
	}
	// The body's columns are checked into a row of their own and then
	// written into the stored row (table.patch), instead of into a copy
	// of the whole row.
	set := make(row, len(body)+2)
	if _, err := s.applyPhoneCall(set, body, false, t); err != nil {
		return fromErr(err)
	}
	val := func(k string) any {
		if v, ok := set[k]; ok {
			return v
		}
		return cur[k]
	}
	if val("activityid") != key {
		return errResponse(http.StatusBadRequest, codeOData, "The primary key cannot be changed.")
	}
	st := val("statecode").(int)
	_, hasStatus := body["statuscode"]
	if hasState && !hasStatus {
		set["statuscode"] = s.statusCodes[st][0] // the state's default status
	}
	if sc := val("statuscode").(int); !slices.Contains(s.statusCodes[st], sc) {
		return errResponse(http.StatusBadRequest, codeInvalidArg, fmt.Sprintf("%d is not a valid status code for state code PhoneCallState.%s on phonecall with Id %s.", sc, stateNames[st], key))
	}
	undo := pt.patch(key, set, s.now())
	if t != nil {
		t.undo = append(t.undo, undo)
	}
	loc := s.URL + APIPath + "/phonecalls(" + key + ")"
	return apiResponse{status: http.StatusNoContent, header: http.Header{"Odata-Entityid": {loc}}}
}

// addToQueue serves POST queues(<id>)/Microsoft.Dynamics.CRM.AddToQueue
// with {"Target": {"@odata.type": "Microsoft.Dynamics.CRM.phonecall",
// "activityid": "<id>"}} and answers {"QueueItemId": "<id>"}.
func (s *Server) addToQueue(queueID string, r apiRequest, t *tx) apiResponse {
	body, err := r.decodedEntity()
	if err != nil {
		return fromErr(err)
	}
	if _, ok := s.tables["queues"].rows[queueID]; !ok {
		return errResponse(http.StatusNotFound, codeNotExist, fmt.Sprintf("queue With Id = %s Does Not Exist", queueID))
	}
	for k := range body {
		if k != "Target" && k != "SourceQueue" && k != "QueueItemProperties" {
			return errResponse(http.StatusBadRequest, codeOData, fmt.Sprintf("The parameter '%s' in the request payload is not a valid parameter for the operation 'AddToQueue'.", k))
		}
	}
	target, ok := body["Target"].(map[string]any)
	if !ok {
		return errResponse(http.StatusBadRequest, codeOData, "The parameter 'Target' of AddToQueue is required and must be an entity.")
	}
	if typ := fmt.Sprint(target["@odata.type"]); strings.TrimPrefix(typ, "#") != "Microsoft.Dynamics.CRM.phonecall" {
		return errResponse(http.StatusBadRequest, codeOData, fmt.Sprintf("The Target of AddToQueue needs @odata.type; the double supports Microsoft.Dynamics.CRM.phonecall, not '%s'.", typ))
	}
	id, _ := target["activityid"].(string)
	id = strings.ToLower(id)
	if _, ok := s.tables["phonecalls"].rows[id]; !ok {
		return errResponse(http.StatusNotFound, codeNotExist, fmt.Sprintf("phonecall With Id = %s Does Not Exist", id))
	}
	qi := s.tables["queueitems"]
	item := ""
	// The queue items of the phone call, from the index (index.go); the
	// last one created for this queue, as a scan of every item finds it.
	for _, x := range qi.indexFor("_objectid_value")[sqlNorm(id)] {
		qid := x.id
		rw := qi.rows[qid]
		if rw["_queueid_value"] == queueID && rw["_objectid_value"] == id {
			item = qid
		}
	}
	if item == "" {
		item = uuid.NewString()
		title, _ := s.tables["phonecalls"].rows[id]["subject"].(string)
		undo := qi.insert(row{"queueitemid": item, "_queueid_value": queueID, "_queueid_value" + lookupSuffix: "queue",
			"_objectid_value": id, "_objectid_value" + lookupSuffix: "phonecall", "title": title, "statecode": 0}, s.now())
		if t != nil {
			t.undo = append(t.undo, undo)
		}
	}
	b, _ := json.Marshal(map[string]any{"@odata.context": s.URL + APIPath + "/$metadata#Microsoft.Dynamics.CRM.AddToQueueResponse", "QueueItemId": item})
	return apiResponse{status: http.StatusOK, header: http.Header{}, body: b}
}
