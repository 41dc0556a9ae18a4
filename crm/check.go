package crm

import "context"

// CheckStatus is the verdict of one preflight check.
type CheckStatus string

const (
	// CheckOK: the org has what callsync needs for this item.
	CheckOK CheckStatus = "ok"
	// CheckWarn: callsync adapts (drops a field, uses a fallback) and goes on.
	CheckWarn CheckStatus = "warn"
	// CheckFail: callsync cannot sync this tenant until the org is fixed.
	CheckFail CheckStatus = "fail"
)

// Check is one line of an org preflight (callsync doctor): what was checked,
// the verdict, what was found, and the fix in words (which permission to
// grant, which field to create with which type). Detail and Fix never carry
// secrets.
type Check struct {
	// Area groups checks: "enreach", "crm", "config".
	Area string `json:"area"`
	// Name is what was checked, e.g. "contact.telephone1" or "auth".
	Name   string      `json:"name"`
	Status CheckStatus `json:"status"`
	Detail string      `json:"detail,omitempty"`
	Fix    string      `json:"fix,omitempty"`
}

// FieldInfo is one field as the CRM's metadata API shows it to the
// integration user. A field the user cannot see (field-level security, a
// hidden field, a missing column) is absent from Schema.Fields.
type FieldInfo struct {
	// Name is the field's API name (Dataverse logical name, Salesforce field
	// API name, Zoho api_name).
	Name string `json:"name"`
	// Type is the CRM's own type name ("String", "phone", "integer", ...).
	Type string `json:"type"`
	// MaxLength is the maximum length in characters; 0 when the type has
	// none or the CRM does not say.
	MaxLength int  `json:"max_length,omitempty"`
	Readable  bool `json:"readable"`
	Creatable bool `json:"creatable"`
	Updatable bool `json:"updatable"`
}

// Schema is what the integration user can see of one CRM entity (table,
// object or module), keyed by field API name.
type Schema struct {
	Entity string
	Fields map[string]FieldInfo
}

// Doctor is the optional capability of a client that can check its org
// before it writes. It only reads: it writes nothing to any system. The
// returned error is for a failure to run the checks at all; an org that
// lacks something is reported as Check lines.
type Doctor interface {
	Doctor(ctx context.Context) ([]Check, error)
}

// WorstStatus returns the most severe status among checks (ok when empty).
func WorstStatus(checks []Check) CheckStatus {
	worst := CheckOK
	for _, c := range checks {
		switch c.Status {
		case CheckFail:
			return CheckFail
		case CheckWarn:
			worst = CheckWarn
		}
	}
	return worst
}
