package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/phone"
	"github.com/callsync/callsync/store"
)

// ExplainCommand is `callsync explain`: the story of one Enreach call, from
// the local store only (ledger and decision log).
type ExplainCommand struct{ *Main }

const explainSynopsis = "callsync explain --config FILE [--tenant T] [--json] (CALL_ID | --number N --at TIME [--window 30m])"

// Explanation is the story of one call (the --json output).
type Explanation struct {
	Tenant  string `json:"tenant"`
	CallID  string `json:"call_id"`
	Found   bool   `json:"found"`
	State   string `json:"state,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Filter  string `json:"filter,omitempty"`
	Number  string `json:"number,omitempty"`
	CRMID   string `json:"crm_id,omitempty"`
	CRMLink string `json:"crm_link,omitempty"`
	// FirstRead is when callsync first read the call; Updated its ledger
	// row's last change.
	FirstRead time.Time  `json:"first_read,omitzero"`
	Updated   time.Time  `json:"updated,omitzero"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	Call      *jobs.Call `json:"call,omitempty"`
	Steps     []Step     `json:"steps"`
}

// Step is one entry of the decision log.
type Step struct {
	At     time.Time    `json:"at"`
	State  string       `json:"state"`
	Reason string       `json:"reason,omitempty"`
	CRMID  string       `json:"crm_id,omitempty"`
	Error  string       `json:"error,omitempty"`
	Detail *jobs.Detail `json:"detail,omitempty"`
}

// filterReasons are the skip reasons decided before any CRM lookup.
var filterReasons = map[string]bool{
	jobs.ReasonDirectOff: true, jobs.ReasonServiceOff: true, jobs.ReasonUnansweredOff: true,
	jobs.ReasonNotWork: true, jobs.ReasonTooShort: true, jobs.ReasonUnansweredDirect: true,
	jobs.ReasonUnmatchable: true, jobs.ReasonInternal: true,
}

// Run explains one call, or every call of a number around a time.
func (c *ExplainCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlags("explain", explainSynopsis)
	path := fs.String("config", "callsync.yaml", "config file")
	tenant := fs.String("tenant", "", "tenant (default: the only one)")
	asJSON := fs.Bool("json", false, "print JSON")
	number := fs.String("number", "", "the customer's number (any format the tenant's region parses)")
	at := fs.String("at", "", "around when the call started (RFC 3339 or 2006-01-02 15:04; UTC unless it has an offset)")
	window := fs.Duration("window", 30*time.Minute, "with --number: how far from --at to look")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if (fs.NArg() == 1) == (*number != "") || fs.NArg() > 1 {
		return usageError("explain: give one CALL_ID, or --number and --at\nUsage: %s", explainSynopsis)
	}
	t, st, err := c.openTenantStore(ctx, *path, *tenant)
	if err != nil {
		return err
	}
	defer st.Close()

	var ids []string
	if fs.NArg() == 1 {
		ids = []string{strings.ToLower(fs.Arg(0))}
	} else {
		if *at == "" {
			return usageError("explain: --number needs --at")
		}
		when, err := parseTime(*at)
		if err != nil {
			return usageError("explain: --at: %v", err)
		}
		n, ok := phone.Normalize(*number, t.DefaultRegion)
		if !ok {
			return usageError("explain: --number %q is not a number in region %s", *number, t.DefaultRegion)
		}
		ids, err = st.LedgerIDsByNumber(ctx, t.Name, jobs.KindCall, n.E164(), when.Add(-*window), when.Add(*window))
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return &exitError{Code: exitFailure, Err: fmt.Errorf("no call with %s between %s and %s in tenant %s",
				n.E164(), when.Add(-*window).Format(time.RFC3339), when.Add(*window).Format(time.RFC3339), t.Name)}
		}
	}
	var out []Explanation
	for _, id := range ids {
		e, err := explain(ctx, st, t, id)
		if err != nil {
			return err
		}
		out = append(out, e)
	}
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		if fs.NArg() == 1 {
			return enc.Encode(out[0])
		}
		return enc.Encode(out)
	}
	for i, e := range out {
		if i > 0 {
			fmt.Fprintln(c.Stdout)
		}
		writeExplanation(c.Stdout, e)
	}
	if len(out) == 1 && !out[0].Found {
		return &exitError{Code: exitFailure}
	}
	return nil
}

// openTenantStore reads the config without requiring CRM or Enreach secrets
// (config.LoadLocal), picks the tenant and opens the store: what the
// commands that only read local state (explain, directory show) need.
func (c *Main) openTenantStore(ctx context.Context, path, tenant string) (*config.Tenant, *store.Store, error) {
	cfg, err := config.LoadLocal(path, c.Getenv, configTypes())
	if err != nil {
		return nil, nil, err
	}
	t, err := pickTenant(cfg, tenant)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg.Store)
	if err != nil {
		return nil, nil, err
	}
	return t, st, nil
}

func pickTenant(cfg *config.Config, name string) (*config.Tenant, error) {
	if name == "" {
		if len(cfg.Tenants) == 1 {
			return &cfg.Tenants[0], nil
		}
		return nil, usageError("--tenant is required: the config has %d tenants (%s)", len(cfg.Tenants), strings.Join(cfg.TenantNames(), ", "))
	}
	t, ok := cfg.Tenant(name)
	if !ok {
		return nil, usageError("--tenant %q is not in the config (%s)", name, strings.Join(cfg.TenantNames(), ", "))
	}
	return t, nil
}

