package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/httpclient"
)

// DoctorCommand is `callsync doctor`: the read-only preflight of each
// tenant's Enreach organisation, CRM org and settings.
type DoctorCommand struct{ *Main }

const doctorSynopsis = "callsync doctor --config FILE [--tenant T] [--json]"

// preflightTimeout bounds the checks of one tenant.
const preflightTimeout = 2 * time.Minute

// Run checks every tenant (or one) and prints one line per check. The exit
// status is 0 when every check is ok, 1 when any failed, 3 for warnings only.
func (c *DoctorCommand) Run(ctx context.Context, args []string) error {
	fs, path := c.configFlags("doctor", doctorSynopsis)
	only := fs.String("tenant", "", "only this tenant (default: all)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig(*path)
	if err != nil {
		return err
	}
	if *only != "" {
		if _, ok := cfg.Tenant(*only); !ok {
			return usageError("--tenant %q is not in %s (tenants: %s)", *only, *path, strings.Join(cfg.TenantNames(), ", "))
		}
	}
	log := newLogger(c.Stderr, cfg.Log.Format, "error")
	var reports []tenantReport
	for _, tc := range cfg.Tenants {
		if *only != "" && tc.Name != *only {
			continue
		}
		reports = append(reports, checkTenant(ctx, storeFile(cfg.Store), tc, log, httpclient.Options{}))
	}
	var all []crm.Check
	for _, r := range reports {
		all = append(all, r.Checks...)
	}
	worst := crm.WorstStatus(all)
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Status  crm.CheckStatus `json:"status"`
			Tenants []tenantReport  `json:"tenants"`
		}{worst, reports}); err != nil {
			return err
		}
	} else {
		for _, r := range reports {
			writeReport(c.Stdout, r)
		}
	}
	return doctorExit(worst)
}

// doctorExit is doctor's outcome: exit 0 all ok, 1 any fail, 3 warnings only.
func doctorExit(worst crm.CheckStatus) error {
	switch worst {
	case crm.CheckFail:
		return &exitError{Code: exitFailure}
	case crm.CheckWarn:
		return &exitError{Code: exitWarnings}
	}
	return nil
}

// tenantReport is the preflight of one tenant.
type tenantReport struct {
	Tenant    string          `json:"tenant"`
	CRM       string          `json:"crm"`
	Status    crm.CheckStatus `json:"status"`
	CheckedAt time.Time       `json:"checked_at"`
	Checks    []crm.Check     `json:"checks"`
}

// checkTenant builds a tenant's clients (nothing is contacted to build them)
// and runs its preflight.
func checkTenant(ctx context.Context, storePath string, tc config.Tenant, log *slog.Logger, httpOpts httpclient.Options) tenantReport {
	httpOpts.Logger = log
	ec, err := enreach.New(enreach.Config{
		APIURL: tc.Enreach.APIURL, DiscoveryURL: tc.Enreach.DiscoveryURL,
		User: tc.Enreach.User, SecretKey: tc.Enreach.SecretKey.Value(),
		HTTP: httpOpts, Logger: log,
	})
	if err != nil {
		return newReport(tc, []crm.Check{{Area: "enreach", Name: "client", Status: crm.CheckFail, Detail: err.Error(), Fix: "correct the tenant's enreach section"}})
	}
	cc, err := newCRM(crmTypes, tc, log, httpOpts, nil)
	if err != nil {
		return newReport(tc, []crm.Check{{Area: "crm", Name: "client", Status: crm.CheckFail, Detail: err.Error(), Fix: "correct the tenant's crm section"}})
	}
	return newReport(tc, preflight(ctx, storePath, tc, ec, cc))
}

func newReport(tc config.Tenant, checks []crm.Check) tenantReport {
	return tenantReport{Tenant: tc.Name, CRM: tc.CRM.Type, Status: crm.WorstStatus(checks), CheckedAt: time.Now().UTC(), Checks: checks}
}

// enreachDoctor is what the preflight needs from the Enreach client.
type enreachDoctor interface {
	Doctor(ctx context.Context, o enreach.DoctorOptions) []crm.Check
	Users(ctx context.Context) ([]enreach.User, error)
}

// preflight runs every check of one tenant, read-only: settings, the
// Enreach organisation, the CRM org (when its client implements
// crm.Doctor). callsync doctor prints them; callsync run starts a tenant
// only when none fails.
func preflight(ctx context.Context, storePath string, tc config.Tenant, ec enreachDoctor, cc crm.Client) []crm.Check {
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	opts := enreach.DoctorOptions{QueueCalls: tc.PhoneCalls.ProcessServiceCalls || tc.PhoneCalls.ProcessServiceCallsUnanswered}
	for _, p := range tc.ActiveProfiles() {
		opts.Profiles = append(opts.Profiles, enreach.DoctorProfile{Name: p.Name, ListID: p.CallbackListID, Webhook: p.TakesWebhooks(), Polling: p.Polls()})
	}
	checks := storeFileCheck(storePath)
	enreachChecks := ec.Doctor(ctx, opts)
	enreachOK := true
	for _, c := range enreachChecks {
		if c.Status == crm.CheckFail && (c.Name == "api_host" || c.Name == "auth" || c.Name == "users") {
			enreachOK = false
		}
	}
	checks = append(checks, enreachChecks...)
	if d, ok := cc.(crm.Doctor); ok {
		cs, err := d.Doctor(ctx)
		if err != nil {
			cs = append(cs, crm.Check{Area: "crm", Name: "org", Status: crm.CheckFail,
				Detail: "the org check could not run: " + err.Error(),
				Fix:    "check the crm section's URL and credentials and that the CRM is reachable; the check runs again"})
		}
		checks = append(checks, cs...)
	} else {
		checks = append(checks, crm.Check{Area: "crm", Name: "org", Status: crm.CheckWarn,
			Detail: "no org check for this CRM yet: fields and permissions are found out by the first writes",
			Fix:    "check the CRM's setup list in the README by hand"})
	}
	checks = append(checks, assigneeCheck(ctx, tc, ec, cc, enreachOK))
	return checks
}

