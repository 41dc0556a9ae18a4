package zoho

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/callsync/callsync/crm"
)

// Records are shaped to the module's metadata before they are written:
// optional custom-module fields the module lacks (or has with another type,
// or read-only for the integration user) are left out, Queue and the Calls
// field Telephony_External_ID__s are written only when the module has them,
// and audit_field receives Activity.Audit cut at the field's length. Without
// metadata (no settings scope) the records keep callsync's full format and
// the fields that exist only in some orgs are left out.

// fTelephonyID is the Calls field shown as "Telephony External ID", where
// the Enghouse connector writes the call id. Its API name is not in Zoho's
// v8 OpenAPI examples; Telephony_External_ID__s is the name seen in the
// field metadata of live orgs [code]. Written only when settings/fields
// lists it.
const fTelephonyID = "Telephony_External_ID__s"

// auditMarker ends an audit value cut at the field's length (the marker
// the Dynamics and Salesforce clients write).
const auditMarker = " …[truncated by callsync: %d of %d characters]"

// truncateAudit cuts s to at most max characters, ending with a marker that
// says so.
func truncateAudit(s string, max int) string {
	n := len([]rune(s))
	if n <= max || max <= 0 {
		return s
	}
	r := []rune(s)
	for keep := max; keep > 0; keep-- {
		m := fmt.Sprintf(auditMarker, keep, n)
		if keep+len([]rune(m)) <= max {
			return string(r[:keep]) + m
		}
	}
	return string(r[:max])
}

// writeSchema returns the metadata records of module are shaped with; known
// is false when there is none (no settings scope, or the module is missing:
// the write then fails with Zoho's own answer).
func (c *Client) writeSchema(ctx context.Context, module string) (s crm.Schema, known bool, err error) {
	s, missing, err := c.moduleFields(ctx, module)
	switch {
	case err != nil && errors.Is(err, errNoMetadata) && ctx.Err() == nil:
		return crm.Schema{}, false, nil
	case err != nil:
		return crm.Schema{}, false, err
	case missing:
		return crm.Schema{}, false, nil
	}
	return s, true, nil
}

// writable says whether the schema has field f writable with one of types.
func writable(s crm.Schema, f string, types ...string) (crm.FieldInfo, bool) {
	fi, ok := s.Fields[f]
	return fi, ok && fi.Creatable && fi.Updatable && slices.Contains(types, fi.Type)
}

// shapeCustom fits a custom-module record to the module's fields.
func (c *Client) shapeCustom(rec map[string]any, a crm.Activity, s crm.Schema, known bool) {
	if !known {
		return
	}
	for _, sp := range customFields() {
		if sp.required {
			continue
		}
		if _, ok := writable(s, sp.name, sp.types...); !ok {
			delete(rec, sp.name)
			continue
		}
		if sp.name == cfQueue && a.QueueName != "" {
			rec[cfQueue] = truncateRunes(a.QueueName, max(1, s.Fields[cfQueue].MaxLength))
		}
	}
	c.shapeAudit(rec, a, s, known)
}

// shapeAudit writes Activity.Audit to audit_field when the module has it as
// a writable text field, cut at its length with a marker.
func (c *Client) shapeAudit(rec map[string]any, a crm.Activity, s crm.Schema, known bool) {
	f := c.cfg.AuditField
	if f == "" || a.Audit == "" || !known {
		return
	}
	fi, ok := writable(s, f, "textarea", "text")
	if !ok {
		return
	}
	rec[f] = truncateAudit(a.Audit, fi.MaxLength)
}

// staleFieldError is a record refused for a field the module no longer has
// (deleted or hidden since the metadata was read): not permanent, the next
// run writes the record without it.
type staleFieldError struct {
	field string
	err   error
}

func (e *staleFieldError) Error() string {
	return fmt.Sprintf("%v (field %s is gone; the record is written without it on the next run)", e.err, e.field)
}

// recheckFields reads module's metadata again after Zoho refused records
// naming fields (INVALID_DATA with api_name), and turns the errors of
// fields that are gone into staleFieldError.
func (c *Client) recheckFields(ctx context.Context, w *writeRun, module string, failed map[int]string) {
	if len(failed) == 0 {
		return
	}
	c.forgetSchema(module)
	s, known, err := c.writeSchema(ctx, module)
	if err != nil || !known {
		return
	}
	for i, f := range failed {
		if fi, ok := s.Fields[f]; ok && fi.Creatable {
			continue
		}
		w.results[i].Err = &staleFieldError{field: f, err: w.results[i].Err}
	}
}
