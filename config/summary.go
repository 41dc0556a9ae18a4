package config

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Summary returns the redacted, human-readable summary printed by
// `callsync config check`. No secret value appears in it.
func (c *Config) Summary() string {
	var b bytes.Buffer
	_ = c.WriteSummary(&b) // a bytes.Buffer does not fail
	return b.String()
}

// WriteSummary writes the summary of Summary to w.
func (c *Config) WriteSummary(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	s := &summary{w: tw}
	s.line(0, "store.driver", c.Store.Driver)
	if c.Store.Driver == DriverPostgres {
		s.line(0, "store.url", c.Store.URL.String())
	} else {
		s.line(0, "store.path", c.Store.Path)
	}
	s.line(0, "http.listen", c.HTTP.Listen)
	admin := c.HTTP.AdminListen
	if admin == "" {
		admin = "(off)"
	}
	if c.HTTP.AdminToken.IsSet() {
		admin += ", token " + c.HTTP.AdminToken.String()
	}
	s.line(0, "http.admin_listen", admin)
	if c.HTTP.StatusPageOn() {
		page := "on, open"
		if c.HTTP.StatusToken.IsSet() {
			page = "on, token " + c.HTTP.StatusToken.String()
		}
		s.line(0, "http.status_page", page)
	}
	s.line(0, "log", c.Log.Format+", "+c.Log.Level)
	s.line(0, "purge", fmt.Sprintf("daily at %s UTC, retention %s, ledger_retention %s", c.Purge.RunAt, c.Purge.Retention, c.Purge.LedgerRetention))
	s.line(0, "tenants", fmt.Sprint(len(c.Tenants)))
	for i := range c.Tenants {
		s.tenant(&c.Tenants[i])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("config: write summary: %w", err)
	}
	return nil
}

type summary struct{ w io.Writer }

func (s *summary) line(indent int, key, value string) {
	fmt.Fprintf(s.w, "%s%s:\t%s\n", strings.Repeat("  ", indent), key, value)
}

func (s *summary) head(indent int, text string) {
	fmt.Fprintf(s.w, "%s%s\n", strings.Repeat("  ", indent), text)
}

// secret shows whether a secret is set, never its value.
func secret(v Secret) string {
	if v.IsSet() {
		return redacted
	}
	return "(not set)"
}

func orText(v, empty string) string {
	if v == "" {
		return empty
	}
	return v
}

