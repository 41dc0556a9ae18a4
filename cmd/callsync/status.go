package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// StatusCommand is `callsync status`: what the worker has done, from the store.
type StatusCommand struct{ *Main }

// Run prints, per tenant: last runs, watermark lag, ledger and inbox counts.
func (c *StatusCommand) Run(ctx context.Context, args []string) error {
	fs, path := c.configFlags("status", "callsync status --config FILE")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	// The store only: no CRM or Enreach secret is needed.
	cfg, err := config.LoadLocal(*path, c.Getenv, configTypes())
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	if f := storeFile(cfg.Store); f != "" {
		if err := store.CheckPermissions(f); err != nil {
			fmt.Fprintf(c.Stderr, "warning: %v\n", err)
		}
	}
	now := time.Now().UTC()
	at, pr, ok, err := st.LastPurge(ctx)
	if err != nil {
		return err
	}
	if ok {
		fmt.Fprintf(c.Stdout, "purge: last %s: ledger rows %d, payloads %d, webhook inbox %d, quarantine %d, job runs %d (daily at %s UTC, retention %s, ledger_retention %s)\n",
			at.Format(time.RFC3339), pr.Ledger, pr.Payloads, pr.Inbox, pr.Quarantine, pr.Runs, cfg.Purge.RunAt, cfg.Purge.Retention, cfg.Purge.LedgerRetention)
	} else {
		fmt.Fprintf(c.Stdout, "purge: not run yet (daily at %s UTC, retention %s, ledger_retention %s)\n", cfg.Purge.RunAt, cfg.Purge.Retention, cfg.Purge.LedgerRetention)
	}
	if err := writeReplicas(ctx, c.Stdout, st, now); err != nil {
		return err
	}
	for _, t := range cfg.Tenants {
		fmt.Fprintf(c.Stdout, "tenant %s (%s)\n", t.Name, t.CRM.Type)
		if err := writePreflight(ctx, c.Stdout, st, t.Name); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		wms, err := st.Watermarks(ctx, t.Name)
		if err != nil {
			return err
		}
		if len(wms) == 0 {
			fmt.Fprintln(tw, "  watermark\t(none yet)")
		}
		for _, stream := range sortedKeys(wms) {
			fmt.Fprintf(tw, "  watermark %s\t%s\tlag %s\n", stream, wms[stream].Format(time.RFC3339), now.Sub(wms[stream]).Truncate(time.Second))
		}
		runs, err := st.LastRuns(ctx, t.Name)
		if err != nil {
			return err
		}
		for _, r := range runs {
			line := fmt.Sprintf("  last %s\t%s\t%s\tseen %d written %d skipped %d unresolved %d failed %d",
				r.Job, r.StartedAt.Format(time.RFC3339), r.Status, r.Seen, r.Written, r.Skipped, r.Unresolved, r.Failed)
			if r.Error != "" {
				line += "\terror: " + r.Error
			}
			fmt.Fprintln(tw, line)
		}
		for _, kind := range []string{jobs.KindCall, jobs.KindCallback} {
			counts, err := st.LedgerReasons(ctx, t.Name, kind)
			if err != nil {
				return err
			}
			if len(counts) == 0 {
				continue
			}
			var parts []string
			for _, k := range sortedKeys(counts) {
				parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
			}
			fmt.Fprintf(tw, "  %ss\t%s\n", kind, strings.Join(parts, ", "))
		}
		unmapped, err := st.UnmappedUsers(ctx, t.Name, jobs.KindCall)
		if err != nil {
			return err
		}
		if len(unmapped) > 0 {
			// Calls whose Enreach user has no CRM user: default_crm_assignee
			// stood in (or nobody, when it is unset). Map these users.
			var parts []string
			for _, u := range unmapped {
				parts = append(parts, fmt.Sprintf("%s %d", u.EnreachUserID, u.Calls))
			}
			who := "default_crm_assignee " + t.PhoneCalls.DefaultCRMAssignee
			if t.PhoneCalls.DefaultCRMAssignee == "" {
				who = "no owner (default_crm_assignee unset)"
			}
			fmt.Fprintf(tw, "  calls of users with no CRM user\t%s\t(%s)\n", strings.Join(parts, ", "), who)
		}
		cbs, err := st.CallbackCountsByProfile(ctx, t.Name, jobs.KindCallback)
		if err != nil {
			return err
		}
		for _, p := range t.Callbacks.Profiles {
			last := "never"
			if at, ok := wms[jobs.StreamCallbacks(p.Name)]; ok {
				last = at.Format(time.RFC3339)
			}
			n := cbs[p.Name]
			fmt.Fprintf(tw, "  profile %s	%s, %s	last poll %s	open %d, closed %d, bundled %d, ignored %d, pending %d, failed %d\n",
				p.Name, activeText(p.Active), p.SyncMethod, last, n.Open, n.Closed, n.Bundled, n.Ignored, n.Pending, n.Failed)
		}
		q, err := st.QuarantineCount(ctx, t.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "  quarantined\t%d\n", q)
		dirs, err := st.DirectorySyncStates(ctx, t.Name)
		if err != nil {
			return err
		}
		for _, d := range dirs {
			line := fmt.Sprintf("  phone directory %s\t%d records, %d numbers, %d unparseable\tlast sync %s", d.Entity,
				d.Records, d.Numbers, d.Unparseable, stamp(d.LastSync))
			if d.Loading() {
				line += "\ta full load is unfinished"
			} else if d.DeltaToken != "" {
				line += "\tCRM change tracking (deletions seen at the next sync)"
			}
			fmt.Fprintln(tw, line)
		}
		inbox, err := st.InboxCounts(ctx, t.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "  webhook inbox\tpending %d, processed %d, ignored %d\n", inbox[store.InboxPending], inbox[store.InboxProcessed], inbox[store.InboxIgnored])
		tw.Flush()
	}
	return nil
}

