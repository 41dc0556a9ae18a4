package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/zoho"
)

// env returns a lookup function over a fixed map.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

var testEnv = map[string]string{
	"CONTOSO_ENREACH_SECRET":  "enreach-secret-value-1",
	"CONTOSO_DYNAMICS_SECRET": "dynamics-secret-value-2",
	"CONTOSO_WEBHOOK_TOKEN":   "webhook-token-value-3",
	"CONTOSO_ROUTING_KEY":     "routing-key-value-4",
}

// validTenant is a minimal valid Dynamics tenant; tests append keys to it.
const validTenant = `
  - name: contoso
    default_region: FI
    enreach:
      user: api.user@contoso.example
      secret_key: ${CONTOSO_ENREACH_SECRET}
    crm:
      type: dynamics
      dynamics:
        url: https://contoso.crm4.dynamics.com
        tenant_id: t-1
        client_id: c-1
        client_secret: ${CONTOSO_DYNAMICS_SECRET}
`

func parse(t *testing.T, yaml string) (*config.Config, error) {
	t.Helper()
	return config.Parse([]byte(yaml), env(testEnv), crmTypes)
}

func mustParse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	c, err := parse(t, yaml)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestParseMinimal(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant)
	if got := c.Tenants[0].Enreach.SecretKey.Value(); got != "enreach-secret-value-1" {
		t.Errorf("secret_key = %q, want the expanded variable", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must be one line of the error, in this order
	}{
		{
			name: "invalid duration",
			yaml: "tenants:" + validTenant + "    phone_calls: {call_start_margin: 15x}\n",
			want: []string{`tenants[0].phone_calls.call_start_margin: invalid duration "15x"`},
		},
		{
			name: "bare integer is not a duration",
			yaml: "tenants:" + validTenant + "    phone_calls: {call_duration_limit: 15}\n",
			want: []string{`tenants[0].phone_calls.call_duration_limit: invalid duration "15"`},
		},
		{
			name: "unknown key in second tenant",
			yaml: "tenants:" + validTenant + strings.Replace(validTenant, "name: contoso", "name: fabrikam", 1) +
				"      typo_key: 1\n",
			want: []string{`tenants[1].crm.typo_key: unknown key`},
		},
		{
			name: "unknown key with suggestion",
			yaml: "tenants:" + validTenant + "    phone_calls: {enable_audti: false}\n",
			want: []string{`tenants[0].phone_calls.enable_audti: unknown key (did you mean "enable_audit"?)`},
		},
		{
			name: "unknown top-level key",
			yaml: "stores: {path: x}\ntenants:" + validTenant,
			want: []string{`stores: unknown key (did you mean "store"?)`},
		},
		{
			name: "missing environment variable",
			yaml: "tenants:" + strings.ReplaceAll(validTenant, "CONTOSO_ENREACH_SECRET", "CONTOSO_ENREACH_SECRET_X"),
			want: []string{`tenants[0].enreach.secret_key: environment variable CONTOSO_ENREACH_SECRET_X is not set`},
		},
		{
			name: "no tenants",
			yaml: "store: {path: x.db}\n",
			want: []string{`tenants: at least one tenant is required`},
		},
		{
			name: "empty file",
			yaml: "",
			want: []string{`tenants: at least one tenant is required`},
		},
		{
			name: "duplicate tenant names",
			yaml: "tenants:" + validTenant + validTenant,
			want: []string{`tenants[1].name: duplicate tenant name "contoso" (also tenants[0])`},
		},
		{
			name: "tenant name charset",
			yaml: "tenants:" + strings.Replace(validTenant, "name: contoso", "name: Contoso Oy", 1),
			want: []string{`tenants[0].name: invalid tenant name "Contoso Oy" (use a-z, 0-9, - and _; it appears in URLs)`},
		},
		{
			name: "missing name and region",
			yaml: "tenants:" + strings.Replace(validTenant, "name: contoso\n    default_region: FI\n", "name: \"\"\n", 1),
			want: []string{`tenants[0].name: required`, `tenants[0].default_region: required`},
		},
		{
			name: "unknown region",
			yaml: "tenants:" + strings.Replace(validTenant, "default_region: FI", "default_region: fi", 1),
			want: []string{`tenants[0].default_region: unknown region code "fi" (want an upper-case ISO 3166 code such as FI)`},
		},
		{
			name: "enreach user not an e-mail",
			yaml: "tenants:" + strings.Replace(validTenant, "user: api.user@contoso.example", "user: api.user", 1),
			want: []string{`tenants[0].enreach.user: invalid e-mail address "api.user"`},
		},
		{
			name: "enreach secret empty",
			yaml: "tenants:" + strings.Replace(validTenant, "${CONTOSO_ENREACH_SECRET}", `""`, 1),
			want: []string{`tenants[0].enreach.secret_key: required`},
		},
		{
			name: "enreach api_url http on a public host",
			yaml: "tenants:" + strings.Replace(validTenant, "user: api.user", "api_url: http://api-sedna.enreachvoice.com\n      user: api.user", 1),
			want: []string{`tenants[0].enreach.api_url: URL "http://api-sedna.enreachvoice.com" must use https`},
		},
		{
			name: "crm type",
			yaml: "tenants:" + strings.Replace(validTenant, "type: dynamics", "type: hubspot", 1),
			want: []string{`tenants[0].crm.type: invalid value "hubspot" (want dynamics | salesforce | zoho)`},
		},
		{
			name: "dynamics required keys",
			yaml: "tenants:" + strings.NewReplacer(
				"url: https://contoso.crm4.dynamics.com", "url: contoso.crm4.dynamics.com",
				"        tenant_id: t-1\n", "",
				"        client_id: c-1\n", "",
				"${CONTOSO_DYNAMICS_SECRET}", `""`,
			).Replace(validTenant),
			want: []string{
				// Missing keys are placed at their parent key: "dynamics:".
				`tenants[0].crm.dynamics.tenant_id: required`,
				`tenants[0].crm.dynamics.client_id: required`,
				`tenants[0].crm.dynamics.url: invalid URL "contoso.crm4.dynamics.com" (want https://host)`,
				`tenants[0].crm.dynamics.client_secret: required`,
			},
		},
		{
			name: "dynamics phone fields and limits",
			yaml: "tenants:" + validTenant + `        phone_fields: {contact: ["telephone 1"], opportunity: [x]}
        batch_size: 1001
        concurrency: 0
        audit_field: "Enreach Api Audit"
`,
			want: []string{
				`tenants[0].crm.dynamics.phone_fields.contact[0]: invalid column name "telephone 1"`,
				`tenants[0].crm.dynamics.phone_fields.opportunity: unknown entity (want contact, account or lead)`,
				`tenants[0].crm.dynamics.batch_size: must be between 1 and 1000`,
				`tenants[0].crm.dynamics.concurrency: must be between 1 and 52`,
				`tenants[0].crm.dynamics.audit_field: invalid column name "Enreach Api Audit" (a Phone Call column's logical name, e.g. new_enreachapiaudit)`,
			},
		},
		{
			name: "salesforce client credentials",
			yaml: "tenants:" + sfTenant("client_credentials", ""),
			want: []string{`tenants[0].crm.salesforce.client_secret: required with grant: client_credentials`},
		},
		{
			name: "salesforce jwt",
			yaml: "tenants:" + sfTenant("jwt", ""),
			want: []string{
				`tenants[0].crm.salesforce.username: required with grant: jwt`,
				`tenants[0].crm.salesforce.private_key_file: required with grant: jwt`,
			},
		},
		{
			name: "salesforce password",
			yaml: "tenants:" + sfTenant("password", "username: u@x.example\n"),
			want: []string{
				`tenants[0].crm.salesforce.password: required with grant: password`,
				`tenants[0].crm.salesforce.client_secret: required with grant: password`,
			},
		},
		{
			name: "salesforce grant and names",
			yaml: "tenants:" + sfTenant("saml", "api_version: v62\nexternal_id_field: CallId\naudit_field: Audit\n"),
			want: []string{
				`tenants[0].crm.salesforce.grant: invalid value "saml" (want client_credentials | jwt | password)`,
				`tenants[0].crm.salesforce.api_version: invalid API version "v62" (want e.g. "62.0")`,
				`tenants[0].crm.salesforce.external_id_field: invalid custom field name "CallId" (want e.g. Enreach_Call_Id__c)`,
				`tenants[0].crm.salesforce.audit_field: invalid custom field name "Audit" (want e.g. Enreach_Audit__c)`,
			},
		},
		{
			name: "zoho required keys and formats",
			yaml: "tenants:" + zohoTenant(`module: "My Calls"
        number_cleanup_regexp: "[0-9"
        search_modules: []
`),
			want: []string{
				`tenants[0].crm.zoho.client_secret: required`,
				`tenants[0].crm.zoho.refresh_token: required`,
				`tenants[0].crm.zoho.module: invalid module API name "My Calls" (want Calls or a custom module's API name)`,
				"tenants[0].crm.zoho.number_cleanup_regexp: invalid regular expression: error parsing regexp: missing closing ]: `[0-9`",
				`tenants[0].crm.zoho.search_modules: at least one module is required`,
			},
		},
		{
			name: "zoho audit field and subject time zone",
			yaml: "tenants:" + zohoTenant(`audit_field: "Enreach Audit"
        subject_time_zone: Mars/Olympus
`),
			want: []string{
				`tenants[0].crm.zoho.client_secret: required`,
				`tenants[0].crm.zoho.refresh_token: required`,
				`tenants[0].crm.zoho.audit_field: invalid field API name "Enreach Audit"`,
				`tenants[0].crm.zoho.subject_time_zone: unknown time zone "Mars/Olympus" (want an IANA name such as Europe/London)`,
			},
		},
		{
			name: "users match field needs field",
			yaml: "tenants:" + validTenant + "      users: {match: field}\n",
			want: []string{`tenants[0].crm.users.field: required`},
		},
		{
			name: "users match value",
			yaml: "tenants:" + validTenant + "      users: {match: name}\n",
			want: []string{`tenants[0].crm.users.match: invalid value "name" (want email | field)`},
		},
		{
			name: "phone_calls negative values",
			yaml: "tenants:" + validTenant + `    phone_calls:
      numbers_to_cut: -1
      call_duration_limit: -5s
      execution_interval: 0
`,
			want: []string{
				`tenants[0].phone_calls.numbers_to_cut: must not be negative`,
				`tenants[0].phone_calls.call_duration_limit: must not be negative`,
				`tenants[0].phone_calls.execution_interval: must be greater than 0`,
			},
		},
		{
			name: "recording_link without {id}",
			yaml: "tenants:" + validTenant + "    phone_calls:\n      recording_link: https://rec.example/replay\n",
			want: []string{`tenants[0].phone_calls.recording_link: must contain {id}, where the recording id goes (got "https://rec.example/replay")`},
		},
		{
			name: "recording_link not http(s)",
			yaml: "tenants:" + validTenant + "    phone_calls:\n      recording_link: ftp://rec.example/{id}\n",
			want: []string{`tenants[0].phone_calls.recording_link: must be an http(s) address with {id}, e.g. https://recordings.example.com/replay/{id} (got "ftp://rec.example/{id}")`},
		},
		{
			name: "invalid integer and boolean",
			yaml: "tenants:" + validTenant + `    phone_calls:
      numbers_to_cut: two
      enable_audit: yes
`,
			want: []string{
				`tenants[0].phone_calls.numbers_to_cut: invalid integer "two"`,
				`tenants[0].phone_calls.enable_audit: invalid boolean "yes"`,
			},
		},
		{
			name: "retroactive window and lookback",
			yaml: "tenants:" + validTenant + `    retroactive: {window: "23:30-22:00", lookback: 0s}
`,
			want: []string{
				`tenants[0].retroactive.window: start must be before end within the UTC day (got 23:30-22:00)`,
				`tenants[0].retroactive.lookback: must be greater than 0`,
			},
		},
		{
			name: "retroactive window syntax",
			yaml: "tenants:" + validTenant + `    retroactive: {window: "22:00-24:30"}
`,
			want: []string{`tenants[0].retroactive.window: invalid time window "22:00-24:30" (want HH:MM-HH:MM)`},
		},
		{
			name: "callbacks",
			yaml: "tenants:" + validTenant + `    callbacks:
      recipient_rule: owner
      profiles:
        - name: sales
          queue: q1
        - name: sales
          callback_list_id: l2
          queue: q2
          ownership_rule: agent
          duplicate_handling: merge
          sync_method: push
        - name: hooks
          callback_list_id: l3
          queue: q3
          sync_method: webhook
        - name: idle
          active: false
          age: 0s
`,
			want: []string{
				`tenants[0].callbacks.recipient_rule: invalid value "owner" (want queue | queue_owner)`,
				`tenants[0].callbacks.profiles[0].callback_list_id: required`,
				`tenants[0].callbacks.profiles[1].name: duplicate profile name "sales" (also profiles[0])`,
				`tenants[0].callbacks.profiles[1].ownership_rule: invalid value "agent" (want api_user | queue_owner)`,
				`tenants[0].callbacks.profiles[1].duplicate_handling: invalid value "merge" (want bundle | ignore)`,
				`tenants[0].callbacks.profiles[1].sync_method: invalid value "push" (want polling | webhook | webhook_and_polling)`,
				`tenants[0].callbacks.profiles[2].sync_method: webhook needs enreach.webhook_token`,
				`tenants[0].callbacks.profiles[3].age: must be greater than 0`,
			},
		},
		{
			name: "callback queue required",
			yaml: "tenants:" + validTenant + `    callbacks:
      profiles:
        - {name: sales, callback_list_id: l1}
`,
			want: []string{`tenants[0].callbacks.profiles[0].queue: required by recipient_rule: queue (Dynamics adds the request to this queue)`},
		},
		{
			name: "routing",
			yaml: "tenants:" + validTenant + `    routing:
      budget: 5s
      rules:
        - name: a
          when: {entity: opportunity}
          target: x
        - name: a
          when: {field: revenue}
          target: ""
        - name: c
          when: {entity: account, field: tier}
          target: x
        - name: d
          when: {matched: false, entity: contact}
          target: owner
        - when: {equals: gold, bnum: "abc"}
          target: x
`,
			want: []string{
				`tenants[0].routing.api_key: required when routing rules are set`,
				`tenants[0].routing.budget: must be greater than 0 and at most 4.5s (Enreach waits 5s)`,
				`tenants[0].routing.rules[0].when.entity: invalid value "opportunity" (want contact | account | lead)`,
				`tenants[0].routing.rules[1].name: duplicate rule name "a" (also rules[0])`,
				`tenants[0].routing.rules[1].when.entity: required with field`,
				`tenants[0].routing.rules[1].target: required`,
				`tenants[0].routing.rules[2].when.equals: required with field`,
				`tenants[0].routing.rules[3].when.matched: matched: false contradicts entity: contact`,
				`tenants[0].routing.rules[3].target: owner needs a matched record, but the rule has matched: false`,
				`tenants[0].routing.rules[4].when.field: required with equals`,
				`tenants[0].routing.rules[4].when.bnum: invalid phone number "abc"`,
			},
		},
		{
			name: "routing cases",
			yaml: "tenants:" + validTenant + `    routing:
      api_key: k
      rules:
        - when: {cases: {min: -1}}
          target: x
        - when: {matched: false, cases: {}}
          target: x
        - when: {entity: lead, cases: {priority: High}}
          target: owner
`,
			want: []string{
				`tenants[0].routing.rules[0].when.cases: open Cases are read from Salesforce only (crm.type is "dynamics")`,
				`tenants[0].routing.rules[0].when.cases.min: must be 0 or more`,
				`tenants[0].routing.rules[1].when.matched: matched: false contradicts cases`,
				`tenants[0].routing.rules[1].when.cases: open Cases are read from Salesforce only (crm.type is "dynamics")`,
				`tenants[0].routing.rules[2].when.entity: leads have no Cases (use contact or account with cases)`,
				`tenants[0].routing.rules[2].when.cases: open Cases are read from Salesforce only (crm.type is "dynamics")`,
			},
		},
		{
			name: "wrong node kinds",
			yaml: "tenants:" + validTenant + `    phone_calls: yes
    internal_numbers: "+358201234567"
    callbacks: {profiles: [~]}
`,
			want: []string{
				`tenants[0].phone_calls: expected a mapping, got a value`,
				`tenants[0].internal_numbers: expected a list, got a value`,
				`tenants[0].callbacks.profiles[0]: empty list item`,
			},
		},
		{
			name: "duplicate key",
			yaml: "tenants:" + validTenant + "    default_region: SE\n",
			want: []string{`tenants[0].default_region: duplicate key`},
		},
		{
			name: "top-level values",
			yaml: "http: {listen: localhost}\nlog: {format: xml, level: trace}\ntenants:" + validTenant,
			want: []string{
				`http.listen: invalid address "localhost" (want host:port)`,
				`log.format: invalid value "xml" (want text | json)`,
				`log.level: invalid value "trace" (want debug | info | warn | error)`,
			},
		},
		{
			name: "internal number",
			yaml: "tenants:" + validTenant + "    internal_numbers: [\"+358201234567\", \"n/a\"]\n",
			want: []string{`tenants[0].internal_numbers[1]: invalid phone number "n/a"`},
		},
		{
			name: "more than one document",
			yaml: "tenants:" + validTenant + "---\nstore: {path: x}\n",
			want: []string{`the file holds more than one YAML document`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.yaml)
			if err == nil {
				t.Fatalf("Parse succeeded, want errors:\n%s", strings.Join(tt.want, "\n"))
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
			var es config.Errors
			if !errors.As(err, &es) || len(es) != len(tt.want) {
				t.Errorf("errors.As(Errors) = %d errors, want %d", len(es), len(tt.want))
			}
		})
	}
}

