package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
)

// describedField is one element of fields[] in an sObject Describe answer
// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_describe.htm).
// A field the integration user cannot see because of field-level security
// is absent from the answer.
type describedField struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Length     int    `json:"length"`
	Createable bool   `json:"createable"`
	Updateable bool   `json:"updateable"`
	Filterable bool   `json:"filterable"`
	ExternalID bool   `json:"externalId"`
	Unique     bool   `json:"unique"`
}

// sobjectSchema is what describe showed of one object, by lower-cased field name.
type sobjectSchema map[string]describedField

func (s sobjectSchema) get(name string) (describedField, bool) {
	f, ok := s[strings.ToLower(name)]
	return f, ok
}

// Schema converts a described object to the shared crm.Schema.
func (s sobjectSchema) crmSchema(object string) crm.Schema {
	out := crm.Schema{Entity: object, Fields: make(map[string]crm.FieldInfo, len(s))}
	for _, f := range s {
		out.Fields[f.Name] = crm.FieldInfo{Name: f.Name, Type: f.Type, MaxLength: f.Length, Readable: true,
			Creatable: f.Createable, Updatable: f.Updateable}
	}
	return out
}

// schemaObjects are the objects the sync describes: the Task it writes and
// the objects it searches.
var schemaObjects = []string{taskObject, "Contact", "Account", "Lead"}

// schemaMaxAge is how long a describe is trusted before the next use
// describes again (a field an admin deletes or hides is noticed within a
// day even when no request fails; an INVALID_FIELD answer re-describes at
// once).
const schemaMaxAge = 24 * time.Hour

// codeInvalidField is Salesforce's answer to a query or write naming a field
// that does not exist or that field-level security hides from the user:
// 400 [{"errorCode":"INVALID_FIELD","message":"No such column 'X' on entity 'Task'. ..."}]
// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
const codeInvalidField = "INVALID_FIELD"

// isInvalidField reports whether err is an INVALID_FIELD answer.
func isInvalidField(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code() == codeInvalidField
}

// describe fetches the objects' describes (one /composite/batch) and
// returns them by object name.
func (c *Client) describe(ctx context.Context, objects []string) (map[string]sobjectSchema, error) {
	paths := make([]string, len(objects))
	for i, o := range objects {
		paths[i] = "/sobjects/" + o + "/describe"
	}
	answers, err := c.getAll(ctx, paths)
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", strings.Join(objects, ", "), err)
	}
	out := make(map[string]sobjectSchema, len(objects))
	for i, raw := range answers {
		var ans struct {
			Fields []describedField `json:"fields"`
		}
		if err := json.Unmarshal(raw, &ans); err != nil {
			return nil, fmt.Errorf("describe %s: decode: %w", objects[i], err)
		}
		s := make(sobjectSchema, len(ans.Fields))
		for _, f := range ans.Fields {
			s[strings.ToLower(f.Name)] = f
		}
		out[objects[i]] = s
	}
	return out, nil
}

// refreshSchema describes the sync's objects when that is due: force (after
// an INVALID_FIELD answer), a describe older than schemaMaxAge, one marked
// stale by a per-record INVALID_FIELD, or none yet while an audit field needs
// its length. Without any of these the client keeps what it knows (or, never
// described, uses the configured names as they are). A failed describe that
// was not forced keeps the previous knowledge and is logged.
func (c *Client) refreshSchema(ctx context.Context, force bool) error {
	c.schemaMu.Lock()
	due := force || c.schemaStale ||
		(c.schema != nil && c.now().Sub(c.schemaAt) >= schemaMaxAge) ||
		(c.schema == nil && c.names.audit != "")
	c.schemaMu.Unlock()
	if !due {
		return nil
	}
	got, err := c.describe(ctx, schemaObjects)
	if err != nil {
		if force {
			return err
		}
		c.log.Warn("salesforce: describe failed; keeping the fields known so far", "err", err)
		return nil
	}
	c.setSchema(got)
	return nil
}

