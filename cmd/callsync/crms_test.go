package main

import (
	"fmt"
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

// Every registry entry has each function, and every field of its client
// configuration has a yaml key, so each setting can be written in the
// crm.<type> block.
func TestRegistryEntriesComplete(t *testing.T) {
	for name, ct := range crmTypes {
		if ct.title == "" || ct.options == nil || ct.validate == nil || ct.summary == nil || ct.new == nil || ct.link == nil {
			t.Errorf("crmTypes[%q] lacks a function: %+v", name, ct)
			continue
		}
		v := reflect.ValueOf(ct.options())
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			t.Errorf("crmTypes[%q].options() is %s, want a pointer to the client's Config", name, v.Type())
			continue
		}
		st := v.Elem().Type()
		for i := range st.NumField() {
			if key, _, _ := strings.Cut(st.Field(i).Tag.Get("yaml"), ","); key == "" || key == "-" {
				t.Errorf("%s: %s.%s has no yaml key", name, st, st.Field(i).Name)
			}
		}
	}
}

// Each YAML key of a crm.<type> block reaches the client's Config: with
// every key of the block written, no field of the decoded Config is left
// zero.
func TestRegistryDecodesEveryKey(t *testing.T) {
	for name, ct := range crmTypes {
		st := reflect.ValueOf(ct.options()).Elem().Type()
		var block strings.Builder
		for i := range st.NumField() {
			key, _, _ := strings.Cut(st.Field(i).Tag.Get("yaml"), ",")
			var val string
			switch st.Field(i).Type.Kind() {
			case reflect.String:
				val = "x"
			case reflect.Bool:
				val = "true"
			case reflect.Int:
				val = "7"
			case reflect.Slice:
				val = "[x]"
			case reflect.Map:
				val = "{x: [y]}"
			default:
				t.Fatalf("%s: field %s of kind %s", name, st.Field(i).Name, st.Field(i).Type.Kind())
			}
			fmt.Fprintf(&block, "        %s: %s\n", key, val)
		}
		yaml := "tenants:\n  - name: t\n    default_region: FI\n    enreach: {user: a@b.example, secret_key: k}\n    crm:\n      type: " + name + "\n      " + name + ":\n" + block.String()
		var opts any
		types := configTypes()
		check := types[name]
		check.Validate = func(o any) error { opts = o; return nil }
		types[name] = check
		if _, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false }, types); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, yaml)
		}
		out := reflect.ValueOf(opts).Elem()
		for i := range out.NumField() {
			if out.Field(i).IsZero() {
				t.Errorf("%s: %s.%s is not set from crm.%s", name, out.Type(), out.Type().Field(i).Name, name)
			}
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