func sfTenant(grant, extra string) string {
	s := `
  - name: fabrikam
    default_region: SE
    enreach: {user: u@fabrikam.example, secret_key: s}
    crm:
      type: salesforce
      salesforce:
        login_url: https://fabrikam.my.salesforce.com
        client_id: id
        grant: ` + grant + "\n"
	for _, l := range strings.Split(strings.TrimSpace(extra), "\n") {
		if l != "" {
			s += "        " + l + "\n"
		}
	}
	return s
}

func zohoTenant(extra string) string {
	return `
  - name: northwind
    default_region: GB
    enreach: {user: u@northwind.example, secret_key: s}
    crm:
      type: zoho
      zoho:
        accounts_url: https://accounts.zoho.eu
        client_id: id
        ` + extra
}

func TestParseYAMLSyntaxError(t *testing.T) {
	_, err := parse(t, "tenants: [\n")
	if err == nil || !strings.Contains(err.Error(), "parse yaml:") {
		t.Fatalf("err = %v, want a YAML syntax error", err)
	}
}

// A decode error is reported once: the validation error it causes on the
// same key (here "required" for the unexpanded secret) is not repeated.
func TestDecodeErrorHidesFollowOnValidation(t *testing.T) {
	_, err := parse(t, "tenants:"+strings.ReplaceAll(validTenant, "CONTOSO_DYNAMICS_SECRET", "NOPE"))
	want := "tenants[0].crm.dynamics.client_secret: environment variable NOPE is not set"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want exactly %q", err, want)
	}
}

