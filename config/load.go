package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, parses and validates the configuration file at path. env looks
// up ${VAR} references; nil means os.LookupEnv. Problems in the file come
// back as Errors (one per line, each naming its key path) wrapped with the
// file name. types check each tenant's crm.<type> block (the CRM registry).
func Load(path string, env func(string) (string, bool), types CRMTypes) (*Config, error) {
	return load(path, env, false, types)
}

// LoadLocal is Load for the commands that read only the local store
// (status, explain): a secret whose ${VAR} is not set is not an error; it
// stays unset. Every other setting is read and checked as Load does.
func LoadLocal(path string, env func(string) (string, bool), types CRMTypes) (*Config, error) {
	return load(path, env, true, types)
}

func load(path string, env func(string) (string, bool), secretsOptional bool, types CRMTypes) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := parse(data, env, secretsOptional, types)
	if err != nil {
		var es Errors
		if errors.As(err, &es) && len(es) > 1 {
			return nil, fmt.Errorf("config %s: %d problems:\n%w", path, len(es), err)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse parses and validates a configuration. env looks up ${VAR}
// references; nil means os.LookupEnv. Every problem is reported, sorted by
// position, as Errors; a YAML syntax error is reported alone. types check
// each tenant's crm.<type> block (the CRM registry).
func Parse(data []byte, env func(string) (string, bool), types CRMTypes) (*Config, error) {
	return parse(data, env, false, types)
}

func parse(data []byte, env func(string) (string, bool), secretsOptional bool, types CRMTypes) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, Errors{{Line: extra.Line, Column: extra.Column, Msg: "the file holds more than one YAML document"}}
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("parse yaml: %w", err)
	}

	c := Defaults()
	d := &decoder{env: env, pos: map[string]position{}, secretsOptional: secretsOptional, types: types}
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		d.decode(root, reflect.ValueOf(&c).Elem(), "", 0)
	}
	c.normalize()
	c.notes = d.notes

	errs := d.errs
	bad := make([]string, len(errs))
	for i, e := range errs {
		bad[i] = e.Path
	}
	var verrs Errors
	if err := c.Validate(types); err != nil {
		errors.As(err, &verrs)
	}
	for _, e := range verrs {
		if hidden(e.Path, bad) {
			continue // already reported where it came from
		}
		e.Line, e.Column = d.locate(e.Path)
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		errs.sortByPosition()
		return nil, errs
	}
	return &c, nil
}

// hidden reports whether a validation error at path follows from a decode
// error at or above it.
func hidden(path string, bad []string) bool {
	for _, p := range bad {
		if underPath(path, p) {
			return true
		}
	}
	return false
}

// locate returns the position of path, or of its closest ancestor present
// in the file.
func (d *decoder) locate(path string) (int, int) {
	for p := path; p != ""; p = parentPath(p) {
		if pos, ok := d.pos[p]; ok {
			return pos.line, pos.col
		}
	}
	return 0, 0
}

// normalize tidies values that clients concatenate: base URLs lose their
// trailing slash (the CRM registry's Decode does so for crm.<type> blocks).
func (c *Config) normalize() {
	for i := range c.Tenants {
		t := &c.Tenants[i]
		for _, u := range []*string{&t.Enreach.APIURL, &t.Enreach.DiscoveryURL} {
			*u = strings.TrimRight(strings.TrimSpace(*u), "/")
		}
	}
}

// Tenant returns the tenant with the given name.
func (c *Config) Tenant(name string) (*Tenant, bool) {
	for i := range c.Tenants {
		if c.Tenants[i].Name == name {
			return &c.Tenants[i], true
		}
	}
	return nil, false
}

// TenantNames lists the tenants in file order.
func (c *Config) TenantNames() []string {
	out := make([]string, len(c.Tenants))
	for i, t := range c.Tenants {
		out[i] = t.Name
	}
	return out
}

// Profile returns the tenant's callback profile with the given name.
func (t *Tenant) Profile(name string) (*Profile, bool) {
	for i := range t.Callbacks.Profiles {
		if t.Callbacks.Profiles[i].Name == name {
			return &t.Callbacks.Profiles[i], true
		}
	}
	return nil, false
}

// ActiveProfiles returns the profiles with active: true.
func (t *Tenant) ActiveProfiles() []Profile {
	var out []Profile
	for _, p := range t.Callbacks.Profiles {
		if p.Active {
			out = append(out, p)
		}
	}
	return out
}

// Subject is the profile's subject, or the tenant's default_subject when
// the profile sets none (CallbackRequestDefaultSubject).
func (c Callbacks) Subject(p Profile) string {
	if p.Subject != "" {
		return p.Subject
	}
	return c.DefaultSubject
}

// Polls reports whether the profile is polled (polling, webhook_and_polling).
func (p Profile) Polls() bool {
	return p.SyncMethod == SyncPolling || p.SyncMethod == SyncWebhookAndPolling
}

// TakesWebhooks reports whether webhook deliveries for the profile are
// processed (webhook, webhook_and_polling); on polling they are recorded as
// ignored.
func (p Profile) TakesWebhooks() bool {
	return p.SyncMethod == SyncWebhook || p.SyncMethod == SyncWebhookAndPolling
}
