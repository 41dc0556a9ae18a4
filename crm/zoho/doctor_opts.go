package zoho

import "github.com/callsync/callsync/crm"

// DoctorOptions name what Doctor checks beyond the client's own settings.
type DoctorOptions struct {
	// Users is how Enreach users map to Zoho users (user_id_field, when
	// set, overrides it as in Users).
	Users crm.UserMatch
	// DefaultAssignee is the DefaultCrmAssignee as Users resolves it (Email
	// for e-mail matching, EnreachUserID for field matching); zero when not
	// configured.
	DefaultAssignee crm.UserQuery
	// RoutingFields are the fields Smart Routing rules compare, per entity.
	RoutingFields map[crm.Entity][]string
}