// assigneeCheck verifies DefaultCrmAssignee: set, an Enreach user, and
// mapped to an active CRM user (as the calls job maps users).
func assigneeCheck(ctx context.Context, tc config.Tenant, ec enreachDoctor, cc crm.Client, enreachOK bool) crm.Check {
	id := tc.PhoneCalls.DefaultCRMAssignee
	c := crm.Check{Area: "config", Name: "default_crm_assignee"}
	if id == "" {
		c.Status, c.Detail = crm.CheckWarn, "phone_calls.default_crm_assignee is not set: calls of unmapped users get no owner"
		c.Fix = "set phone_calls.default_crm_assignee to the Enreach user id whose CRM user should own the calls of Enreach users that have no CRM user"
		return c
	}
	for k, v := range tc.CRM.Users.Overrides {
		if strings.EqualFold(k, id) {
			c.Status, c.Detail = crm.CheckOK, fmt.Sprintf("Enreach user %s is mapped by crm.users.overrides to CRM user %s", id, v)
			return c
		}
	}
	if !enreachOK {
		c.Status, c.Detail = crm.CheckWarn, fmt.Sprintf("Enreach user %s not verified: the Enreach checks above failed", id)
		c.Fix = "fix the Enreach checks first"
		return c
	}
	users, err := ec.Users(ctx)
	if err != nil {
		c.Status, c.Detail, c.Fix = crm.CheckWarn, "not verified: "+err.Error(), "fix the Enreach checks first"
		return c
	}
	var user *enreach.User
	for i := range users {
		if strings.EqualFold(users[i].ID, id) {
			user = &users[i]
		}
	}
	if user == nil {
		c.Status = crm.CheckWarn
		c.Detail = fmt.Sprintf("%s is not among the %d Enreach users the API user sees: calls of unmapped users get no owner", id, len(users))
		c.Fix = "set phone_calls.default_crm_assignee to the id of an existing Enreach user"
		return c
	}
	m := crm.UserMatch{By: tc.CRM.Users.Match, Field: tc.CRM.Users.Field}
	found, err := cc.Users(ctx, m, []crm.UserQuery{{EnreachUserID: strings.ToLower(user.ID), Email: user.UserName}})
	if err != nil {
		c.Status, c.Detail = crm.CheckWarn, "the CRM user of "+user.UserName+" could not be looked up: "+err.Error()
		c.Fix = "fix the CRM checks first"
		return c
	}
	u, ok := found[strings.ToLower(user.ID)]
	if !ok || u.ID == "" {
		c.Status = crm.CheckWarn
		c.Detail = fmt.Sprintf("Enreach user %s has no active CRM user (matched by %s): calls of unmapped users get no owner", user.UserName, matchWords(m))
		c.Fix = "activate or create a CRM user for " + user.UserName + ", or map the Enreach user id in crm.users.overrides"
		return c
	}
	c.Status = crm.CheckOK
	c.Detail = fmt.Sprintf("Enreach user %s owns the calls of unmapped users as CRM user %s (%s)", user.UserName, u.ID, u.Email)
	return c
}

func matchWords(m crm.UserMatch) string {
	if m.By == "field" {
		return "CRM user field " + m.Field
	}
	return "e-mail"
}

// storeFileCheck warns when the SQLite store (customer numbers, call
// metadata) can be read by other local users. A PostgreSQL store (path "")
// has no local file: its access is the database's own.
func storeFileCheck(path string) []crm.Check {
	if path == "" {
		return nil
	}
	c := crm.Check{Area: "config", Name: "store_file"}
	fi, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		c.Status, c.Detail = crm.CheckOK, path+" does not exist yet; callsync run creates it"
	case err != nil:
		c.Status, c.Detail, c.Fix = crm.CheckFail, err.Error(), "make store.path a file callsync can read and write"
	case fi.Mode().Perm()&0o077 != 0:
		c.Status = crm.CheckWarn
		c.Detail = fmt.Sprintf("%s is readable by other users (mode %04o); it holds customer numbers and call data", path, fi.Mode().Perm())
		c.Fix = "chmod 600 " + path
	default:
		c.Status, c.Detail = crm.CheckOK, fmt.Sprintf("%s mode %04o", path, fi.Mode().Perm())
	}
	return []crm.Check{c}
}

// writeReport prints one tenant's checks as aligned lines:
// status  area  name  detail — fix.
func writeReport(w io.Writer, r tenantReport) {
	fmt.Fprintf(w, "tenant %s (%s)\n", r.Tenant, r.CRM)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	n := map[crm.CheckStatus]int{}
	for _, c := range r.Checks {
		n[c.Status]++
		line := c.Detail
		if c.Fix != "" {
			line += " — " + c.Fix
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Status, c.Area, c.Name, line)
	}
	tw.Flush()
	fmt.Fprintf(w, "%s: %s (%d fail, %d warn, %d ok)\n\n", r.Tenant, r.Status, n[crm.CheckFail], n[crm.CheckWarn], n[crm.CheckOK])
}
