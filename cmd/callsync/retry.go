package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// RetryCommand is `callsync retry`: re-run the calls that failed or found
// no CRM record, after an admin fixed a permission, a field, a user mapping
// or added the customers.
type RetryCommand struct{ *Main }

const retrySynopsis = "callsync retry --config FILE [--tenant T] [--reason R] [--since TIME] [--dry-run]"

// retryStates are the ledger states retry takes up (besides the quarantine).
var retryStates = []store.LedgerState{store.Failed, store.Pending, store.Unresolved}

// retryBatch is how many calls go through one ProcessCalls pass.
const retryBatch = 200

// Run re-processes the tenant's failed, pending and unresolved calls from
// their stored payload (Enreach is not asked again), and decodes its
// quarantined records again (jobs.RedriveQuarantined). The attempt limit of
// the scheduled retries does not apply: a person asked. Calls already
// written are never written again, so running it twice is safe.
func (c *RetryCommand) Run(ctx context.Context, args []string) error {
	fs, path := c.configFlags("retry", retrySynopsis)
	tenant := fs.String("tenant", "", "only this tenant (default: all)")
	reason := fs.String("reason", "", "only items with this state or reason (failed, unresolved, quarantined, no_match, multiple_matches, ...; a quarantined record when its reason contains it)")
	sinceS := fs.String("since", "", "only calls that started (quarantined records: were quarantined) at or after TIME (RFC 3339 or YYYY-MM-DD[ HH:MM])")
	dry := fs.Bool("dry-run", false, "decide and report, write nothing")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("retry: unexpected argument %q\nUsage: %s", fs.Arg(0), retrySynopsis)
	}
	var since time.Time
	if *sinceS != "" {
		var err error
		if since, err = parseTime(*sinceS); err != nil {
			return usageError("retry: --since: %v", err)
		}
	}
	a, tenants, err := (&SyncCommand{Main: c.Main}).open(ctx, *path, *tenant)
	if err != nil {
		return err
	}
	defer a.Close()
	o := jobs.SyncOptions{DryRun: *dry, Stop: ctx.Done()}
	var failed bool
	for _, t := range tenants {
		calls, err := retryCalls(ctx, a.store, t.Name, *reason, since)
		if err != nil {
			return err
		}
		quarantined, err := retryQuarantined(ctx, a.store, t.Name, *reason, since)
		if err != nil {
			return err
		}
		total := len(quarantined) + len(calls)
		var sum jobs.Summary
		var stop bool
		p := c.newProgress(c.Stderr, t.Name)
		// Quarantined records first: a call the ledger holds is then
		// processed once, with its quarantined records merged in.
		var rd jobs.Redrive
		if len(quarantined) > 0 {
			got, res, err := a.syncer.RedriveQuarantined(ctx, t, a.store, quarantined, o)
			sum.Add(got)
			rd = res
			p.count(len(quarantined), total, sum)
			if err != nil {
				fmt.Fprintf(c.Stderr, "%s: %v\n", t.Name, err)
				failed, stop = true, true
			}
			calls = slices.DeleteFunc(calls, func(c jobs.Call) bool { return res.CallIDs[strings.ToLower(c.ID)] })
			total = len(quarantined) + len(calls)
		}
		for i := 0; i < len(calls) && !stop; i += retryBatch {
			part := calls[i:min(i+retryBatch, len(calls))]
			got, err := a.syncer.ProcessCalls(ctx, t, part, o)
			sum.Add(got)
			p.count(len(quarantined)+i+len(part), total, sum)
			if err != nil {
				fmt.Fprintf(c.Stderr, "%s: %v\n", t.Name, err)
				failed = true
				break
			}
		}
		p.done()
		printSummary(c.Stdout, t.Name, sum, *dry)
		if len(quarantined) > 0 {
			printRedrive(c.Stdout, rd, *dry)
		}
	}
	if failed {
		return fmt.Errorf("retry did not complete; run it again: nothing is written twice")
	}
	return nil
}

// printRedrive adds the quarantine lines to a retry summary.
func printRedrive(w io.Writer, r jobs.Redrive, dry bool) {
	verb := "left the quarantine"
	if dry {
		verb = "would leave the quarantine"
	}
	fmt.Fprintf(w, "  %s: %d\n", verb, r.Released)
	n := r.StillTotal()
	if n == 0 {
		return
	}
	reasons := make([]string, 0, len(r.Still))
	for k := range r.Still {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	parts := make([]string, len(reasons))
	for i, k := range reasons {
		parts[i] = fmt.Sprintf("%s: %d", k, r.Still[k])
	}
	fmt.Fprintf(w, "  still quarantined: %d (%s)\n", n, strings.Join(parts, "; "))
}

// ledgerOnly are the --reason words that select ledger items only.
var ledgerOnly = []store.LedgerState{store.Failed, store.Pending, store.Unresolved}

// quarantinedWord is the --reason word that selects quarantined records only.
const quarantinedWord = "quarantined"

// retryCalls loads the calls to retry, oldest first.
func retryCalls(ctx context.Context, st *store.Store, tenant, reason string, since time.Time) ([]jobs.Call, error) {
	if strings.EqualFold(reason, quarantinedWord) {
		return nil, nil
	}
	var calls []jobs.Call
	for _, state := range retryStates {
		rows, err := st.LedgerByState(ctx, tenant, jobs.KindCall, state, math.MaxInt32, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if reason != "" && !strings.EqualFold(reason, string(r.State)) && !strings.EqualFold(reason, r.Reason) {
				continue
			}
			if !since.IsZero() && r.ItemTime.Before(since) {
				continue
			}
			var call jobs.Call
			if len(r.Payload) == 0 || json.Unmarshal(r.Payload, &call) != nil {
				continue
			}
			calls = append(calls, call)
		}
	}
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].Start.Before(calls[j].Start) })
	return calls, nil
}

// retryQuarantined loads the quarantined records to decode again, oldest
// first: with a reason, those whose reason contains it (case-insensitive);
// none for a ledger state word, all for "quarantined".
func retryQuarantined(ctx context.Context, st *store.Store, tenant, reason string, since time.Time) ([]store.QuarantineRecord, error) {
	if slices.ContainsFunc(ledgerOnly, func(s store.LedgerState) bool { return strings.EqualFold(string(s), reason) }) {
		return nil, nil
	}
	recs, err := st.QuarantinedRecords(ctx, tenant, since)
	if err != nil {
		return nil, err
	}
	if reason == "" || strings.EqualFold(reason, quarantinedWord) {
		return recs, nil
	}
	want := strings.ToLower(reason)
	return slices.DeleteFunc(recs, func(r store.QuarantineRecord) bool {
		return !strings.Contains(strings.ToLower(r.Reason), want)
	}), nil
}
