package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/callsync/callsync/config"
)

// The CRM clients own their configuration: no crm package (client, double
// or the contract) imports the config package; cmd/callsync maps the YAML to
// each client's Config.
func TestCRMPackagesDoNotImportConfig(t *testing.T) {
	const cfgPkg = "github.com/callsync/callsync/config"
	for _, p := range goListDeps(t, "../../crm/...") {
		if p == cfgPkg {
			t.Errorf("go list -deps ./crm/... lists %s", p)
		}
	}
}

// Every crm.type the config accepts has a registry entry with a
// validation, a summary, a constructor, a sandbox double and a record link, and the registry has no
// type the config would refuse.
func TestRegistryCoversEveryCRMType(t *testing.T) {
	accepted := config.CRMNames()
	for _, name := range accepted {
		ct, ok := crmTypes[name]
		if !ok {
			t.Errorf("crm.type %q is accepted by config but has no entry in crmTypes", name)
			continue
		}
		if ct.validate == nil || ct.summary == nil || ct.new == nil || ct.sandbox == nil || ct.link == nil {
			t.Errorf("crmTypes[%q] lacks a function: %+v", name, ct)
		}
	}
	if got, want := strings.Join(crmTypeNames(), ","), strings.Join(accepted, ","); got != want {
		t.Errorf("crmTypes = %s, config accepts %s", got, want)
	}
}

// Each YAML key of a crm.<type> block reaches the client's Config: with
// every key of the block set, no field of the mapped Config is left zero.
func TestRegistryMapsEveryKey(t *testing.T) {
	for name, mapped := range map[string]func(c config.CRM) any{
		config.CRMDynamics:   func(c config.CRM) any { return dynamicsConfig(c.Dynamics) },
		config.CRMSalesforce: func(c config.CRM) any { return salesforceConfig(c.Salesforce) },
		config.CRMZoho:       func(c config.CRM) any { return zohoConfig(c.Zoho) },
	} {
		var c config.CRM
		block := reflect.ValueOf(&c).Elem().FieldByNameFunc(func(f string) bool { return strings.EqualFold(f, name) })
		fillNonZero(t, block)
		out := reflect.ValueOf(mapped(c))
		for i := range out.NumField() {
			if out.Field(i).IsZero() {
				t.Errorf("%s: %s.%s is not set from crm.%s", name, out.Type(), out.Type().Field(i).Name, name)
			}
		}
		if out.NumField() != block.NumField() {
			t.Errorf("%s: config block has %d keys, %s has %d fields", name, block.NumField(), out.Type(), out.NumField())
		}
	}
}

// fillNonZero sets every field of the struct v to a non-zero value.
func fillNonZero(t *testing.T, v reflect.Value) {
	t.Helper()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int:
			f.SetInt(1)
		case reflect.Slice:
			f.Set(reflect.Append(reflect.MakeSlice(f.Type(), 0, 1), reflect.Zero(f.Type().Elem())))
		case reflect.Map:
			f.Set(reflect.MakeMapWithSize(f.Type(), 1))
			f.SetMapIndex(reflect.Zero(f.Type().Key()), reflect.Zero(f.Type().Elem()))
		default:
			t.Fatalf("fillNonZero: field %s of kind %s", v.Type().Field(i).Name, f.Kind())
		}
	}
}