// All errors of a file are reported, sorted by their position in the file,
// whether they come from decoding or from validation.
func TestErrorsSortedByPosition(t *testing.T) {
	yaml := `log: {level: loud}
tenants:
  - name: a
    default_region: FI
    enreach: {user: a@x.example}
    crm: {type: dynamics, dynamics: {url: https://a.crm.dynamics.com, tenant_id: t, client_id: c, client_secret: s}}
    phone_calls: {call_start_margin: 15x}
  - name: b
    default_region: ZZ
    enreach: {user: b@x.example, secret_key: "${MISSING}"}
    crm: {type: zoho, zoho: {accounts_url: https://accounts.zoho.com, client_id: c, client_secret: s, refresh_token: r, bogus: 1}}
`
	_, err := parse(t, yaml)
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v, want Errors", err)
	}
	want := []struct {
		line int
		text string
	}{
		{1, `log.level: invalid value "loud" (want debug | info | warn | error)`},
		{5, `tenants[0].enreach.secret_key: required`},
		{7, `tenants[0].phone_calls.call_start_margin: invalid duration "15x"`},
		{9, `tenants[1].default_region: unknown region code "ZZ" (want an upper-case ISO 3166 code such as FI)`},
		{10, `tenants[1].enreach.secret_key: environment variable MISSING is not set`},
		{11, `tenants[1].crm.zoho.bogus: unknown key`},
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors:\n%v\nwant %d", len(es), err, len(want))
	}
	for i, w := range want {
		if es[i].Error() != w.text || es[i].Line != w.line {
			t.Errorf("error %d = line %d %q, want line %d %q", i, es[i].Line, es[i].Error(), w.line, w.text)
		}
	}
}

