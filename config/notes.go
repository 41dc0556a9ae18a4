package config

import "fmt"

// Notes returns remarks on a valid configuration that `callsync config
// check` prints before the summary: values read in the original product's
// unit, and settings the original requires that are unset.
func (c *Config) Notes() []string {
	out := append([]string(nil), c.notes...)
	for i, t := range c.Tenants {
		if t.PhoneCalls.DefaultCRMAssignee == "" {
			// Enreach Voice for D365: "to make call synchronization work,
			// DefaultCrmAssignee setting must be set".
			out = append(out, fmt.Sprintf("warning: tenants[%d].phone_calls.default_crm_assignee (DefaultCrmAssignee) is not set: calls of Enreach users with no CRM user are written with no owner and no user party (the integration user owns them); set it to the Enreach user id of the API user or another technical user", i))
		}
	}
	return out
}
