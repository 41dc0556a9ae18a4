package zoho

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/callsync/callsync/crm"
)

// Org metadata (what the integration user can see), read with
// GET /settings/fields?module=X: {"fields":[{"api_name","data_type",
// "length","visible","read_only","field_read_only","operation_type":
// {"api_create","api_update",...}},...]}, where read_only is "read-only for
// the current user" and field_read_only "always read-only"; an unknown module
// answers 400 INVALID_MODULE (https://github.com/zoho/crm-oas v8.0/fields
// getFields and getScheduledJobs examples). A field the user's profile
// cannot see is absent, and one with "visible": false is treated the same.
// The scope is ZohoCRM.settings.fields.READ; without it (a token granted
// before callsync needed it) the client keeps its configured fields.

// schemaTTL is how long fetched metadata is trusted: it is read again once a
// day, and at once after an answer naming an unknown field.
const schemaTTL = 24 * time.Hour

// moduleSchema is one module's metadata as fetched.
type moduleSchema struct {
	schema  crm.Schema
	missing bool // INVALID_MODULE: the module does not exist (for this user)
	fetched time.Time
	// unavailable is the error of a failed read (no settings scope, an
	// outage), remembered for noMetadataTTL so lookups do not ask each time.
	unavailable error
}

// noMetadataTTL is how long a failed metadata read is remembered.
const noMetadataTTL = time.Hour

// schemas caches module metadata; safe for concurrent use.
type schemas struct {
	mu      sync.Mutex
	modules map[string]*moduleSchema
	// dropped remembers, per module, the configured fields last reported
	// missing, so the warning is logged once per change.
	dropped map[string]string
}

// errNoMetadata marks a metadata request that failed for another reason
// than a missing module (scope, network): callers fall back to the
// configuration.
var errNoMetadata = errors.New("zoho: metadata unavailable")

// moduleFields returns the fields of module the integration user can see;
// missing is true when Zoho says the module does not exist. Metadata is
// cached for schemaTTL.
func (c *Client) moduleFields(ctx context.Context, module string) (s crm.Schema, missing bool, err error) {
	now := c.now()
	c.meta.mu.Lock()
	if m := c.meta.modules[module]; m != nil && m.unavailable != nil && now.Sub(m.fetched) < noMetadataTTL {
		c.meta.mu.Unlock()
		return crm.Schema{}, false, m.unavailable
	} else if m != nil && m.unavailable == nil && now.Sub(m.fetched) < schemaTTL {
		c.meta.mu.Unlock()
		return m.schema, m.missing, nil
	}
	c.meta.mu.Unlock()
	remember := func(err error) error {
		if ctx.Err() != nil {
			return err
		}
		c.meta.mu.Lock()
		if c.meta.modules == nil {
			c.meta.modules = map[string]*moduleSchema{}
		}
		c.meta.modules[module] = &moduleSchema{fetched: now, unavailable: err}
		c.meta.mu.Unlock()
		c.log.Warn("zoho: cannot read the org's field metadata; using the configured fields", "module", module, "err", err)
		return err
	}

	ms := &moduleSchema{schema: crm.Schema{Entity: module, Fields: map[string]crm.FieldInfo{}}, fetched: now}
	resp, err := c.do(ctx, http.MethodGet, "/settings/fields", url.Values{"module": {module}}, nil)
	var ae *APIError
	switch {
	case errors.As(err, &ae) && ae.Code == "INVALID_MODULE":
		ms.missing = true
	case err != nil:
		return crm.Schema{}, false, remember(fmt.Errorf("%w: fields of %s: %w", errNoMetadata, module, err))
	default:
		var body struct {
			Fields []struct {
				APIName       string `json:"api_name"`
				DataType      string `json:"data_type"`
				Length        int    `json:"length"`
				Visible       *bool  `json:"visible"`
				ReadOnly      bool   `json:"read_only"`
				FieldReadOnly bool   `json:"field_read_only"`
				OperationType *struct {
					APICreate bool `json:"api_create"`
					APIUpdate bool `json:"api_update"`
				} `json:"operation_type"`
			} `json:"fields"`
		}
		if err := json.Unmarshal(resp.body, &body); err != nil {
			return crm.Schema{}, false, remember(fmt.Errorf("%w: fields of %s: decode: %w", errNoMetadata, module, err))
		}
		for _, f := range body.Fields {
			if f.APIName == "" || (f.Visible != nil && !*f.Visible) {
				continue
			}
			writable := !f.ReadOnly && !f.FieldReadOnly
			fi := crm.FieldInfo{Name: f.APIName, Type: f.DataType, MaxLength: f.Length, Readable: true, Creatable: writable, Updatable: writable}
			if op := f.OperationType; op != nil {
				fi.Creatable = writable && op.APICreate
				fi.Updatable = writable && op.APIUpdate
			}
			ms.schema.Fields[f.APIName] = fi
		}
	}
	c.meta.mu.Lock()
	if c.meta.modules == nil {
		c.meta.modules = map[string]*moduleSchema{}
	}
	c.meta.modules[module] = ms
	c.meta.mu.Unlock()
	return ms.schema, ms.missing, nil
}

// forgetSchema drops a module's cached metadata, so the next use reads it
// again (after Zoho named one of its fields unknown).
func (c *Client) forgetSchema(module string) {
	c.meta.mu.Lock()
	delete(c.meta.modules, module)
	c.meta.mu.Unlock()
}

// unknownField returns the field an error names as unknown or invalid: an
// INVALID_QUERY "invalid column given" (column_name) of COQL, or an
// INVALID_DATA naming api_name of a write.
func unknownField(err error) string {
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "INVALID_QUERY" {
		if f, ok := ae.Details["column_name"].(string); ok {
			return f
		}
	}
	var re *RecordError
	if errors.As(err, &re) && re.Code == "INVALID_DATA" {
		if f, ok := re.Details["api_name"].(string); ok {
			return f
		}
	}
	return ""
}

// visibleFields returns the fields of want that the module's metadata shows
// readable, in want's order, and those it does not. Without metadata
// (errNoMetadata) every field is kept.
func (c *Client) visibleFields(ctx context.Context, module string, want []string) (keep, drop []string, err error) {
	s, missing, err := c.moduleFields(ctx, module)
	if err != nil {
		if errors.Is(err, errNoMetadata) && ctx.Err() == nil {
			return want, nil, nil
		}
		return nil, nil, err
	}
	for _, f := range want {
		if fi, ok := s.Fields[f]; ok && fi.Readable && !missing {
			keep = append(keep, f)
		} else {
			drop = append(drop, f)
		}
	}
	return keep, drop, nil
}

// noteDropped logs once per change which configured fields of a module are
// left out because the integration user cannot see them.
func (c *Client) noteDropped(module string, drop []string, what string) {
	key := fmt.Sprint(drop)
	c.meta.mu.Lock()
	if c.meta.dropped == nil {
		c.meta.dropped = map[string]string{}
	}
	same := c.meta.dropped[module+"\x00"+what] == key
	c.meta.dropped[module+"\x00"+what] = key
	c.meta.mu.Unlock()
	if same || len(drop) == 0 {
		return
	}
	c.log.Warn("zoho: fields missing or hidden from the integration user are left out", "module", module, "use", what, "fields", drop)
}

// auditModule is the module whose records carry audit_field: the one calls
// are written to.
func (c *Client) auditModule() string { return c.module }