func TestEnvExpansion(t *testing.T) {
	vars := map[string]string{
		"CONTOSO_ENREACH_SECRET":  "p@$$w0rd}",
		"CONTOSO_DYNAMICS_SECRET": "d",
		"MARGIN":                  "30s",
		"REGION":                  "SE",
		"HOST":                    "contoso",
		"AUDIT":                   "false",
		"EMPTY":                   "",
	}
	yaml := `tenants:` + strings.NewReplacer(
		"default_region: FI", "default_region: ${REGION}",
		"url: https://contoso.crm4", "url: https://${HOST}.crm4",
	).Replace(validTenant) + `    phone_calls:
      call_start_margin: ${MARGIN}
      enable_audit: ${AUDIT}
      default_crm_assignee: "${EMPTY}"
      incoming_direct_call_subject: "Costs $$5, $HOME and ${HOST}$"
    crm_note_not_a_key: x
`
	// The unknown key proves keys are not expanded nor ignored; remove it
	// for the success case.
	_, err := config.Parse([]byte(yaml), env(vars), crmTypes)
	if err == nil || !strings.Contains(err.Error(), "tenants[0].crm_note_not_a_key: unknown key") {
		t.Fatalf("err = %v, want the unknown key", err)
	}
	yaml = strings.Replace(yaml, "    crm_note_not_a_key: x\n", "", 1)
	c, err := config.Parse([]byte(yaml), env(vars), crmTypes)
	if err != nil {
		t.Fatal(err)
	}
	tn := c.Tenants[0]
	checks := []struct{ name, got, want string }{
		{"secret", tn.Enreach.SecretKey.Value(), "p@$$w0rd}"}, // values are not re-expanded
		{"region", tn.DefaultRegion, "SE"},
		{"url", dyn(tn).URL, "https://contoso.crm4.dynamics.com"},
		{"margin", tn.PhoneCalls.CallStartMargin.String(), "30s"},
		{"audit", fmt.Sprint(tn.PhoneCalls.EnableAudit), "false"},
		{"empty", tn.PhoneCalls.DefaultCRMAssignee, ""},
		{"dollars", tn.PhoneCalls.IncomingDirectCallSubject, "Costs $5, $HOME and contoso$"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}

	bad := []struct{ value, want string }{
		{"${UNSET}", "environment variable UNSET is not set"},
		{"${OPEN", "unterminated ${ in value"},
		{"${1BAD}", `invalid environment variable name "1BAD"`},
	}
	for _, b := range bad {
		y := "tenants:" + validTenant + "    phone_calls: {default_crm_assignee: \"" + b.value + "\"}\n"
		_, err := config.Parse([]byte(y), env(testEnv), crmTypes)
		want := "tenants[0].phone_calls.default_crm_assignee: " + b.want
		if err == nil || err.Error() != want {
			t.Errorf("%s: err = %v, want %q", b.value, err, want)
		}
	}
}

func TestEnvDefaultsToProcessEnvironment(t *testing.T) {
	t.Setenv("CONTOSO_ENREACH_SECRET", "from-os")
	t.Setenv("CONTOSO_DYNAMICS_SECRET", "from-os-2")
	c, err := config.Parse([]byte("tenants:"+validTenant), nil, crmTypes)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tenants[0].Enreach.SecretKey.Value() != "from-os" {
		t.Errorf("secret_key = %q", c.Tenants[0].Enreach.SecretKey.Value())
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant+strings.Replace(sfTenant("client_credentials", "client_secret: s"), "fabrikam", "second", 1))
	if c.Store.Path != "callsync.db" || c.HTTP.Listen != "127.0.0.1:8080" || c.Log.Format != "text" || c.Log.Level != "info" {
		t.Errorf("top-level defaults: %+v %+v %+v", c.Store, c.HTTP, c.Log)
	}
	tn := c.Tenants[0]
	want := config.PhoneCalls{
		CallStartMargin:              config.Duration(15 * time.Second),
		EnableAudit:                  true,
		EnableMultipleMatchCreate:    true,
		MultipleMatchPhoneCallStatus: 1,
		ExecutionInterval:            config.Duration(2 * time.Hour),
		IncomingDirectCallSubject:    "Incoming direct call",
		IncomingQueueCallSubject:     "Incoming queue call",
		OutgoingDirectCallSubject:    "Outgoing direct call",
		ProcessDirectCalls:           true,
	}
	if tn.PhoneCalls != want {
		t.Errorf("phone_calls = %+v\nwant %+v", tn.PhoneCalls, want)
	}
	wantRetro := config.Retroactive{Enabled: true, Window: config.Clock{Start: 22 * time.Hour, End: 23*time.Hour + 30*time.Minute}, Lookback: config.Duration(24 * time.Hour)}
	if tn.Retroactive != wantRetro {
		t.Errorf("retroactive = %+v, want %+v", tn.Retroactive, wantRetro)
	}
	d := dyn(tn)
	if d.AuthorityURL != "https://login.microsoftonline.com" || d.BatchSize != 100 || d.Concurrency != 52 {
		t.Errorf("dynamics defaults = %+v", d)
	}
	wantFields := map[string][]string{
		"contact": {"telephone1", "telephone2", "mobilephone"},
		"account": {"telephone1", "telephone2"},
		"lead":    {"telephone1", "telephone2", "mobilephone"},
	}
	if !reflect.DeepEqual(d.PhoneFields, wantFields) {
		t.Errorf("phone_fields = %v", d.PhoneFields)
	}
	if tn.CRM.Users.Match != "email" {
		t.Errorf("users.match = %q", tn.CRM.Users.Match)
	}
	if cb := tn.Callbacks; cb.DefaultSubject != "Callback request" || cb.RecipientRule != "queue" {
		t.Errorf("callbacks = %+v", cb)
	}
	if r := tn.Routing; r.Budget.D() != 1500*time.Millisecond || r.CacheTTL.D() != 10*time.Minute {
		t.Errorf("routing = %+v", r)
	}
	sf := sf(c.Tenants[1])
	if sf.Grant != "client_credentials" || sf.APIVersion != "62.0" || sf.ExternalIDField != "Enreach_Call_Id__c" {
		t.Errorf("salesforce defaults = %+v", sf)
	}
	z := zoho.DefaultConfig()
	if z.Module != "Calls" || !z.RecordIncoming || !z.RecordOutgoing || !reflect.DeepEqual(z.SearchModules, []string{"Contacts", "Accounts", "Leads"}) {
		t.Errorf("zoho defaults = %+v", z)
	}

	// Each tenant owns its default map: changing one leaves the other alone.
	dyn(c.Tenants[0]).PhoneFields["contact"] = nil
	if dynamics.DefaultConfig().PhoneFields["contact"] == nil {
		t.Error("tenants share the default phone_fields map")
	}
}

// A default of true must not swallow an explicit false; null keeps the default.
func TestDefaultsExplicitFalse(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant+`    phone_calls:
      enable_audit: false
      enable_multiple_match_create: false
      process_direct_calls: false
      incoming_queue_call_subject: ""
      call_start_margin: 0
      outgoing_direct_call_subject:
    retroactive: {enabled: false}
    callbacks:
      profiles:
        - {name: off, active: false}
        - {name: on, callback_list_id: l, queue: q}
`+zohoTenant(`client_secret: s
        refresh_token: r
        record_incoming: false
        module: ""
`))
	pc := c.Tenants[0].PhoneCalls
	if pc.EnableAudit || pc.EnableMultipleMatchCreate || pc.ProcessDirectCalls || pc.IncomingQueueCallSubject != "" || pc.CallStartMargin != 0 {
		t.Errorf("explicit values lost: %+v", pc)
	}
	if pc.OutgoingDirectCallSubject != "Outgoing direct call" {
		t.Errorf("null value replaced the default: %q", pc.OutgoingDirectCallSubject)
	}
	if c.Tenants[0].Retroactive.Enabled {
		t.Error("retroactive.enabled: explicit false lost")
	}
	if c.Tenants[0].Retroactive.Lookback.D() != 24*time.Hour {
		t.Error("retroactive.lookback default lost when the mapping sets another key")
	}
	ps := c.Tenants[0].Callbacks.Profiles
	if ps[0].Active || !ps[1].Active {
		t.Errorf("profile active = %v, %v; want false, true", ps[0].Active, ps[1].Active)
	}
	for _, p := range ps {
		if p.OwnershipRule != "api_user" || p.DuplicateHandling != "bundle" || p.SyncMethod != "polling" || p.Age.D() != time.Hour {
			t.Errorf("profile %s defaults = %+v", p.Name, p)
		}
	}
	z := zo(c.Tenants[1])
	if z.RecordIncoming || !z.RecordOutgoing || z.Module != "" {
		t.Errorf("zoho = %+v", z)
	}
}

