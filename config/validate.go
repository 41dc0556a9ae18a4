package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Enumerated values.
const (
	MatchEmail = "email"
	MatchField = "field"

	DirectoryMirror = "mirror"
	DirectoryLive   = "live"

	RecipientQueue      = "queue"
	RecipientQueueOwner = "queue_owner"

	OwnerAPIUser    = "api_user"
	OwnerQueueOwner = "queue_owner"

	DuplicatesBundle = "bundle"
	DuplicatesIgnore = "ignore"

	SyncPolling           = "polling"
	SyncWebhook           = "webhook"
	SyncWebhookAndPolling = "webhook_and_polling"

	// RoutingTargetOwner routes to the matched record owner's Enreach user.
	RoutingTargetOwner = "owner"
)

// Limits checked by Validate.
const (
	// MaxRoutingBudget leaves Enreach's 5 s Smart Routing timeout room for
	// the network.
	MaxRoutingBudget = 4500 * time.Millisecond
)

var (
	tenantName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// validator collects errors named by key path.
type validator struct{ errs Errors }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) required(path, value string) bool {
	if strings.TrimSpace(value) == "" {
		v.add(path, "required")
		return false
	}
	return true
}

func (v *validator) oneOf(path, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		v.add(path, "invalid value %q (want %s)", value, strings.Join(allowed, " | "))
	}
}

// url checks a base URL: https, or http on a loopback host (the test
// doubles and the sandbox).
func (v *validator) url(path, value string) {
	u, err := url.Parse(value)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		v.add(path, "invalid URL %q (want https://host)", value)
		return
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		v.add(path, "URL %q must use https", value)
		return
	}
	if u.RawQuery != "" || u.Fragment != "" {
		v.add(path, "URL %q must not have a query or fragment", value)
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *validator) nonNegative(path string, d Duration) {
	if d < 0 {
		v.add(path, "must not be negative")
	}
}

func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.add(path, "must be greater than 0")
	}
}

// Validate checks the whole configuration and returns every problem as
// Errors (without file positions; Parse adds them). Load and Parse call it.
// types check each tenant's crm.<type> block; Summary uses them too.
func (c *Config) Validate(types CRMTypes) error {
	c.crmTypes = types
	v := &validator{}
	v.oneOf("store.driver", c.Store.Driver, DriverSQLite, DriverPostgres)
	switch c.Store.Driver {
	case DriverSQLite:
		v.required("store.path", c.Store.Path)
	case DriverPostgres:
		v.required("store.url", c.Store.URL.Value())
		if c.Store.MaxConns < 0 {
			v.add("store.max_conns", "must not be negative")
		}
		v.nonNegative("store.connect_timeout", c.Store.ConnectTimeout)
		v.nonNegative("store.statement_timeout", c.Store.StatementTimeout)
		if c.Store.LeaseTTL != 0 && (time.Duration(c.Store.LeaseTTL) < 3*time.Second || time.Duration(c.Store.LeaseTTL) > 45*time.Second) {
			v.add("store.lease_ttl", "must be between 3s and 45s (a dead replica's tenants move within about 4/3 of it)")
		}
	}
	if v.required("http.listen", c.HTTP.Listen) {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			v.add("http.listen", "invalid address %q (want host:port)", c.HTTP.Listen)
		}
	}
	if c.HTTP.AdminListen != "" {
		host, _, err := net.SplitHostPort(c.HTTP.AdminListen)
		switch {
		case err != nil:
			v.add("http.admin_listen", "invalid address %q (want host:port)", c.HTTP.AdminListen)
		case !loopback(host) && !c.HTTP.AdminToken.IsSet():
			v.add("http.admin_listen", "%q is not a loopback address: set http.admin_token, or listen on 127.0.0.1", c.HTTP.AdminListen)
		case c.HTTP.AdminListen == c.HTTP.Listen && !strings.HasSuffix(c.HTTP.Listen, ":0"):
			v.add("http.admin_listen", "must differ from http.listen (%s)", c.HTTP.Listen)
		}
	}
	v.oneOf("log.format", c.Log.Format, "text", "json")
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.purge(c)

	if len(c.Tenants) == 0 {
		v.add("tenants", "at least one tenant is required")
	}
	first := map[string]int{}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		p := fmt.Sprintf("tenants[%d]", i)
		if j, dup := first[t.Name]; dup && t.Name != "" {
			v.add(p+".name", "duplicate tenant name %q (also tenants[%d])", t.Name, j)
		} else {
			first[t.Name] = i
		}
		v.tenant(p, t, types)
	}
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

