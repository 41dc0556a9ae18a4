package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/phone"
	"github.com/callsync/callsync/phonedir"
)

// DirectoryCommand is `callsync directory sync|show`: the phone directory.
type DirectoryCommand struct{ *Main }

const directoryUsage = `Usage:
  callsync directory sync --config FILE [--tenant T] [--full]
  callsync directory show --config FILE [--tenant T] NUMBER
  callsync directory show --config FILE [--tenant T] --unparseable [--limit N]
`

// Run dispatches on the subcommand.
func (c *DirectoryCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		return c.printHelp(directoryUsage)
	}
	if len(args) == 0 {
		return usageError("%s", strings.TrimSpace(directoryUsage))
	}
	switch args[0] {
	case "sync":
		return c.sync(ctx, args[1:])
	case "show":
		return c.show(ctx, args[1:])
	}
	return usageError("callsync directory: unknown subcommand %q (sync or show)", args[0])
}

// sync loads (or incrementally syncs) each tenant's directory, with
// progress on stderr and a summary on stdout. A full load interrupted
// (Ctrl-C, kill -9) resumes from its stored page token on the next run.
func (c *DirectoryCommand) sync(ctx context.Context, args []string) error {
	fs, path := c.configFlags("directory sync", "callsync directory sync --config FILE [--tenant T] [--full]")
	tenant := fs.String("tenant", "", "only this tenant (default: all)")
	full := fs.Bool("full", false, "read every record again (a full reconcile), not only the changes")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	s := &SyncCommand{Main: c.Main}
	a, tenants, err := s.open(ctx, *path, *tenant)
	if err != nil {
		return err
	}
	defer a.Close()
	var failed bool
	for _, t := range tenants {
		l, ok := t.CRM.(crm.PhoneLister)
		if !ok {
			fmt.Fprintf(c.Stderr, "%s: the %s client cannot list phone fields\n", t.Name, t.Config().CRM.Type)
			failed = true
			continue
		}
		d := phonedir.New(a.store, l, phonedir.Options{Tenant: t.Name, Region: t.Config().DefaultRegion})
		p := c.newProgress(c.Stderr, t.Name)
		sum, err := d.Sync(ctx, *full, p.records)
		p.done()
		printDirectorySummary(c.Stdout, t.Name, sum)
		if err != nil {
			fmt.Fprintf(c.Stderr, "%s: %v\n", t.Name, err)
			failed = true
		}
	}
	if failed {
		return fmt.Errorf("directory sync failed for at least one tenant (the directory as it was stays in use; run again to resume)")
	}
	return nil
}

func printDirectorySummary(w io.Writer, tenant string, s phonedir.Summary) {
	kind := "incremental"
	if len(s.Full) > 0 {
		kind = "full load of " + joinEntities(s.Full)
		if len(s.Resumed) > 0 {
			kind += " (resumed: " + joinEntities(s.Resumed) + ")"
		}
	}
	fmt.Fprintf(w, "%s: %s: records %d, numbers %d, unparseable %d, removed %d, skipped %d, requests %d, took %s\n",
		tenant, kind, s.Records, s.Numbers, s.Unparseable, s.Deleted, s.Skipped, s.Requests, s.Took.Round(time.Millisecond))
}

func joinEntities(es []crm.Entity) string {
	ss := make([]string, len(es))
	for i, e := range es {
		ss[i] = string(e)
	}
	return strings.Join(ss, ", ")
}

// show answers "why was this call (not) linked?" from the store alone: the
// records holding a number, from which raw value and field, parsed with
// which region, and when; or the values that did not parse.
func (c *DirectoryCommand) show(ctx context.Context, args []string) error {
	const synopsis = "callsync directory show --config FILE [--tenant T] (NUMBER | --unparseable [--limit N])"
	fs := c.newFlags("directory show", synopsis)
	path := fs.String("config", "callsync.yaml", "config file")
	tenant := fs.String("tenant", "", "tenant (default: the only one)")
	bad := fs.Bool("unparseable", false, "list the stored values that did not parse")
	limit := fs.Int("limit", 100, "with --unparseable: at most this many")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if (fs.NArg() == 1) == *bad || fs.NArg() > 1 {
		return usageError("directory show: give one NUMBER or --unparseable\nUsage: %s", synopsis)
	}
	t, st, err := c.openTenantStore(ctx, *path, *tenant)
	if err != nil {
		return err
	}
	defer st.Close()
	states, err := st.DirectorySyncStates(ctx, t.Name)
	if err != nil {
		return err
	}
	for _, s := range states {
		line := fmt.Sprintf("%s: %s: %d records, %d numbers, %d unparseable; last sync %s", t.Name, s.Entity,
			s.Records, s.Numbers, s.Unparseable, stamp(s.LastSync))
		if s.Loading() {
			line += "; a full load is unfinished (callsync directory sync resumes it)"
		}
		fmt.Fprintln(c.Stdout, line)
	}
	if len(states) == 0 {
		fmt.Fprintf(c.Stdout, "%s: the phone directory was never loaded (callsync directory sync --tenant %s)\n", t.Name, t.Name)
	}
	if *bad {
		rows, err := st.DirectoryUnparseable(ctx, t.Name, *limit)
		if err != nil {
			return err
		}
		for _, r := range rows {
			fmt.Fprintf(c.Stdout, "%s %s %s %q country %q: %s (read %s)\n", r.Entity, r.RecordID, r.Field, r.Raw, r.Country, r.Reason, stamp(r.Synced))
		}
		return nil
	}
	n, ok := phone.NormalizeCaller(fs.Arg(0), t.DefaultRegion)
	if !ok {
		return fmt.Errorf("%q is not a number in region %s (%s)", fs.Arg(0), t.DefaultRegion, n.Reason())
	}
	rows, err := st.DirectoryLookup(ctx, t.Name, []string{n.E164()})
	if err != nil {
		return err
	}
	hits := rows[n.E164()]
	fmt.Fprintf(c.Stdout, "%s: %d record fields hold it\n", n.E164(), len(hits))
	for _, r := range hits {
		src := "the tenant's default region"
		if r.Country != "" {
			src = fmt.Sprintf("address country %q", r.Country)
		}
		fmt.Fprintf(c.Stdout, "  %s %s %s %q parsed with %s (%s); modified %s, read %s\n", r.Entity, r.RecordID, r.Field, r.Raw,
			r.Region, src, stamp(r.Modified), stamp(r.Synced))
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// records reports a directory load's progress: records read per entity (the
// total is not known in advance).
func (p *progress) records(e crm.Entity, n int) {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s: %s %d records read", p.tenant, e, n)
		return
	}
	if time.Since(p.last) < time.Second {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "%s: %s %d records read\n", p.tenant, e, n)
}
