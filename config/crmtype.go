package config

import (
	"errors"
	"strings"
)

// CRMType is what the configuration needs of one crm.type beyond decoding
// its block: the client's own checks of that block and its lines in the
// summary. cmd/callsync's CRM registry supplies one per type; the config
// package knows no client.
type CRMType struct {
	// Validate checks the tenant's crm.<type> block. Errors naming a key
	// below the block (KeyMsg, as crm.OptionError does) are reported at the
	// full path, e.g. tenants[0].crm.zoho.module; other errors at the block.
	Validate func(c *CRM) error
	// Summary lists the block's settings as key and value, secrets
	// redacted (Secret.String), for `callsync config check`.
	Summary func(c *CRM) [][2]string
}

// CRMTypes are the CRM types by crm.type.
type CRMTypes map[string]CRMType

// CRMNames lists the values crm.type accepts (each has a block in CRM),
// sorted.
func CRMNames() []string { return []string{CRMDynamics, CRMSalesforce, CRMZoho} }

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
	err := t.Validate(c)
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