// setSchema stores described objects and logs, once per change, what the
// client adapts to.
func (c *Client) setSchema(got map[string]sobjectSchema) {
	c.schemaMu.Lock()
	// A new map: adapted() reads the previous one without the lock.
	next := make(map[string]sobjectSchema, len(c.schema)+len(got))
	for k, v := range c.schema {
		next[k] = v
	}
	for k, v := range got {
		next[k] = v
	}
	c.schema = next
	c.schemaAt = c.now()
	c.schemaStale = false
	c.schemaMu.Unlock()
	a := c.adapted()
	var notes []string
	if !a.custom {
		notes = append(notes, fmt.Sprintf("Task fields %s/%s are missing or not usable: existing calls are found by "+
			"standard Task fields (WhoId/WhatId of the caller's records, TaskSubtype Call, CreatedDate minus "+
			"CallDurationInSeconds within call_start_margin)", c.names.number, c.names.start))
	}
	for _, e := range crm.Entities {
		for _, f := range c.phones[e] {
			if !slices.Contains(a.phones[e], f) {
				notes = append(notes, fmt.Sprintf("%s.%s is not visible to the integration user (missing or "+
					"field-level security): dropped from caller lookups", sobjects[e].name, f))
			}
		}
		if len(a.phones[e]) == 0 {
			notes = append(notes, fmt.Sprintf("%s has no visible phone field left: not searched", sobjects[e].name))
		}
	}
	if c.names.audit != "" && a.auditLen == 0 {
		notes = append(notes, fmt.Sprintf("audit field Task.%s is missing or not writable: the audit goes to the description only", c.names.audit))
	}
	c.schemaMu.Lock()
	defer c.schemaMu.Unlock()
	key := strings.Join(notes, "\n")
	if key == c.schemaNotes {
		return
	}
	c.schemaNotes = key
	for _, n := range notes {
		c.log.Warn("salesforce: adapting to the org: " + n)
	}
}

// markSchemaStale makes the next operation describe again (a record failed
// with INVALID_FIELD).
func (c *Client) markSchemaStale() {
	c.schemaMu.Lock()
	defer c.schemaMu.Unlock()
	c.schemaStale = true
}

// adaptation is what the client uses of the org, derived from the last
// describe (or, never described, the configuration as it is).
type adaptation struct {
	// phones per entity: the configured phone fields the user can see.
	phones map[crm.Entity][]string
	// custom: the number and start fields exist, are filterable and can be
	// written, so FindActivities filters on them.
	custom bool
	// auditLen is the audit field's maximum length; 0 when there is no
	// usable audit field.
	auditLen int
	// visible reports whether a field of an object is visible (true for an
	// object never described).
	visible func(object, field string) bool
}

func (c *Client) adapted() adaptation {
	c.schemaMu.Lock()
	schema := c.schema
	c.schemaMu.Unlock()
	visible := func(object, field string) bool {
		s, ok := schema[object]
		if !ok {
			return true
		}
		_, ok = s.get(field)
		return ok
	}
	a := adaptation{phones: map[crm.Entity][]string{}, custom: true, visible: visible}
	for _, e := range crm.Entities {
		for _, f := range c.phones[e] {
			if visible(sobjects[e].name, f) {
				a.phones[e] = append(a.phones[e], f)
			}
		}
	}
	task, described := schema[taskObject]
	if described {
		n, okN := task.get(c.names.number)
		s, okS := task.get(c.names.start)
		a.custom = okN && okS && n.Filterable && s.Filterable && n.Createable && s.Createable &&
			stringType(n.Type) && s.Type == "datetime"
	}
	if c.names.audit != "" && described {
		if f, ok := task.get(c.names.audit); ok && f.Createable && stringType(f.Type) && f.Length > 0 {
			a.auditLen = f.Length
		}
	}
	return a
}

// stringType reports whether a describe type holds text.
func stringType(t string) bool {
	switch t {
	case "string", "textarea", "phone", "email", "url":
		return true
	}
	return false
}

// withSchema runs op with the current adaptation; when the org answers
// INVALID_FIELD (a field deleted or hidden since the last describe), it
// describes again and runs op once more with what is left.
func (c *Client) withSchema(ctx context.Context, op func(adaptation) error) error {
	if err := c.refreshSchema(ctx, false); err != nil {
		return err
	}
	err := op(c.adapted())
	if !isInvalidField(err) {
		return err
	}
	c.log.Warn("salesforce: the org refused a field; describing it again", "err", err)
	if derr := c.refreshSchema(ctx, true); derr != nil {
		return errors.Join(err, derr)
	}
	return op(c.adapted())
}

// errNoPhoneField is returned by Lookup when the user can see no phone
// field on any of Contact, Account and Lead.
var errNoPhoneField = fmt.Errorf("salesforce: the integration user can see no phone field on Contact, Account or Lead "+
	"(grant read access to them): %w", crm.ErrPermanent)