func TestPhoneFieldsMergeWithDefaults(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant+"        phone_fields: {contact: [mobilephone], lead: []}\n")
	got := dyn(c.Tenants[0]).PhoneFields
	want := map[string][]string{
		"contact": {"mobilephone"},
		"account": {"telephone1", "telephone2"},
		"lead":    {},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("phone_fields = %v, want %v", got, want)
	}
}

func TestRoutingMatchedPointer(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant+`    routing:
      api_key: k
      rules:
        - {when: {matched: true}, target: owner}
        - {when: {matched: false}, target: "+358401234567"}
        - {when: {bnum: "+358201234567"}, target: "DISCONNECT:"}
`)
	r := c.Tenants[0].Routing.Rules
	if r[0].When.Matched == nil || !*r[0].When.Matched || r[1].When.Matched == nil || *r[1].When.Matched || r[2].When.Matched != nil {
		t.Errorf("matched = %v %v %v", r[0].When.Matched, r[1].When.Matched, r[2].When.Matched)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	c := mustParse(t, `x-common: &calls
  call_start_margin: 30s
  enable_audit: false
tenants:`+validTenant+`    phone_calls:
      <<: *calls
      enable_audit: true
`+strings.Replace(validTenant, "name: contoso", "name: second", 1)+`    phone_calls: *calls
`)
	a, b := c.Tenants[0].PhoneCalls, c.Tenants[1].PhoneCalls
	if a.CallStartMargin.D() != 30*time.Second || !a.EnableAudit {
		t.Errorf("merged tenant: margin %s audit %v; want 30s true", a.CallStartMargin, a.EnableAudit)
	}
	if b.CallStartMargin.D() != 30*time.Second || b.EnableAudit {
		t.Errorf("aliased tenant: margin %s audit %v; want 30s false", b.CallStartMargin, b.EnableAudit)
	}
}

