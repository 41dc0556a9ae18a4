package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
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

// retryStates are the ledger states retry takes up.
var retryStates = []string{store.Failed, store.Pending, store.Unresolved}

// retryBatch is how many calls go through one ProcessCalls pass.
const retryBatch = 200

// Run re-processes the tenant's failed, pending and unresolved calls from
// their stored payload (Enreach is not asked again). The attempt limit of
// the scheduled retries does not apply: a person asked. Calls already
// written are never written again, so running it twice is safe.
func (c *RetryCommand) Run(ctx context.Context, args []string) error {
	fs, path := c.configFlags("retry", retrySynopsis)
	tenant := fs.String("tenant", "", "only this tenant (default: all)")
	reason := fs.String("reason", "", "only items with this state or reason (failed, unresolved, no_match, multiple_matches, ...)")
	sinceS := fs.String("since", "", "only calls that started at or after TIME (RFC 3339 or YYYY-MM-DD[ HH:MM])")
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
	var failed bool
	for _, t := range tenants {
		calls, err := retryCalls(ctx, a.store, t.Name, *reason, since)
		if err != nil {
			return err
		}
		var sum jobs.Summary
		p := c.newProgress(c.Stderr, t.Name)
		for i := 0; i < len(calls); i += retryBatch {
			part := calls[i:min(i+retryBatch, len(calls))]
			got, err := a.syncer.ProcessCalls(ctx, t, part, jobs.SyncOptions{DryRun: *dry, Stop: ctx.Done()})
			sum.Add(got)
			p.count(i+len(part), len(calls), sum)
			if err != nil {
				fmt.Fprintf(c.Stderr, "%s: %v\n", t.Name, err)
				failed = true
				break
			}
		}
		p.done()
		printSummary(c.Stdout, t.Name, sum, *dry)
	}
	if failed {
		return fmt.Errorf("retry did not complete; run it again: nothing is written twice")
	}
	return nil
}

// retryCalls loads the calls to retry, oldest first.
func retryCalls(ctx context.Context, st *store.Store, tenant, reason string, since time.Time) ([]jobs.Call, error) {
	var calls []jobs.Call
	for _, state := range retryStates {
		rows, err := st.LedgerByState(ctx, tenant, jobs.KindCall, state, math.MaxInt32, math.MaxInt32)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if reason != "" && !strings.EqualFold(reason, r.State) && !strings.EqualFold(reason, r.Reason) {
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