func onOff(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (s *summary) tenant(t *Tenant) {
	fmt.Fprintf(s.w, "\ntenant %s\n", t.Name)
	s.line(1, "default_region", t.DefaultRegion)
	s.head(1, "enreach:")
	s.line(2, "user", t.Enreach.User)
	s.line(2, "api_url", orText(t.Enreach.APIURL, "(discovered from user)"))
	if t.Enreach.DiscoveryURL != "" {
		s.line(2, "discovery_url", t.Enreach.DiscoveryURL)
	}
	s.line(2, "secret_key", secret(t.Enreach.SecretKey))
	s.line(2, "webhook_token", secret(t.Enreach.WebhookToken))
	if len(t.InternalNumbers) > 0 {
		s.line(1, "internal_numbers", strings.Join(t.InternalNumbers, ", "))
	}

	s.crm(&t.CRM)
	s.phoneCalls(&t.PhoneCalls)

	r := t.Retroactive
	s.head(1, "retroactive:")
	s.line(2, "enabled", onOff(r.Enabled))
	s.line(2, "window", r.Window.String()+" UTC")
	s.line(2, "lookback", r.Lookback.String())

	cb := t.Callbacks
	s.head(1, "callbacks:")
	s.line(2, "default_subject", fmt.Sprintf("%q", cb.DefaultSubject))
	s.line(2, "recipient_rule", cb.RecipientRule)
	s.line(2, "profiles", fmt.Sprint(len(cb.Profiles)))
	for _, p := range cb.Profiles {
		s.line(3, "- "+p.Name, fmt.Sprintf("active %s, list %s, queue %s, subject %q, ownership_rule %s, duplicate_handling %s, sync_method %s, age %s",
			onOff(p.Active), orText(p.CallbackListID, "(not set)"), orText(p.Queue, "(not set)"), cb.Subject(p),
			p.OwnershipRule, p.DuplicateHandling, p.SyncMethod, p.Age))
	}

	rt := t.Routing
	s.head(1, "routing:")
	s.line(2, "api_key", secret(rt.APIKey))
	s.line(2, "budget", rt.Budget.String())
	s.line(2, "cache_ttl", rt.CacheTTL.String())
	s.line(2, "rules", fmt.Sprint(len(rt.Rules)))
	for i, r := range rt.Rules {
		s.line(3, fmt.Sprintf("- %s", orText(r.Name, fmt.Sprintf("rules[%d]", i))), ruleText(r))
	}
}

func ruleText(r RoutingRule) string {
	var when []string
	if r.When.Matched != nil {
		when = append(when, "matched "+onOff(*r.When.Matched))
	}
	if r.When.Entity != "" {
		when = append(when, "entity "+r.When.Entity)
	}
	if r.When.Field != "" {
		when = append(when, fmt.Sprintf("%s = %q", r.When.Field, r.When.Equals))
	}
	if r.When.BNum != "" {
		when = append(when, "bnum "+r.When.BNum)
	}
	cond := "always"
	if len(when) > 0 {
		cond = strings.Join(when, " and ")
	}
	out := fmt.Sprintf("when %s -> %s", cond, r.Target)
	if r.FailTarget != "" {
		out += ", fail " + r.FailTarget
	}
	return out
}

func (s *summary) crm(c *CRM) {
	s.head(1, "crm:")
	s.line(2, "type", c.Type)
	users := "match " + c.Users.Match
	if c.Users.Match == MatchField {
		users += " (" + c.Users.Field + ")"
	}
	if n := len(c.Users.Overrides); n > 0 {
		users += fmt.Sprintf(", overrides: %d", n)
	}
	s.line(2, "users", users)
	switch c.Type {
	case CRMDynamics:
		d := c.Dynamics
		s.line(2, "url", d.URL)
		s.line(2, "authority_url", d.AuthorityURL)
		s.line(2, "tenant_id", d.TenantID)
		s.line(2, "client_id", d.ClientID)
		s.line(2, "client_secret", secret(d.ClientSecret))
		for _, e := range sortedKeys(d.PhoneFields) {
			s.line(2, "phone_fields."+e, strings.Join(d.PhoneFields[e], ", "))
		}
		s.line(2, "batch_size", fmt.Sprint(d.BatchSize))
		s.line(2, "concurrency", fmt.Sprint(d.Concurrency))
		s.line(2, "audit_field", orText(d.AuditField, "(none)"))
	case CRMSalesforce:
		sf := c.Salesforce
		s.line(2, "login_url", sf.LoginURL)
		s.line(2, "grant", sf.Grant)
		s.line(2, "client_id", sf.ClientID)
		s.line(2, "client_secret", secret(sf.ClientSecret))
		switch sf.Grant {
		case GrantJWT:
			s.line(2, "username", sf.Username)
			s.line(2, "private_key_file", sf.PrivateKeyFile)
		case GrantPassword:
			s.line(2, "username", sf.Username)
			s.line(2, "password", secret(sf.Password))
			s.line(2, "security_token", secret(sf.SecurityToken))
		}
		s.line(2, "api_version", sf.APIVersion)
		s.line(2, "external_id_field", sf.ExternalIDField)
	case CRMZoho:
		z := c.Zoho
		s.line(2, "accounts_url", z.AccountsURL)
		s.line(2, "api_domain", orText(z.APIDomain, "(from token response)"))
		s.line(2, "client_id", z.ClientID)
		s.line(2, "client_secret", secret(z.ClientSecret))
		s.line(2, "refresh_token", secret(z.RefreshToken))
		s.line(2, "module", orText(z.Module, "(recording off)"))
		s.line(2, "record_incoming", onOff(z.RecordIncoming))
		s.line(2, "record_outgoing", onOff(z.RecordOutgoing))
		s.line(2, "user_id_field", orText(z.UserIDField, "(users matched as crm.users says)"))
		s.line(2, "number_cleanup_regexp", orText(z.NumberCleanupRegexp, "(none)"))
		s.line(2, "search_modules", strings.Join(z.SearchModules, ", "))
		s.line(2, "call_id_field", orText(z.CallIDField, "(Description only)"))
	}
}

func (s *summary) phoneCalls(pc *PhoneCalls) {
	s.head(1, "phone_calls:")
	s.line(2, "call_duration_limit", pc.CallDurationLimit.String())
	s.line(2, "call_start_margin", pc.CallStartMargin.String())
	s.line(2, "default_crm_assignee", orText(pc.DefaultCRMAssignee, "(none)"))
	s.line(2, "enable_audit", onOff(pc.EnableAudit))
	s.line(2, "enable_multiple_match_create", onOff(pc.EnableMultipleMatchCreate))
	s.line(2, "multiple_match_phone_call_status", fmt.Sprint(pc.MultipleMatchPhoneCallStatus))
	s.line(2, "multiple_matches_pick_first", onOff(pc.MultipleMatchesPickFirst))
	s.line(2, "execution_interval", pc.ExecutionInterval.String())
	s.line(2, "incoming_direct_call_subject", fmt.Sprintf("%q", pc.IncomingDirectCallSubject))
	s.line(2, "incoming_queue_call_subject", fmt.Sprintf("%q", pc.IncomingQueueCallSubject))
	s.line(2, "outgoing_direct_call_subject", fmt.Sprintf("%q", pc.OutgoingDirectCallSubject))
	s.line(2, "numbers_to_cut", fmt.Sprint(pc.NumbersToCut))
	s.line(2, "process_direct_calls", onOff(pc.ProcessDirectCalls))
	s.line(2, "process_service_calls", onOff(pc.ProcessServiceCalls))
	s.line(2, "process_service_calls_unanswered", onOff(pc.ProcessServiceCallsUnanswered))
	s.line(2, "run_in_debug_mode", onOff(pc.RunInDebugMode))
	s.line(2, "write_unmatched", onOff(pc.WriteUnmatched))
}