func (v *validator) tenant(p string, t *Tenant, types CRMTypes) {
	if v.required(p+".name", t.Name) && !tenantName.MatchString(t.Name) {
		v.add(p+".name", "invalid tenant name %q (use a-z, 0-9, - and _; it appears in URLs)", t.Name)
	}
	regionOK := false
	if v.required(p+".default_region", t.DefaultRegion) {
		if phonenumbers.GetSupportedRegions()[t.DefaultRegion] {
			regionOK = true
		} else {
			v.add(p+".default_region", "unknown region code %q (want an upper-case ISO 3166 code such as FI)", t.DefaultRegion)
		}
	}
	v.enreach(p+".enreach", &t.Enreach)
	v.crm(p+".crm", &t.CRM, types)
	v.phoneCalls(p+".phone_calls", &t.PhoneCalls)
	v.retroactive(p+".retroactive", &t.Retroactive)
	v.callbacks(p+".callbacks", t, types)
	v.routing(p+".routing", t, regionOK, types)
	for i, n := range t.InternalNumbers {
		np := fmt.Sprintf("%s.internal_numbers[%d]", p, i)
		if v.required(np, n) && regionOK {
			if _, err := phonenumbers.Parse(n, t.DefaultRegion); err != nil {
				v.add(np, "invalid phone number %q", n)
			}
		}
	}
}

func (v *validator) enreach(p string, e *Enreach) {
	if e.APIURL != "" {
		v.url(p+".api_url", e.APIURL)
	}
	if e.DiscoveryURL != "" {
		v.url(p+".discovery_url", e.DiscoveryURL)
	}
	if v.required(p+".user", e.User) {
		if a, err := mail.ParseAddress(e.User); err != nil || a.Address != e.User {
			v.add(p+".user", "invalid e-mail address %q", e.User)
		}
	}
	if !e.SecretKey.IsSet() {
		v.add(p+".secret_key", "required")
	}
}

func (v *validator) crm(p string, c *CRM, types CRMTypes) {
	typeOK := false
	if v.required(p+".type", c.Type) {
		typeOK = slices.Contains(types.names(), c.Type)
		v.oneOf(p+".type", c.Type, types.names()...)
	}
	v.oneOf(p+".directory", c.Directory, DirectoryMirror, DirectoryLive)
	v.nonNegative(p+".directory_full_resync", c.DirectoryFullResync)
	up := p + ".users"
	v.oneOf(up+".match", c.Users.Match, MatchEmail, MatchField)
	switch {
	case c.Users.Match == MatchField:
		v.required(up+".field", c.Users.Field)
	case c.Users.Field != "" && c.Users.Match == MatchEmail:
		v.add(up+".field", "only used with match: field")
	}
	for k, val := range c.Users.Overrides {
		if strings.TrimSpace(k) == "" || strings.TrimSpace(val) == "" {
			v.add(join(up+".overrides", k), "Enreach user id and CRM user id must both be set")
		}
	}
	if typeOK {
		v.crmBlock(p, c, types)
	}
}

func (v *validator) phoneCalls(p string, pc *PhoneCalls) {
	v.nonNegative(p+".call_duration_limit", pc.CallDurationLimit)
	v.nonNegative(p+".call_start_margin", pc.CallStartMargin)
	v.positive(p+".execution_interval", pc.ExecutionInterval)
	if pc.NumbersToCut < 0 {
		v.add(p+".numbers_to_cut", "must not be negative")
	}
	if pc.MultipleMatchPhoneCallStatus < 0 {
		v.add(p+".multiple_match_phone_call_status", "must not be negative")
	}
	if l := pc.RecordingLink; l != "" {
		u, err := url.Parse(strings.ReplaceAll(l, "{id}", "x"))
		switch {
		case !strings.Contains(l, "{id}"):
			v.add(p+".recording_link", "must contain {id}, where the recording id goes (got %q)", l)
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			v.add(p+".recording_link", "must be an http(s) address with {id}, e.g. https://recordings.example.com/replay/{id} (got %q)", l)
		}
	}
}

func (v *validator) retroactive(p string, r *Retroactive) {
	if r.Window.Start >= r.Window.End {
		v.add(p+".window", "start must be before end within the UTC day (got %s)", r.Window)
	}
	v.positive(p+".lookback", r.Lookback)
}

func (v *validator) callbacks(p string, t *Tenant, types CRMTypes) {
	cb := &t.Callbacks
	v.oneOf(p+".recipient_rule", cb.RecipientRule, RecipientQueue, RecipientQueueOwner)
	first := map[string]int{}
	for i := range cb.Profiles {
		pr := &cb.Profiles[i]
		pp := fmt.Sprintf("%s.profiles[%d]", p, i)
		if v.required(pp+".name", pr.Name) {
			if !tenantName.MatchString(pr.Name) {
				v.add(pp+".name", "invalid profile name %q (use a-z, 0-9, - and _)", pr.Name)
			}
			if j, dup := first[pr.Name]; dup {
				v.add(pp+".name", "duplicate profile name %q (also profiles[%d])", pr.Name, j)
			} else {
				first[pr.Name] = i
			}
		}
		if pr.Active {
			v.required(pp+".callback_list_id", pr.CallbackListID)
		}
		v.oneOf(pp+".ownership_rule", pr.OwnershipRule, OwnerAPIUser, OwnerQueueOwner)
		v.oneOf(pp+".duplicate_handling", pr.DuplicateHandling, DuplicatesBundle, DuplicatesIgnore)
		v.oneOf(pp+".sync_method", pr.SyncMethod, SyncPolling, SyncWebhook, SyncWebhookAndPolling)
		needQueue := pr.OwnershipRule == OwnerQueueOwner || cb.RecipientRule == RecipientQueueOwner ||
			(types[t.CRM.Type].QueuedCallbacks && cb.RecipientRule == RecipientQueue)
		if pr.Active && needQueue && pr.Queue == "" {
			v.add(pp+".queue", "required by %s", queueReason(t, pr, types))
		}
		if pr.Polls() {
			v.positive(pp+".age", pr.Age)
		} else {
			v.nonNegative(pp+".age", pr.Age)
		}
		if pr.Active && pr.TakesWebhooks() && !t.Enreach.WebhookToken.IsSet() {
			v.add(pp+".sync_method", "%s needs enreach.webhook_token", pr.SyncMethod)
		}
	}
}