func explain(ctx context.Context, st *store.Store, t *config.Tenant, id string) (Explanation, error) {
	e := Explanation{Tenant: t.Name, CallID: id, Steps: []Step{}}
	row, ok, err := st.LedgerItem(ctx, t.Name, jobs.KindCall, id)
	if err != nil || !ok {
		return e, err
	}
	e.Found = true
	e.State, e.Reason, e.Number, e.CRMID = string(row.State), row.Reason, row.Number, row.CRMID
	e.FirstRead, e.Updated, e.Attempts, e.LastError = row.FirstSeen, row.Updated, row.Attempts, row.LastError
	if filterReasons[row.Reason] {
		e.Filter = "skipped: " + row.Reason
	} else {
		e.Filter = "passed"
	}
	if len(row.Payload) > 0 {
		var call jobs.Call
		if json.Unmarshal(row.Payload, &call) == nil {
			call.Raw = nil // the audit copy; the fields above tell the story
			e.Call = &call
		}
	}
	if e.CRMID != "" {
		e.CRMLink = crmLink(t, e.CRMID)
	}
	ds, err := st.Decisions(ctx, t.Name, jobs.KindCall, id)
	if err != nil {
		return e, err
	}
	for _, d := range ds {
		s := Step{At: d.At, State: string(d.State), Reason: d.Reason, CRMID: d.CRMID, Error: d.Error}
		if len(d.Detail) > 0 {
			var det jobs.Detail
			if json.Unmarshal(d.Detail, &det) == nil {
				s.Detail = &det
			}
		}
		e.Steps = append(e.Steps, s)
	}
	return e, nil
}

// crmLink is where a person opens the activity in the CRM's UI.
func crmLink(t *config.Tenant, id string) string {
	id = url.PathEscape(id)
	if ct, ok := crmTypes[t.CRM.Type]; ok {
		return ct.link(t.CRM.Options.Value(), id)
	}
	return ""
}

func writeExplanation(w io.Writer, e Explanation) {
	fmt.Fprintf(w, "call %s (tenant %s)\n", e.CallID, e.Tenant)
	if !e.Found {
		fmt.Fprintln(w, "  not in the ledger: callsync has not read this call (check the id, the tenant, and the watermark in 'callsync status')")
		return
	}
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-14s %s\n", k+":", v)
		}
	}
	if c := e.Call; c != nil {
		kind := "direct"
		if c.Queue {
			kind = "queue " + c.QueueName
		}
		dir := "inbound"
		if c.Outbound {
			dir = "outbound"
		}
		ans := "answered"
		if !c.Answered {
			ans = "not answered"
		}
		line("call", fmt.Sprintf("%s %s, %s, started %s, %d s", dir, kind, ans, c.Start.UTC().Format(time.RFC3339), c.Duration))
		line("enreach user", c.UserID)
	}
	line("first read", e.FirstRead.Format(time.RFC3339))
	line("filter", e.Filter)
	line("number", e.Number)
	outcome := e.State
	if e.Reason != "" {
		outcome += " (" + e.Reason + ")"
	}
	line("outcome", outcome)
	line("attempts", fmt.Sprint(e.Attempts))
	line("last error", e.LastError)
	line("crm record", e.CRMID)
	line("open in crm", e.CRMLink)
	if len(e.Steps) == 0 {
		fmt.Fprintln(w, "  decision log:  empty (the call was processed before the log existed, or purged)")
		return
	}
	fmt.Fprintln(w, "  decision log:")
	for _, s := range e.Steps {
		head := s.State
		if s.Reason != "" {
			head += " (" + s.Reason + ")"
		}
		fmt.Fprintf(w, "    %s  %s\n", s.At.UTC().Format(time.RFC3339), head)
		d := s.Detail
		if d == nil {
			continue
		}
		if d.Number != "" {
			fmt.Fprintf(w, "      number %s\n", d.Number)
		}
		if len(d.Matched) > 0 {
			refs := make([]string, len(d.Matched))
			for i, r := range d.Matched {
				refs[i] = r.String()
			}
			fmt.Fprintf(w, "      matched %s%s\n", strings.Join(refs, ", "), matchedBy(d.MatchedBy))
		} else if d.MatchedBy != "" {
			fmt.Fprintf(w, "      matched no record%s\n", matchedBy(d.MatchedBy))
		}
		if d.Chosen != nil {
			fmt.Fprintf(w, "      regarding %s\n", d.Chosen)
		}
		if d.Why != "" {
			fmt.Fprintf(w, "      why: %s\n", d.Why)
		}
		if d.Owner != "" || d.UserParty != "" {
			fmt.Fprintf(w, "      owner %s, user party %s\n", orNone(d.Owner), orNone(d.UserParty))
		}
		if d.Unmapped != "" {
			fmt.Fprintf(w, "      enreach user %s has no CRM user: the default assignee stood in\n", d.Unmapped)
		}
		if d.Attempt > 0 {
			fmt.Fprintf(w, "      write attempt %d: crm answered %s\n", d.Attempt, d.Answer)
		}
		if s.CRMID != "" {
			fmt.Fprintf(w, "      crm record %s\n", s.CRMID)
		}
		if s.Error != "" && (d.Answer == "" || !strings.Contains(d.Answer, s.Error)) {
			fmt.Fprintf(w, "      error: %s\n", s.Error)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// matchedBy says in words where a match came from (jobs.Detail.MatchedBy).
func matchedBy(source string) string {
	switch source {
	case "directory":
		return " (from the local phone directory, no CRM request)"
	case "cache":
		return " (from a CRM lookup reused within its cache time)"
	case "crm":
		return " (from a live CRM lookup)"
	}
	return ""
}