func TestExampleFileValidates(t *testing.T) {
	vars := map[string]string{}
	data, err := os.ReadFile(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"CONTOSO_ENREACH_SECRET", "CONTOSO_WEBHOOK_TOKEN", "CONTOSO_DYNAMICS_SECRET", "CONTOSO_ROUTING_KEY",
		"FABRIKAM_ENREACH_SECRET", "FABRIKAM_SF_SECRET", "FABRIKAM_ROUTING_KEY",
		"NORTHWIND_ENREACH_SECRET", "NORTHWIND_ZOHO_SECRET", "NORTHWIND_ZOHO_REFRESH_TOKEN",
	} {
		if !strings.Contains(string(data), "${"+name+"}") {
			t.Errorf("example does not use ${%s}", name)
		}
		vars[name] = "fake-" + strings.ToLower(name)
	}
	c, err := config.Load(filepath.Join("..", "config.example.yaml"), env(vars), crmTypes)
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if got := strings.Join(c.TenantNames(), ","); got != "contoso,fabrikam,northwind" {
		t.Errorf("tenants = %s", got)
	}
	types := map[string]bool{}
	for _, tn := range c.Tenants {
		types[tn.CRM.Type] = true
	}
	if len(types) != 3 {
		t.Errorf("the example should show each CRM type, got %v", types)
	}
	contoso, _ := c.Tenant("contoso")
	if len(contoso.Callbacks.Profiles) == 0 || len(contoso.Routing.Rules) != 3 || contoso.Enreach.WebhookToken.Value() != "fake-contoso_webhook_token" {
		t.Errorf("contoso callbacks/routing not loaded: %+v", contoso)
	}
	// Every key of the contract appears in the example file.
	for _, key := range contractKeys {
		if !strings.Contains(string(data), key+":") {
			t.Errorf("example lacks key %s", key)
		}
	}
}

// contractKeys are the keys the issues list as contract.
var contractKeys = []string{
	"store", "path", "http", "listen", "tenants", "name", "default_region", "enreach", "api_url", "user",
	"secret_key", "webhook_token", "crm", "type", "users", "match", "overrides",
	"call_duration_limit", "call_start_margin", "default_crm_assignee", "enable_audit",
	"enable_multiple_match_create", "multiple_match_phone_call_status", "multiple_matches_pick_first",
	"execution_interval", "incoming_direct_call_subject", "incoming_queue_call_subject",
	"outgoing_direct_call_subject", "numbers_to_cut", "process_direct_calls", "process_service_calls",
	"process_service_calls_unanswered", "run_in_debug_mode", "retroactive", "enabled", "window", "lookback",
	"dynamics", "url", "authority_url", "tenant_id", "client_id", "client_secret", "phone_fields",
	"salesforce", "login_url", "grant", "username", "password", "security_token", "private_key_file",
	"api_version", "external_id_field", "audit_field", "zoho", "accounts_url", "api_domain", "refresh_token", "module",
	"record_incoming", "record_outgoing", "user_id_field", "number_cleanup_regexp", "search_modules",
	"call_id_field", "callbacks", "default_subject", "recipient_rule", "profiles", "callback_list_id",
	"queue", "ownership_rule", "subject", "duplicate_handling", "sync_method", "age", "active",
	"routing", "api_key", "budget", "cache_ttl", "rules", "when", "entity", "field", "equals",
	"matched", "bnum", "cases", "min", "priority", "owner", "target", "fail_target",
}

