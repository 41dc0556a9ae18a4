package salesforce

// This file holds every Salesforce name, code, limit and assumption the client
// relies on. The topic in brackets after each item names its public source:
//
//	[Auth]        https://help.salesforce.com/s/articleView?id=000886201,
//	              https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
//	[Finding a caller by phone] https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-sosl.md
//	[Writing]     https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
//	[Idempotency] https://developer.salesforce.com/docs/platform/api-rest/guide/dome-upsert.html
//	[Batching]    https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-create.html
//	[Errors]      https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
//
// Items tagged [assumed] are the team's working assumptions where no public
// source says it: correct them here, against the live API (GET
// API/sobjects/Task/describe), and nowhere else.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
)

// Defaults for crm.salesforce keys left empty (DefaultConfig, New).
const (
	DefaultAPIVersion      = "62.0"
	DefaultExternalIDField = "Enreach_Call_Id__c"
	// DefaultNumberField and DefaultStartField are the Task fields
	// FindActivities filters on [assumed]. A Task has no filterable phone or
	// call-start field: Description is a long text area (not filterable),
	// Subject is user-templated, CallObject holds the Enreach call id and
	// ActivityDate is a date without a time [Writing a completed phone-call
	// activity]. So callsync writes the customer number (E.164) into a Text(40)
	// and the call start into a Date/Time custom Activity field and filters on
	// those. Both are written on every Task; the org admin creates them next to
	// the external id field (README). Override with Options.NumberField and
	// Options.StartField.
	DefaultNumberField = "Enreach_Number__c"
	DefaultStartField  = "Enreach_Call_Start__c"
)

// Endpoints and grants [Auth].
const (
	tokenPath      = "/services/oauth2/token"
	dataPath       = "/services/data/v"
	grantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// jwtLifetime keeps exp within the documented 3 minutes with room for
	// clock skew [Auth: Grant (alternative)]. The assertion's aud is the
	// configured login_url, the org's My Domain, which External Client Apps
	// require (login/test.salesforce.com for classic Connected Apps: set
	// login_url to that host then) [Auth, assumed].
	jwtLifetime = 2 * time.Minute
)

// Batching and search limits [Batching; Finding a caller by phone: Limits].
const (
	maxCollection = 200 // records per /composite/sobjects request
	maxBatch      = 25  // subrequests per /composite/batch
	// maxSearchQuery bounds the text inside FIND {...}: over 4,000 characters
	// Salesforce drops the logical operators (our ORs) [doc].
	maxSearchQuery = 3800
	// soslMaxRecords is SOSL's cap on returned records (top 2,000 by
	// relevance) [doc]. A chunk that hits it is split and searched again.
	soslMaxRecords = 2000
	// maxNumbersPerSearch keeps each SOSL request to a modest number of callers
	// so that the 2,000-record cap is never near [assumed].
	maxNumbersPerSearch = 100
	// maxINValues and maxSOQLLength bound one SOQL query sent by GET (URL
	// length) [assumed; SOQL's own limit is 100,000 characters].
	maxINValues   = 200
	maxSOQLLength = 3500
	// minTermLength: SOSL rejects one-character terms [assumed].
	minTermLength = 2
	// fuzzyMinDigits: when a hit's stored phone matches no queried form
	// exactly (Salesforce phone search ignores formatting and may match a
	// number stored with extra prefix digits, e.g. "+358 (0)40 ..."), it is
	// attributed to a queried number whose form digits are a suffix of the
	// stored digits (or vice versa) over at least this many digits [assumed].
	// The engine verifies every candidate, so this only widens recall.
	fuzzyMinDigits = 7
)

// dateTimeLayout writes dateTime values with Salesforce's millisecond
// precision.
const dateTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// soslReserved are the characters escaped with a backslash inside FIND {...}
// [doc; Finding a caller by phone: Escaping].
const soslReserved = `?&|!{}[]()^~*:\"'+-`

// sobject names the Salesforce object of each customer entity, its phone-type
// fields (returned raw in crm.Record.Phones) and the other fields read
// [Finding a caller by phone; field names from the object reference, phone
// field list assumed to be the standard phone-type fields].
type sobject struct {
	name   string
	phones []string
	// parent is the field holding a contact's account; empty for others.
	parent string
}

var sobjects = map[crm.Entity]sobject{
	crm.Contact: {name: "Contact", parent: "AccountId",
		phones: []string{"Phone", "MobilePhone", "HomePhone", "OtherPhone", "AssistantPhone", "Fax"}},
	crm.Account: {name: "Account", phones: []string{"Phone", "Fax"}},
	crm.Lead:    {name: "Lead", phones: []string{"Phone", "MobilePhone", "Fax"}},
}

// entityOf maps attributes.type of a search record back to the entity.
func entityOf(sobjectType string) (crm.Entity, bool) {
	for e, o := range sobjects {
		if o.name == sobjectType {
			return e, true
		}
	}
	return "", false
}

