package main

import (
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
// constructor, a sandbox double and a record link, and the registry has no
// type the config would refuse.
func TestRegistryCoversEveryCRMType(t *testing.T) {
	accepted := config.CRMTypes()
	for _, name := range accepted {
		ct, ok := crmTypes[name]
		if !ok {
			t.Errorf("crm.type %q is accepted by config but has no entry in crmTypes", name)
			continue
		}
		if ct.new == nil || ct.sandbox == nil || ct.link == nil {
			t.Errorf("crmTypes[%q] lacks a function: %+v", name, ct)
		}
	}
	if got, want := strings.Join(crmTypeNames(), ","), strings.Join(accepted, ","); got != want {
		t.Errorf("crmTypes = %s, config accepts %s", got, want)
	}
}
