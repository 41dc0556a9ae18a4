package dynamics

// This file holds every Dataverse name, code and assumption the client relies
// on. The topic in brackets after each item names its public source:
//
//	[Auth]                      https://learn.microsoft.com/power-apps/developer/data-platform/authenticate-oauth,
//	                            https://learn.microsoft.com/power-apps/developer/data-platform/webapi/compose-http-requests-handle-errors
//	[Finding a caller by phone] https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/filter-rows,
//	                            https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query/overview (URL limits),
//	                            https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact (and account)
//	[Finding users and queues]  https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/systemuser,
//	                            https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/queue
//	[Writing]                   https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/phonecall,
//	                            https://learn.microsoft.com/power-apps/developer/data-platform/activityparty-entity (parties),
//	                            https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-entity-web-api (@odata.bind)
//	[Idempotency; Errors]       https://learn.microsoft.com/power-apps/developer/data-platform/bulk-operations (duplicate key 0x80040237),
//	                            https://learn.microsoft.com/troubleshoot/power-platform/power-apps/dataverse/client-errors
//	[Batching]                  https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api
//
// Items tagged [assumed] are the team's working assumptions where no public
// source says it: correct them here, against the live API, and nowhere else.

import (
	"github.com/google/uuid"

	"github.com/callsync/callsync/crm"
)

// APIPath is the Web API root below the org URL [Auth: Base URL].
const APIPath = "/api/data/v9.2"

// ActivityNamespace is the fixed UUIDv5 namespace for activity ids:
// activityid = UUIDv5(ActivityNamespace, Activity.Key) [Idempotency, assumed].
// NEVER change it: every written phonecall id derives from it, and a new
// namespace would turn every replay into a duplicate.
const ActivityNamespace = "0b5c6f0e-3f4a-5d8e-9c21-7a1d2e4b6c80"

var activityNS = uuid.MustParse(ActivityNamespace)

// ActivityID returns the phonecall activityid for an idempotency key.
func ActivityID(key string) string {
	return uuid.NewSHA1(activityNS, []byte(key)).String()
}

// entityMeta describes one customer table [Finding a caller by phone].
type entityMeta struct {
	set      string // entity set name
	idColumn string // primary key column
	name     string // display-name column
	// parent is the lookup holding a contact's account; empty for others.
	parent string
	// partyBind is the activity party navigation property for this table
	// [Writing: Parties].
	partyBind string
	// regardingBind is the phonecall's single-valued navigation property for
	// a regarding record of this table (multi-table lookup, case-sensitive)
	// [Writing: regardingobjectid_<table>_phonecall].
	regardingBind string
}

var entities = map[crm.Entity]entityMeta{
	crm.Contact: {set: "contacts", idColumn: "contactid", name: "fullname", parent: "_parentcustomerid_value",
		partyBind: "partyid_contact@odata.bind", regardingBind: "regardingobjectid_contact_phonecall@odata.bind"},
	crm.Account: {set: "accounts", idColumn: "accountid", name: "name",
		partyBind: "partyid_account@odata.bind", regardingBind: "regardingobjectid_account_phonecall@odata.bind"},
	// lead needs D365 Sales [Finding a caller by phone; Writing: Parties].
	crm.Lead: {set: "leads", idColumn: "leadid", name: "fullname",
		partyBind: "partyid_lead@odata.bind", regardingBind: "regardingobjectid_lead_phonecall@odata.bind"},
}

// defaultPhoneFields are the columns searched when Config.PhoneFields
// has no entry for an entity (config key phone_fields). An entry with an empty
// list switches that entity off (e.g. orgs without D365 Sales have no leads).
var defaultPhoneFields = map[crm.Entity][]string{
	crm.Contact: {"telephone1", "telephone2", "mobilephone"},
	crm.Account: {"telephone1", "telephone2"},
	crm.Lead:    {"telephone1", "telephone2", "mobilephone"},
}

const (
	// ownerColumn is the owner lookup's value property [Finding a caller by phone, example].
	ownerColumn = "_ownerid_value"
	// lookupLogicalNameSuffix is the annotation naming the table a lookup
	// points at; requested with Prefer: odata.include-annotations so a
	// contact's parentcustomerid is only reported when it is an account
	// [Auth: optional headers; assumed that the annotation is present].
	lookupLogicalNameSuffix = "@Microsoft.Dynamics.CRM.lookuplogicalname"
	preferAnnotations       = `odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"`
)

// System users [Finding users and queues].
const (
	userSet         = "systemusers"
	userIDColumn    = "systemuserid"
	userNameColumn  = "fullname"
	userEmailColumn = "internalemailaddress"
	userDisabled    = "isdisabled"
	userBindPrefix  = "/systemusers("
)

// Phone calls [Writing a completed phone-call activity].
const (
	phoneCallSet        = "phonecalls"
	phoneCallType       = "Microsoft.Dynamics.CRM.phonecall"
	partiesProperty     = "phonecall_activity_parties"
	ownerBind           = "ownerid@odata.bind"
	userPartyBind       = "partyid_systemuser@odata.bind"
	queuePartyBind      = "partyid_queue@odata.bind"
	maxSubjectLen       = 200  // [Writing: subject max 200]
	maxPhoneNumberLen   = 200  // [Writing: phonenumber max 200]
	maxDescriptionLen   = 2000 // [Writing: description max 2000]
	queueSet            = "queues"
	addToQueueAction    = "Microsoft.Dynamics.CRM.AddToQueue"
	queueDescriptionFmt = "Queue: %s"
)

// Activity party participation masks; phone calls support only these two
// [Writing: Parties]. Inbound: customer = from, user = to; outbound: user =
// from, customer = to (CIF softphone sample).
const (
	partySender       = 1
	partyToRecipient  = 2
	directionInbound  = false // directioncode false = incoming
	directionOutbound = true
)

// State and status codes of phonecall [Writing: Closing as completed].
const (
	stateOpen       = 0
	stateCompleted  = 1
	statusMade      = 2 // completed, outbound
	statusReceived  = 4 // completed, inbound
	closeStatusCall = statusMade
)

// Error codes and statuses [Idempotency; Errors].
const (
	// codeDuplicateKey is "Cannot insert duplicate key" (-2147220937).
	// callsync: 412, or this code, on the create = already written [assumed].
	codeDuplicateKey = "0x80040237"
	// closedActivityMessage is the text Dataverse uses when a closed
	// activity is updated; a close of an already closed activity counts as
	// done [assumed: the error code is not documented, the message is].
	closedActivityMessage = "Cannot update Closed or Cancelled Activity"
)

// Batch limits [Batching; Finding a caller by phone: URL limit].
const (
	maxBatchOps = 1000
	// maxURL is the Web API URL limit (32,768); maxBatchURL the limit of a
	// GET inside $batch (65,536). Both keep headroom for the host part.
	maxURL      = 32768 - 1024
	maxBatchURL = 65536 - 1024
	// maxFilterValues caps the literal values of one $filter: Dataverse
	// runs a query as one SQL statement, and SQL Server refuses more than
	// 2,100 parameters [assumed; not in the reference].
	maxFilterValues = 2000
	// defaultBatchSize is calls per $batch (config key batch_size).
	defaultBatchSize = 100
	// defaultConcurrency is the most requests in flight to one org:
	// Dataverse's service protection limit of 52 concurrent requests per
	// user (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits).
	// initialConcurrency is where the adaptive bound starts; it grows
	// while the org answers and halves on a 429.
	defaultConcurrency = 52
	initialConcurrency = 4
)