// DefaultPhoneFields returns the phone fields read per entity when
// Options.PhoneFields has no entry for it.
func DefaultPhoneFields() map[crm.Entity][]string {
	out := make(map[crm.Entity][]string, len(sobjects))
	for e, o := range sobjects {
		out[e] = append([]string(nil), o.phones...)
	}
	return out
}

// Users [Finding users and queues, assumed]: active users only, matched by
// e-mail or by a configured User field holding the Enreach user id.
const (
	userObject      = "User"
	userEmailField  = "Email"
	userActiveField = "IsActive"
)

// Task fields and values [Writing a completed phone-call activity].
const (
	taskObject          = "Task"
	fSubject            = "Subject"      // string(255)
	fStatus             = "Status"       // picklist
	fActivityDate       = "ActivityDate" // date, midnight UTC, not shifted
	fTaskSubtype        = "TaskSubtype"  // restricted picklist, create-only
	fCallType           = "CallType"     // Inbound | Internal | Outbound
	fCallDuration       = "CallDurationInSeconds"
	fCallObject         = "CallObject"      // string(255): the Enreach id [assumed]
	fCallDisposition    = "CallDisposition" // string(255), "Call Result" [assumed values]
	fWhoID              = "WhoId"           // Contact or Lead
	fWhatID             = "WhatId"          // Account (never with a Lead WhoId) [assumed]
	fOwnerID            = "OwnerId"         // user or queue
	fDescription        = "Description"     // textarea(32000)
	statusCompleted     = "Completed"
	statusOpen          = "Not Started"
	subtypeCall         = "Call"
	callTypeInbound     = "Inbound"
	callTypeOutbound    = "Outbound"
	dispositionAnswered = "Answered"
	dispositionMissed   = "Not answered"
	maxSubject          = 255
	maxCallObject       = 255
	maxDescription      = 32000
	maxNumber           = 40 // Text(40) number field [assumed]
)

// Error codes the client acts on [Errors; Idempotency].
const (
	codeInvalidSession = "INVALID_SESSION_ID"
	codeRequestLimit   = "REQUEST_LIMIT_EXCEEDED"
	// codeCreateOnly is what Salesforce answers when a record sets a field
	// it may not set on this operation: here TaskSubtype on an upsert that
	// found the Task already there [assumed from the field's create-only
	// property; Open question 1].
	codeCreateOnly = "INVALID_FIELD_FOR_INSERT_UPDATE"
	// codeDuplicateExternalID: the external id matched several Tasks (the
	// collection form of the single-record 300) [assumed; Idempotency].
	codeDuplicateExternalID = "DUPLICATE_EXTERNAL_ID"
)

// transientCodes are per-record errors a later retry can fix; every other
// per-record error is permanent (validation, access, configuration) [assumed].
var transientCodes = map[string]bool{
	"UNABLE_TO_LOCK_ROW":                true,
	"REQUEST_RUNNING_TOO_LONG":          true,
	"SERVER_UNAVAILABLE":                true,
	"ALL_OR_NONE_OPERATION_ROLLED_BACK": true,
}

