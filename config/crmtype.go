package config

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// CRMType is what the configuration needs of one crm.type: how to decode
// its crm.<type> block into the client's own configuration type, the
// client's checks of that block and its lines in the summary.
// cmd/callsync's CRM registry supplies one per type; the config package
// knows no client.
type CRMType struct {
	// Decode returns the type's options (a pointer to the client's
	// configuration, holding the client's defaults) after calling decode
	// with that pointer once. decode fills it from the tenant's
	// crm.<type> block as the rest of the file is read: yaml keys from the
	// struct tags, ${VAR} expanded, unknown keys reported at their path; a
	// string field tagged `config:"secret"` is a secret (LoadLocal lets its
	// ${VAR} be unset), one tagged `config:"url"` a base URL that loses its
	// trailing slash. A block that is absent leaves the defaults.
	Decode func(decode func(into any)) any
	// Validate checks the options Decode returned. Errors naming a key
	// below the block (KeyMsg, as crm.OptionError does) are reported at the
	// full path, e.g. tenants[0].crm.zoho.module; other errors at the block.
	Validate func(opts any) error
	// Summary lists the options' settings as key and value, secrets
	// redacted, for `callsync config check`.
	Summary func(opts any) [][2]string
	// Title is the CRM's name in messages, e.g. "Dynamics".
	Title string
	// QueuedCallbacks: the CRM adds each callback request to its profile's
	// queue, so an active profile with recipient_rule: queue needs one.
	QueuedCallbacks bool
	// Cases: Smart Routing rules may test the caller's open Cases.
	Cases bool
}

// CRMTypes are the CRM types by crm.type.
type CRMTypes map[string]CRMType

// titlesWith lists the titles of the types for which has is true, in
// crm.type order, joined by " and ".
func (ts CRMTypes) titlesWith(has func(CRMType) bool) string {
	var out []string
	for _, n := range ts.names() {
		if has(ts[n]) {
			out = append(out, ts[n].Title)
		}
	}
	return strings.Join(out, " and ")
}

// names lists the types, sorted.
func (ts CRMTypes) names() []string {
	out := make([]string, 0, len(ts))
	for n := range ts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// CRMOptions holds a tenant's crm.<type> block as the client's own
// configuration type decoded it (CRMType.Decode). It may hold secrets, so
// it never prints: fmt, slog and JSON show a marker; `config check` lists
// its settings through CRMType.Summary.
type CRMOptions struct{ v any }

// NewCRMOptions wraps a client configuration (a pointer, as Decode returns
// it), e.g. for a tenant built in code.
func NewCRMOptions(v any) CRMOptions { return CRMOptions{v: v} }

// Value is the client configuration, nil when the tenant has none.
func (o CRMOptions) Value() any { return o.v }

const optionsMarker = "[crm options]"

// String implements fmt.Stringer with a marker.
func (o CRMOptions) String() string { return optionsMarker }

// GoString keeps %#v free of secrets too.
func (o CRMOptions) GoString() string { return optionsMarker }

// Format shows the marker for every fmt verb.
func (o CRMOptions) Format(f fmt.State, _ rune) { fmt.Fprint(f, optionsMarker) }

// LogValue implements slog.LogValuer.
func (o CRMOptions) LogValue() slog.Value { return slog.StringValue(optionsMarker) }

// MarshalText shows the marker in JSON and YAML output.
func (o CRMOptions) MarshalText() ([]byte, error) { return []byte(optionsMarker), nil }

// keyedError is an error that names its key below a crm.<type> block.
type keyedError interface {
	error
	KeyMsg() (key, msg string)
}

// crmBlock checks the block of c.Type with its registered type.
func (v *validator) crmBlock(p string, c *CRM, types CRMTypes) {
	bp := p + "." + c.Type
	t, ok := types[c.Type]
	if !ok || t.Validate == nil {
		v.add(p+".type", "no CRM client is registered for %q", c.Type)
		return
	}
	opts := c.Options.Value()
	if opts == nil && t.Decode != nil {
		opts = t.Decode(func(any) {}) // built in code without options: the defaults
	}
	err := t.Validate(opts)
	if err == nil {
		return
	}
	list := []error{err}
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		list = u.Unwrap()
	}
	for _, e := range list {
		var ke keyedError
		if !errors.As(e, &ke) {
			v.add(bp, "%v", e)
			continue
		}
		key, msg := ke.KeyMsg()
		switch {
		case key == "":
			v.add(bp, "%s", msg)
		case strings.HasPrefix(key, "["):
			v.add(bp+key, "%s", msg)
		default:
			v.add(bp+"."+key, "%s", msg)
		}
	}
}
