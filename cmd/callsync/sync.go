package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
)

// SyncCommand is `callsync sync calls|callbacks`: one pass by hand.
type SyncCommand struct{ *Main }

// Run dispatches on what to sync.
func (c *SyncCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		return c.printHelp(syncUsage)
	}
	if len(args) == 0 {
		return usageError("%s", strings.TrimSpace(syncUsage))
	}
	switch args[0] {
	case "calls":
		return c.calls(ctx, args[1:])
	case "callbacks":
		return c.callbacks(ctx, args[1:])
	}
	return usageError("callsync sync: unknown stream %q (calls or callbacks)", args[0])
}

const syncUsage = `Usage:
  callsync sync calls --config FILE [--tenant T] --from TIME --to TIME [--dry-run]
  callsync sync callbacks --config FILE [--tenant T] [--profile P] [--dry-run]
`

func (c *SyncCommand) calls(ctx context.Context, args []string) error {
	fs, path := c.configFlags("sync calls", "callsync sync calls --config FILE [--tenant T] --from TIME --to TIME [--dry-run]")
	tenant := fs.String("tenant", "", "only this tenant (default: all)")
	fromS := fs.String("from", "", "start of the range (RFC 3339 or YYYY-MM-DD[ HH:MM[:SS]], UTC unless it has an offset)")
	toS := fs.String("to", "", "end of the range, exclusive (same formats; default now)")
	dry := fs.Bool("dry-run", false, "decide and report, write nothing")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	from, err := parseTime(*fromS)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	to := time.Now().UTC()
	if *toS != "" {
		if to, err = parseTime(*toS); err != nil {
			return fmt.Errorf("--to: %w", err)
		}
	}
	if !from.Before(to) {
		return fmt.Errorf("--from %s is not before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	a, tenants, err := c.open(ctx, *path, *tenant)
	if err != nil {
		return err
	}
	defer a.Close()
	if edge := time.Now().UTC().Add(-a.cfg.Purge.LedgerRetention.D()); from.Before(edge) {
		// Ledger rows older than ledger_retention are purged: those calls
		// are recognised by the CRM-side idempotency key instead.
		fmt.Fprintf(c.Stderr, "note: --from %s is older than purge.ledger_retention (%s): calls before %s have no ledger row any more; the CRM's idempotency key still keeps them from being written twice\n",
			from.Format(time.RFC3339), a.cfg.Purge.LedgerRetention, edge.Format(time.RFC3339))
	}
	if c.BoundBackfillMemory {
		defer boundBackfillMemory(c.env)()
	}
	var failed bool
	for _, t := range tenants {
		p := c.newProgress(c.Stderr, t.Name)
		sum, err := a.syncer.Backfill(ctx, t, from, to, jobs.SyncOptions{DryRun: *dry, Stop: ctx.Done()}, p.update)
		p.done()
		printSummary(c.Stdout, t.Name, sum, *dry)
		if err != nil {
			fmt.Fprintf(c.Stderr, "%s: %v\n", t.Name, err)
			failed = true
		}
	}
	if failed {
		return fmt.Errorf("backfill did not complete; run it again: nothing is written twice")
	}
	return nil
}

// open loads the config and opens the app for a manual pass over one tenant
// (or all when tenant is ""), quietly (warnings and errors only).
func (c *SyncCommand) open(ctx context.Context, path, tenant string) (*app, []*jobs.Tenant, error) {
	cfg, err := c.loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	if tenant != "" {
		if _, ok := cfg.Tenant(tenant); !ok {
			return nil, nil, fmt.Errorf("--tenant %q is not in %s (tenants: %s)", tenant, path, strings.Join(cfg.TenantNames(), ", "))
		}
	}
	a, err := openApp(ctx, cfg, newLogger(c.Stderr, cfg.Log.Format, "warn"), httpclient.Options{})
	if err != nil {
		return nil, nil, err
	}
	var ts []*jobs.Tenant
	for _, t := range a.registry.All() {
		if tenant == "" || t.Name == tenant {
			ts = append(ts, t)
		}
	}
	return a, ts, nil
}

func printSummary(w io.Writer, tenant string, s jobs.Summary, dry bool) {
	fmt.Fprintf(w, "%s: seen %d, written %d, already written %d, skipped %d, unresolved %d, failed %d, quarantined %d",
		tenant, s.Seen, s.Written, s.Already, s.SkippedTotal(), s.Unresolved, s.Failed, s.Quarantined)
	if dry {
		fmt.Fprintf(w, ", would write %d (dry run)", s.WouldWrite)
	}
	fmt.Fprintln(w)
	reasons := make([]string, 0, len(s.Skipped))
	for r := range s.Skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  skipped %-30s %d\n", r, s.Skipped[r])
	}
}

// parseTime reads RFC 3339 or "YYYY-MM-DD[ HH:MM[:SS]]" as UTC.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("required")
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339 or YYYY-MM-DD[ HH:MM[:SS]])", s)
}