// ExternalID returns the value written to the external id field for an
// idempotency key [Idempotency, assumed]: the key itself when it fits the
// field (Text(255), External ID, Unique), which keeps it readable in
// Salesforce, else "sha256:" and the key's SHA-256 in hex. NEVER change this
// mapping: a different value for a written key would turn its replay into a
// duplicate.
func ExternalID(key string) string {
	if len(key) <= 255 {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// taskFields maps an activity to Task fields [Writing a completed phone-call
// activity, callsync values assumed]. withSubtype adds TaskSubtype, which
// Salesforce accepts on create only.
//
//   - Status: Completed; "Not Started" when Open (callback requests).
//     StatusReason has no Salesforce counterpart and is not written.
//   - ActivityDate: the callback's Due date when set, else the call's start
//     date, in UTC.
//   - CallType from Direction, CallDurationInSeconds from Duration (whole
//     seconds); for calls (not callback requests) CallDisposition
//     ("Answered" / "Not answered").
//   - CallObject: the Enreach CallId or CallbackListItemId.
//   - WhoId: a Contact or Lead regarding record; WhatId: an Account regarding
//     record, or for a contact regarding record the first account among
//     Related. Without a regarding record both stay empty, whatever Related
//     holds (a multiple match is written unlinked). A Lead WhoId
//     never carries a WhatId [assumed, Open question 5].
//   - OwnerId: Activity.OwnerID (a user or queue id); empty leaves the
//     integration ("Run As") user as owner. Activity.UserID and RecipientID
//     have no Task field: the Task's owner is its only user.
//   - The number and start fields (see DefaultNumberField) when the org has
//     them (describe), and the external id (ExternalID).
//   - The audit field, when configured and writable, with Activity.Audit cut
//     at the field's length from describe (marked by auditCut).
func taskFields(m *jsonw.Object, a crm.Activity, names fieldNames, ad adaptation, withSubtype bool) []byte {
	// The record as json.Marshal writes a map of these fields (keys in
	// sorted order), appended without reflection. m's memory is kept from
	// one record to the next (Append copies the record out).
	m.Reset()
	m.Grow(18, 256+len(a.Subject)+len(a.Description)+len(a.Audit))
	m.ValueString("attributes", taskAttributes)
	m.String(names.external, ExternalID(a.Key))
	if a.Subject != "" {
		m.String(fSubject, truncate(a.Subject, maxSubject))
	}
	if a.Description != "" {
		m.String(fDescription, truncate(a.Description, maxDescription))
	}
	if a.Open {
		m.String(fStatus, statusOpen)
	} else {
		m.String(fStatus, statusCompleted)
	}
	switch {
	case a.Due != nil && !a.Due.IsZero():
		m.String(fActivityDate, a.Due.UTC().Format(time.DateOnly))
	case !a.Start.IsZero():
		m.String(fActivityDate, a.Start.UTC().Format(time.DateOnly))
	}
	if withSubtype {
		m.String(fTaskSubtype, subtypeCall)
	}
	switch a.Direction {
	case crm.Inbound:
		m.String(fCallType, callTypeInbound)
	case crm.Outbound:
		m.String(fCallType, callTypeOutbound)
	}
	m.Int(fCallDuration, int(math.Round(a.Duration.Seconds())))
	if a.Kind != crm.KindCallback {
		if a.Answered {
			m.String(fCallDisposition, dispositionAnswered)
		} else {
			m.String(fCallDisposition, dispositionMissed)
		}
	}
	if a.EnreachID != "" {
		m.String(fCallObject, truncate(a.EnreachID, maxCallObject))
	}
	who, what := regarding(a)
	if who != "" {
		m.String(fWhoID, who)
	}
	if what != "" {
		m.String(fWhatID, what)
	}
	if a.OwnerID != "" {
		m.String(fOwnerID, a.OwnerID)
	}
	if ad.custom {
		if a.Number != "" {
			m.String(names.number, truncate(a.Number, maxNumber))
		}
		if !a.Start.IsZero() {
			m.String(names.start, a.Start.UTC().Format(dateTimeLayout))
		}
	}
	if ad.auditLen > 0 && a.Audit != "" {
		m.String(names.audit, truncateMarked(a.Audit, ad.auditLen))
	}
	return m.Append(nil)
}

// truncateMarked cuts s to at most n characters, ending a cut value with
// "…[truncated by callsync: K of M characters]" (as the Dynamics client
// marks it) so a reader knows the record goes on.
func truncateMarked(s string, n int) string {
	total := utf8.RuneCountInString(s)
	if total <= n {
		return s
	}
	marker := func(kept int) string {
		return fmt.Sprintf("…[truncated by callsync: %d of %d characters]", kept, total)
	}
	m := utf8.RuneCountInString(marker(n))
	if n <= m {
		return truncate(s, n)
	}
	kept := n - m
	return truncate(s, kept) + marker(kept)
}

// regarding picks WhoId and WhatId for an activity (see taskFields).
func regarding(a crm.Activity) (who, what string) {
	if a.Regarding != nil {
		switch a.Regarding.Entity {
		case crm.Contact:
			who = a.Regarding.ID
		case crm.Lead:
			return a.Regarding.ID, ""
		case crm.Account:
			what = a.Regarding.ID
		}
	}
	// Related holds several candidates when the caller matched several
	// records (multiple-match create): none of them is the caller, so only a
	// contact's own account is taken from it, never an account standing in for
	// an unresolved caller.
	if what == "" && who != "" {
		for _, r := range a.Related {
			if r.Entity == crm.Account {
				what = r.ID
				break
			}
		}
	}
	return who, what
}

// closeFields completes an open Task (a callback request closed in Enreach)
// [Writing: Status].
func closeFields(id string) []byte {
	var m jsonw.Object
	m.ValueString("attributes", taskAttributes)
	m.String("id", id)
	m.String(fStatus, statusCompleted)
	return m.Append(nil)
}

// taskAttributes is a Task record's "attributes" member, as json.Marshal
// writes map[string]string{"type": "Task"}.
const taskAttributes = `{"type":"` + taskObject + `"}`

// truncate cuts s to at most n characters without splitting a rune.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// Cases for Smart Routing's caller context: open Cases of the caller's
// Contacts and Accounts. Every field is filterable (Case object reference,
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_case.htm);
// IsClosed is read-only, derived from Status.
const caseObject = "Case"

var caseFields = []string{"ContactId", "AccountId", "Priority", "OwnerId", "IsClosed"}