func activeText(on bool) string {
	if on {
		return "active"
	}
	return "inactive"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writePreflight prints the tenant's last preflight as callsync run stored
// it: started or not, when it is checked again, and every failed or warning
// check with its fix.
func writePreflight(ctx context.Context, w io.Writer, st *store.Store, tenant string) error {
	tc, ok, err := st.TenantCheck(ctx, tenant)
	if err != nil || !ok {
		return err
	}
	line := fmt.Sprintf("  preflight  %s at %s", tc.Status, tc.CheckedAt.Format(time.RFC3339))
	if tc.Started {
		line += ": started"
	} else {
		line += ": NOT STARTED (a check failed); checked again at " + tc.NextCheck.Format(time.RFC3339) + ", no restart needed"
	}
	fmt.Fprintln(w, line)
	var checks []crm.Check
	if err := json.Unmarshal(tc.Checks, &checks); err != nil {
		return fmt.Errorf("status: preflight of %s: %w", tenant, err)
	}
	for _, c := range checks {
		if c.Status == crm.CheckOK {
			continue
		}
		l := fmt.Sprintf("    %-4s %s %s: %s", c.Status, c.Area, c.Name, c.Detail)
		if c.Fix != "" {
			l += " — " + c.Fix
		}
		fmt.Fprintln(w, l)
	}
	return nil
}

// writeReplicas lists the replicas sharing the store (PostgreSQL): id,
// host, last heartbeat, the leases (tenants, ~purge) each holds now and the
// tenants each cannot run (preflight failed there).
// Nothing when no replica ever heartbeated (SQLite, one process).
func writeReplicas(ctx context.Context, w io.Writer, st *store.Store, now time.Time) error {
	reps, err := st.Replicas(ctx)
	if err != nil {
		return err
	}
	ls, err := st.Leases(ctx)
	if err != nil {
		return err
	}
	if len(reps) == 0 && len(ls) == 0 {
		return nil
	}
	held := map[string][]string{}
	for _, l := range ls {
		if l.ExpiresAt.After(now) {
			held[l.Holder] = append(held[l.Holder], l.Name)
		} else {
			held[""] = append(held[""], l.Name)
		}
	}
	fmt.Fprintf(w, "replicas: %d\n", len(reps))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range reps {
		fmt.Fprintf(tw, "  %s\thost %s\theartbeat %s (%s ago)\tholds %d: %s", r.ID, r.Host, r.HeartbeatAt.Format(time.RFC3339),
			now.Sub(r.HeartbeatAt).Round(time.Second), len(held[r.ID]), strings.Join(held[r.ID], ", "))
		if len(r.Excluded) > 0 {
			// Their preflight failed there; another replica runs them.
			fmt.Fprintf(tw, "; cannot run %d: %s", len(r.Excluded), strings.Join(r.Excluded, ", "))
		}
		fmt.Fprintln(tw)
	}
	if len(held[""]) > 0 {
		fmt.Fprintf(tw, "  (expired, taken at the next round)\t\t\t%s\n", strings.Join(held[""], ", "))
	}
	return tw.Flush()
}