// progress draws a bar on a terminal and plain lines elsewhere.
type progress struct {
	w      io.Writer
	tenant string
	tty    bool
	last   time.Time
}

// newProgress reports progress on w: a bar redrawn in place on a terminal,
// plain lines at most once a second otherwise, and also when NO_COLOR is
// set (https://no-color.org) or TERM is dumb, where redrawing is unwanted.
func (m *Main) newProgress(w io.Writer, tenant string) *progress {
	p := &progress{w: w, tenant: tenant}
	if v, _ := m.env("NO_COLOR"); v != "" { // "present and not an empty string"
		return p
	}
	if term, _ := m.env("TERM"); term == "dumb" {
		return p
	}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// env looks a variable up with the program's Getenv (nil: none set).
func (m *Main) env(k string) (string, bool) {
	if m.Getenv == nil {
		return "", false
	}
	return m.Getenv(k)
}

func (p *progress) update(done, total time.Duration, s jobs.Summary) {
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	if p.tty {
		const width = 30
		n := int(pct / 100 * width)
		fmt.Fprintf(p.w, "\r%s [%s%s] %5.1f%% seen %d written %d", p.tenant, strings.Repeat("#", n), strings.Repeat(".", width-n), pct, s.Seen, s.Written)
		return
	}
	if time.Since(p.last) < time.Second && done < total {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "%s: %.1f%% seen %d written %d\n", p.tenant, pct, s.Seen, s.Written)
}

// count reports progress through a list of items.
func (p *progress) count(done, total int, s jobs.Summary) {
	if p.tty {
		const width = 30
		n := width
		if total > 0 {
			n = done * width / total
		}
		fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d written %d failed %d", p.tenant, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, s.Written, s.Failed)
		return
	}
	if time.Since(p.last) < time.Second && done < total {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "%s: %d/%d written %d failed %d\n", p.tenant, done, total, s.Written, s.Failed)
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func (c *SyncCommand) callbacks(ctx context.Context, args []string) error {
	fs, path := c.configFlags("sync callbacks", "callsync sync callbacks --config FILE [--tenant T] [--profile P] [--dry-run]")
	tenant := fs.String("tenant", "", "only this tenant (default: all)")
	profile := fs.String("profile", "", "only this callback profile (default: every active profile)")
	dry := fs.Bool("dry-run", false, "decide and report, write nothing")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	a, tenants, err := c.open(ctx, *path, *tenant)
	if err != nil {
		return err
	}
	defer a.Close()
	var errs []error
	for _, t := range tenants {
		tc := t.Config()
		if *profile == "" && len(tc.ActiveProfiles()) == 0 {
			continue
		}
		sum, err := a.syncer.SyncCallbacksOnce(ctx, t, *profile, jobs.SyncOptions{DryRun: *dry, Stop: ctx.Done()})
		printSummary(c.Stdout, t.Name, sum, *dry)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