func queueReason(t *Tenant, pr *Profile, types CRMTypes) string {
	switch {
	case pr.OwnershipRule == OwnerQueueOwner:
		return "ownership_rule: queue_owner"
	case t.Callbacks.RecipientRule == RecipientQueueOwner:
		return "recipient_rule: queue_owner"
	}
	return "recipient_rule: queue (" + types[t.CRM.Type].Title + " adds the request to this queue)"
}

func (v *validator) routing(p string, t *Tenant, regionOK bool, types CRMTypes) {
	r := &t.Routing
	if len(r.Rules) > 0 && !r.APIKey.IsSet() {
		v.add(p+".api_key", "required when routing rules are set")
	}
	if r.Budget <= 0 || r.Budget.D() > MaxRoutingBudget {
		v.add(p+".budget", "must be greater than 0 and at most %s (Enreach waits 5s)", Duration(MaxRoutingBudget))
	}
	v.nonNegative(p+".cache_ttl", r.CacheTTL)
	names := map[string]int{}
	for i := range r.Rules {
		rule := &r.Rules[i]
		rp := fmt.Sprintf("%s.rules[%d]", p, i)
		if rule.Name != "" {
			if j, dup := names[rule.Name]; dup {
				v.add(rp+".name", "duplicate rule name %q (also rules[%d])", rule.Name, j)
			} else {
				names[rule.Name] = i
			}
		}
		v.required(rp+".target", rule.Target)
		w := &rule.When
		wp := rp + ".when"
		if w.Entity != "" {
			v.oneOf(wp+".entity", w.Entity, "contact", "account", "lead")
		}
		switch {
		case w.Field != "" && w.Entity == "":
			v.add(wp+".entity", "required with field")
		case w.Field != "" && w.Equals == "":
			v.add(wp+".equals", "required with field")
		case w.Equals != "" && w.Field == "":
			v.add(wp+".field", "required with equals")
		}
		unmatched := w.Matched != nil && !*w.Matched
		if w.Cases != nil {
			if !types[t.CRM.Type].Cases {
				v.add(wp+".cases", "open Cases are read from %s only (crm.type is %q)", types.titlesWith(func(c CRMType) bool { return c.Cases }), t.CRM.Type)
			}
			if w.Cases.Min < 0 {
				v.add(wp+".cases.min", "must be 0 or more")
			}
			if unmatched {
				v.add(wp+".matched", "matched: false contradicts cases")
			}
			if w.Entity == "lead" {
				v.add(wp+".entity", "leads have no Cases (use contact or account with cases)")
			}
		}
		if unmatched && w.Entity != "" {
			v.add(wp+".matched", "matched: false contradicts entity: %s", w.Entity)
		}
		if unmatched && rule.Target == RoutingTargetOwner {
			v.add(rp+".target", "owner needs a matched record, but the rule has matched: false")
		}
		if w.BNum != "" && regionOK {
			if _, err := phonenumbers.Parse(w.BNum, t.DefaultRegion); err != nil {
				v.add(wp+".bnum", "invalid phone number %q", w.BNum)
			}
		}
	}
}

func (v *validator) purge(c *Config) {
	if _, err := ParseTimeOfDay(c.Purge.RunAt); err != nil {
		v.add("purge.run_at", "%v", err)
	}
	v.positive("purge.retention", c.Purge.Retention)
	v.positive("purge.ledger_retention", c.Purge.LedgerRetention)
	// The ledger rows are the duplicate guard of the nightly re-sync: they
	// must outlive its lookback, with a day to spare for a missed night.
	for i, t := range c.Tenants {
		if need := t.Retroactive.Lookback.D() + 24*time.Hour; c.Purge.LedgerRetention.D() < need {
			v.add("purge.ledger_retention", "%s is shorter than tenants[%d].retroactive.lookback (%s) plus one day: the nightly re-sync would reach calls whose ledger rows were purged", c.Purge.LedgerRetention, i, t.Retroactive.Lookback)
		}
	}
	if c.Purge.LedgerRetention < c.Purge.Retention {
		v.add("purge.ledger_retention", "%s is shorter than purge.retention (%s)", c.Purge.LedgerRetention, c.Purge.Retention)
	}
}