func TestLoadWrapsFileName(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(p, []byte("tenants:"+validTenant+"    phone_calls: {call_start_margin: 15x, numbers_to_cut: -2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(p, env(testEnv), crmTypes)
	want := "config " + p + ": 2 problems:\n" +
		`tenants[0].phone_calls.call_start_margin: invalid duration "15x"` + "\n" +
		`tenants[0].phone_calls.numbers_to_cut: must not be negative`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Path != "tenants[0].phone_calls.call_start_margin" || fe.Line == 0 {
		t.Errorf("errors.As(*FieldError) = %+v", fe)
	}
	if _, err := config.Load(filepath.Join(dir, "missing.yaml"), nil, crmTypes); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
}

func TestTenantLookup(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant+strings.Replace(validTenant, "name: contoso", "name: other", 1)+`    callbacks:
      profiles:
        - {name: sales, callback_list_id: l1, queue: q, subject: Call them}
        - {name: old, active: false, sync_method: webhook}
`)
	tn, ok := c.Tenant("other")
	if !ok || tn.Name != "other" {
		t.Fatalf("Tenant(other) = %v, %v", tn, ok)
	}
	tn.PhoneCalls.NumbersToCut = 3 // a pointer into the Config
	if c.Tenants[1].PhoneCalls.NumbersToCut != 3 {
		t.Error("Tenant does not return a pointer into the config")
	}
	if _, ok := c.Tenant("nobody"); ok {
		t.Error("Tenant(nobody) found")
	}
	if p, ok := tn.Profile("sales"); !ok || tn.Callbacks.Subject(*p) != "Call them" || !p.Polls() || p.TakesWebhooks() {
		t.Errorf("Profile(sales) = %+v, %v", p, ok)
	}
	if p, _ := tn.Profile("old"); tn.Callbacks.Subject(*p) != "Callback request" || p.Polls() || !p.TakesWebhooks() {
		t.Errorf("Profile(old) = %+v", p)
	}
	if a := tn.ActiveProfiles(); len(a) != 1 || a[0].Name != "sales" {
		t.Errorf("ActiveProfiles = %+v", a)
	}
}

func TestURLsLoseTrailingSlash(t *testing.T) {
	c := mustParse(t, "tenants:"+strings.Replace(validTenant, "dynamics.com", "dynamics.com/", 1))
	if got := dyn(c.Tenants[0]).URL; got != "https://contoso.crm4.dynamics.com" {
		t.Errorf("url = %q", got)
	}
}

func TestLoopbackHTTPAllowed(t *testing.T) {
	c := mustParse(t, "tenants:"+strings.NewReplacer(
		"url: https://contoso.crm4.dynamics.com", "url: http://127.0.0.1:4567\n        authority_url: http://localhost:4568",
		"user: api.user", "api_url: http://[::1]:9999\n      user: api.user",
	).Replace(validTenant))
	if dyn(c.Tenants[0]).URL != "http://127.0.0.1:4567" {
		t.Errorf("url = %q", dyn(c.Tenants[0]).URL)
	}
}

// fullSecrets is a config with every secret set to a distinctive value.
const fullSecrets = `tenants:
  - name: contoso
    default_region: FI
    enreach: {user: a@contoso.example, secret_key: SECRET-enreach, webhook_token: SECRET-webhook}
    crm:
      type: dynamics
      dynamics: {url: https://c.crm4.dynamics.com, tenant_id: t, client_id: c, client_secret: SECRET-dynamics}
      salesforce: {client_secret: SECRET-sf, password: SECRET-sfpass, security_token: SECRET-sftoken}
      zoho: {client_secret: SECRET-zoho, refresh_token: SECRET-zrefresh}
    routing: {api_key: SECRET-routing}
  - name: fabrikam
    default_region: SE
    enreach: {user: b@fabrikam.example, secret_key: SECRET-enreach2}
    crm:
      type: salesforce
      salesforce: {login_url: https://f.my.salesforce.com, grant: password, client_id: c, client_secret: SECRET-sf2, username: u@f.example, password: SECRET-sfpass2, security_token: SECRET-sftoken2}
  - name: northwind
    default_region: GB
    enreach: {user: c@northwind.example, secret_key: SECRET-enreach3}
    crm:
      type: zoho
      zoho: {accounts_url: https://accounts.zoho.eu, client_id: c, client_secret: SECRET-zoho3, refresh_token: SECRET-zrefresh3}
`

func TestRedaction(t *testing.T) {
	c := mustParse(t, fullSecrets)
	if c.Tenants[0].Enreach.SecretKey.Value() != "SECRET-enreach" {
		t.Fatal("secret not loaded")
	}
	var js, txt bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("config", "config", c, "tenant", c.Tenants[0])
	slog.New(slog.NewTextHandler(&txt, nil)).Info("config", "config", c, "tenant", c.Tenants[0])
	marshalled, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"Summary":     c.Summary(),
		"%v":          fmt.Sprintf("%v", c),
		"%+v":         fmt.Sprintf("%+v", *c),
		"%#v":         fmt.Sprintf("%#v", *c),
		"Sprintln":    fmt.Sprintln(c.Tenants),
		"Sprint CRM":  fmt.Sprint(c.Tenants[0].CRM),
		"slog JSON":   js.String(),
		"slog text":   txt.String(),
		"json":        string(marshalled),
		"Errors text": errorsText(t),
	}
	for name, out := range outputs {
		if strings.Contains(out, "SECRET-") {
			t.Errorf("%s shows a secret:\n%s", name, out)
		}
	}
	for _, name := range []string{"Summary", "slog JSON", "%+v"} {
		if !strings.Contains(outputs[name], "[redacted]") {
			t.Errorf("%s lacks the redaction marker:\n%s", name, outputs[name])
		}
	}
	// The JSON log still shows the readable non-secret values.
	if !strings.Contains(js.String(), `"call_start_margin":"15s"`) && !strings.Contains(js.String(), `"CallStartMargin":"15s"`) {
		t.Errorf("slog JSON lacks readable durations: %s", js.String())
	}
}

// errorsText shows that an error on a secret key names the key, not the value.
func errorsText(t *testing.T) string {
	bad := strings.Replace(fullSecrets, "client_secret: SECRET-dynamics", "client_secret: [SECRET-dynamics]", 1)
	_, err := config.Parse([]byte(bad), nil, crmTypes)
	want := "tenants[0].crm.dynamics.client_secret: expected a string, got a list"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	return err.Error()
}

