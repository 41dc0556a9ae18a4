package main

import (
	"errors"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/jobs"
)

// pipedriveConfig stands for a fourth client package's Config: yaml keys in
// the tags, a secret and a base URL marked for the config decoder.
type pipedriveConfig struct {
	Domain   string `yaml:"domain" config:"url"`
	APIToken string `yaml:"api_token" config:"secret"`
	Pipeline string `yaml:"pipeline"`
}

func (c pipedriveConfig) Validate() error {
	var es crm.OptionErrors
	if es.Required("domain", c.Domain) {
		es.URL("domain", c.Domain)
	}
	if c.APIToken == "" {
		es.Add("api_token", "required")
	}
	return es.Err()
}

// pipedriveType is the registry entry of the fourth CRM.
func pipedriveType() crmType {
	return crmType{
		title:    "Pipedrive",
		cases:    true, // its client would implement crm.CaseFetcher
		options:  func() any { return &pipedriveConfig{Pipeline: "Calls"} },
		validate: validateAs[pipedriveConfig],
		summary: func(o any) [][2]string {
			c := optionsAs[pipedriveConfig](o)
			return [][2]string{{"domain", c.Domain}, {"api_token", secretText(c.APIToken)}, {"pipeline", c.Pipeline}}
		},
		new: func(tc config.Tenant, _ crmEnv) (crm.Client, error) {
			if err := optionsOf[pipedriveConfig](tc.CRM).Validate(); err != nil {
				return nil, err
			}
			return crmtest.NewMemory(), nil
		},
		link: func(o any, id string) string { return optionsAs[pipedriveConfig](o).Domain + "/activity/" + id },
	}
}

// A fourth CRM is one entry in the registry: with nothing else changed, its
// crm.<type> block is read (${VAR} expanded, unknown keys and its own rules
// reported at their key path), summarised with the secret redacted, and
// its client built.
func TestAFourthCRMIsOneRegistryEntry(t *testing.T) {
	types := maps.Clone(crmTypes)
	types["pipedrive"] = pipedriveType()
	env := func(k string) (string, bool) { return map[string]string{"PD_TOKEN": "tok-123"}[k], k == "PD_TOKEN" }
	tenant := func(block string) string {
		return "tenants:\n  - name: acme\n    default_region: FI\n    enreach: {user: a@acme.example, secret_key: k}\n    crm:\n      type: pipedrive\n      pipedrive:\n" + block
	}

	cfg, err := config.Parse([]byte(tenant("        domain: https://acme.pipedrive.com/\n        api_token: ${PD_TOKEN}\n")), env, configTypesOf(types))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	tc := cfg.Tenants[0]
	if got := optionsOf[pipedriveConfig](tc.CRM); got != (pipedriveConfig{Domain: "https://acme.pipedrive.com", APIToken: "tok-123", Pipeline: "Calls"}) {
		t.Errorf("options = %+v", got)
	}
	if s := cfg.Summary(); strings.Contains(s, "tok-123") || !strings.Contains(s, "[redacted]") || !strings.Contains(s, "https://acme.pipedrive.com") {
		t.Errorf("summary:\n%s", s)
	}
	if _, err := types["pipedrive"].new(tc, crmEnv{}); err != nil {
		t.Errorf("new: %v", err)
	}
	if got := types["pipedrive"].link(tc.CRM.Options.Value(), "42"); got != "https://acme.pipedrive.com/activity/42" {
		t.Errorf("link = %q", got)
	}

	_, err = config.Parse([]byte(tenant("        domain: https://acme.pipedrive.com\n        api_tokn: x\n")), env, configTypesOf(types))
	var es config.Errors
	if !errors.As(err, &es) || len(es) != 2 ||
		!strings.Contains(err.Error(), `tenants[0].crm.pipedrive.api_tokn: unknown key (did you mean "api_token"?)`) ||
		!strings.Contains(err.Error(), "tenants[0].crm.pipedrive.api_token: required") {
		t.Errorf("typo: %v", err)
	}
	// The entry's capabilities drive the checks that depend on the CRM:
	// Smart Routing rules may test open Cases.
	cases := tenant("        domain: https://acme.pipedrive.com\n        api_token: t\n") +
		"    routing:\n      api_key: k\n      rules:\n        - {target: \"1000\", when: {cases: {min: 1}}}\n"
	if _, err := config.Parse([]byte(cases), env, configTypesOf(types)); err != nil {
		t.Errorf("cases rule on a type with cases: %v", err)
	}
	noCases := types["pipedrive"]
	noCases.cases = false
	types["pipedrive"] = noCases
	if _, err := config.Parse([]byte(cases), env, configTypesOf(types)); err == nil || !strings.Contains(err.Error(), "open Cases are read from Salesforce only") {
		t.Errorf("cases rule on a type without cases: %v", err)
	}
	// The registry without the entry does not know the type.
	if _, err := config.Parse([]byte(tenant("        domain: https://acme.pipedrive.com\n")), env, configTypes()); err == nil || !strings.Contains(err.Error(), `tenants[0].crm.type: invalid value "pipedrive"`) {
		t.Errorf("without the entry: %v", err)
	}
}

// A fourth CRM's reload hook is its entry's update: a reload that keeps the
// tenant's client calls it with that client and the reloaded settings; a
// reload that builds a new client does not (new had them).
func TestAFourthCRMGetsReloadedSettingsThroughItsEntry(t *testing.T) {
	type call struct {
		c       crm.Client
		subject string
	}
	var calls []call
	pd := pipedriveType()
	pd.update = func(c crm.Client, tc config.Tenant) {
		calls = append(calls, call{c, tc.PhoneCalls.IncomingDirectCallSubject})
	}
	types := maps.Clone(crmTypes)
	types["pipedrive"] = pd
	parse := func(domain, subject string) *config.Config {
		t.Helper()
		cfg, err := config.Parse([]byte("tenants:\n  - name: acme\n    default_region: FI\n    enreach: {user: a@acme.example, secret_key: k}\n"+
			"    crm:\n      type: pipedrive\n      pipedrive: {domain: "+domain+", api_token: t}\n"+
			"    phone_calls: {incoming_direct_call_subject: "+subject+"}\n"), nil, configTypesOf(types))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		return cfg
	}
	a := &app{log: slog.New(slog.DiscardHandler), registry: jobs.NewRegistry(), crms: types}
	if err := a.apply(parse("https://acme.pipedrive.com", "Call")); err != nil {
		t.Fatal(err)
	}
	first, _ := a.registry.Get("acme")
	if len(calls) != 0 {
		t.Fatalf("update called for a new client: %+v", calls)
	}

	if err := a.apply(parse("https://acme.pipedrive.com", "Puhelu")); err != nil {
		t.Fatal(err)
	}
	if kept, _ := a.registry.Get("acme"); kept != first {
		t.Fatal("a settings-only change rebuilt the tenant's clients")
	}
	if len(calls) != 1 || calls[0].c != first.CRM || calls[0].subject != "Puhelu" {
		t.Fatalf("update calls = %+v, want one with the kept client and subject Puhelu", calls)
	}

	if err := a.apply(parse("https://acme2.pipedrive.com", "Soitto")); err != nil {
		t.Fatal(err)
	}
	if rebuilt, _ := a.registry.Get("acme"); rebuilt == first || len(calls) != 1 {
		t.Fatalf("a connection change: rebuilt %v, update calls %+v", rebuilt != first, calls)
	}
}
