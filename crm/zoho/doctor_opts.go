package zoho

import "github.com/callsync/callsync/crm"

// DoctorOptions name what Doctor checks beyond the client's own settings.
type DoctorOptions struct {
	// Users is how Enreach users map to Zoho users (user_id_field, when
	// set, overrides it as in Users).
	Users crm.UserMatch
	// RoutingFields are the fields Smart Routing rules compare, per entity.
	RoutingFields map[crm.Entity][]string
}