func TestSummary(t *testing.T) {
	vars := map[string]string{}
	for _, k := range []string{"CONTOSO_ENREACH_SECRET", "CONTOSO_WEBHOOK_TOKEN", "CONTOSO_DYNAMICS_SECRET", "CONTOSO_ROUTING_KEY",
		"FABRIKAM_ENREACH_SECRET", "FABRIKAM_SF_SECRET", "FABRIKAM_ROUTING_KEY", "NORTHWIND_ENREACH_SECRET", "NORTHWIND_ZOHO_SECRET", "NORTHWIND_ZOHO_REFRESH_TOKEN"} {
		vars[k] = "value-of-" + k
	}
	c, err := config.Load(filepath.Join("..", "config.example.yaml"), env(vars), crmTypes)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Summary()
	for k, v := range vars {
		if strings.Contains(s, v) {
			t.Errorf("summary shows %s", k)
		}
	}
	for _, want := range []string{
		"tenant contoso", "tenant fabrikam", "tenant northwind",
		"default_region:", "FI",
		"user:", "api.user@contoso.example",
		"api_url:", "(discovered from user)",
		"secret_key:", "[redacted]",
		"type:", "dynamics", "salesforce", "zoho",
		"https://contoso.crm4.dynamics.com", "https://fabrikam.my.salesforce.com", "https://accounts.zoho.eu",
		"call_start_margin:", "15s", "execution_interval:", "2h",
		"retroactive:", "22:00-23:30 UTC", "lookback:", "24h",
		"- sales:", "sync_method webhook_and_polling",
		"rules:", "- account-manager:", "when matched true -> owner, fail +358409999999",
		"webhook_token:", "(not set)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	var buf bytes.Buffer
	if err := c.WriteSummary(&buf); err != nil || buf.String() != s {
		t.Errorf("WriteSummary differs from Summary (err %v)", err)
	}
}

func TestDurationAndClockText(t *testing.T) {
	for in, want := range map[string]string{"0": "0s", "0s": "0s", "15s": "15s", "120m": "2h", "90m": "1h30m", "1.5s": "1.5s", "24h": "24h", "2h0m5s": "2h0m5s", "48h": "2d", "14d": "14d", "336h": "14d", "2160h": "90d", "49h": "49h"} {
		d, err := config.ParseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, d, err, want)
		}
		back, err := config.ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("round trip of %s = %s, %v", d, back, err)
		}
	}
	for in, want := range map[string]time.Duration{"2d": 48 * time.Hour, "1d12h": 36 * time.Hour, " 14d ": 14 * 24 * time.Hour} {
		if d, err := config.ParseDuration(in); err != nil || d.D() != want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", in, d, err, want)
		}
	}
	for _, bad := range []string{"", "15", "15x", "1 hour", "d", "-1d", "1.5d", "2dx"} {
		if _, err := config.ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
	for in, want := range map[string]config.Clock{
		"22:00-23:30":     {Start: 22 * time.Hour, End: 23*time.Hour + 30*time.Minute},
		"00:00-24:00":     {Start: 0, End: 24 * time.Hour},
		" 01:05 - 02:10 ": {Start: time.Hour + 5*time.Minute, End: 2*time.Hour + 10*time.Minute},
	} {
		c, err := config.ParseClock(in)
		if err != nil || c != want {
			t.Errorf("ParseClock(%q) = %v, %v; want %v", in, c, err, want)
		}
	}
	for _, bad := range []string{"22:00", "22-23", "24:00-24:00", "22:60-23:00", "2:00-3:00", "aa:bb-cc:dd", "22:00-23:30-01:00"} {
		if _, err := config.ParseClock(bad); err == nil {
			t.Errorf("ParseClock(%q) succeeded", bad)
		}
	}
	c := config.Clock{Start: 22 * time.Hour, End: 23*time.Hour + 30*time.Minute}
	start, end := c.On(time.Date(2026, 3, 4, 15, 0, 0, 0, time.FixedZone("EET", 2*3600)))
	if !start.Equal(time.Date(2026, 3, 4, 22, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2026, 3, 4, 23, 30, 0, 0, time.UTC)) || c.Length() != 90*time.Minute {
		t.Errorf("On = %s..%s, Length %s", start, end, c.Length())
	}
}

// Validate works on a Config built in code (the sandbox does this), and its
// errors name the key path without a file position.
func TestValidateProgrammatic(t *testing.T) {
	c := config.Defaults()
	tn := config.DefaultTenant()
	tn.Name = "sandbox"
	tn.DefaultRegion = "FI"
	tn.Enreach = config.Enreach{APIURL: "http://127.0.0.1:1234", User: "api@sandbox.example", SecretKey: "k"}
	tn.CRM.Type = "dynamics"
	d := dynamics.DefaultConfig()
	d.URL, d.TenantID, d.ClientID, d.ClientSecret = "http://127.0.0.1:5678", "t", "c", "s"
	tn.CRM.Options = config.NewCRMOptions(&d)
	p := config.DefaultProfile()
	p.Name, p.CallbackListID, p.Queue = "sales", "l", "q"
	tn.Callbacks.Profiles = []config.Profile{p}
	c.Tenants = []config.Tenant{tn}
	if err := c.Validate(crmTypes); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c.Tenants[0].Callbacks.Profiles[0].SyncMethod = config.SyncWebhook
	c.Tenants[0].Routing.Budget = 0
	err := c.Validate(crmTypes)
	var es config.Errors
	if !errors.As(err, &es) || len(es) != 2 ||
		es[0].Error() != "tenants[0].callbacks.profiles[0].sync_method: webhook needs enreach.webhook_token" ||
		es[1].Error() != "tenants[0].routing.budget: must be greater than 0 and at most 4.5s (Enreach waits 5s)" ||
		es[0].Line != 0 {
		t.Errorf("Validate = %v", err)
	}
}

// The admin listener (/metrics, /healthz detail, status page) is loopback by
// default; elsewhere it needs a bearer token.
func TestAdminListen(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant)
	if c.HTTP.AdminListen != "127.0.0.1:9091" {
		t.Errorf("default admin_listen %q, want 127.0.0.1:9091", c.HTTP.AdminListen)
	}
	for _, tc := range []struct{ http, want string }{
		{"http: {admin_listen: '0.0.0.0:9091'}\n", "http.admin_listen: \"0.0.0.0:9091\" is not a loopback address: set http.admin_token"},
		{"http: {admin_listen: ':9091'}\n", "http.admin_listen"},
		{"http: {admin_listen: 'nope'}\n", "http.admin_listen: invalid address"},
		{"http: {listen: '127.0.0.1:9000', admin_listen: '127.0.0.1:9000'}\n", "must differ from http.listen"},
		{"http: {admin_listen: '0.0.0.0:9091', admin_token: tok}\n", ""},
		{"http: {admin_listen: '[::1]:9091'}\n", ""},
	} {
		_, err := parse(t, tc.http+"tenants:"+validTenant)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: err = %v, want %q", strings.TrimSpace(tc.http), err, tc.want)
		}
	}
}
