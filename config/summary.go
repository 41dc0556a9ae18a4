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
	s := &summary{w: tw, types: c.crmTypes}
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

type summary struct {
	w     io.Writer
	types CRMTypes
}

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
	if t, ok := s.types[c.Type]; ok && t.Summary != nil && c.Options.Value() != nil {
		for _, kv := range t.Summary(c.Options.Value()) {
			s.line(2, kv[0], kv[1])
		}
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
