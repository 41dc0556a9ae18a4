package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/callsync/callsync/store"
)

const storeCopySynopsis = "callsync store copy --from sqlite:PATH --to postgres:URL [--force]"

// StoreCommand is `callsync store`: moving the state between engines.
type StoreCommand struct{ *Main }

// Run dispatches `store copy`.
func (c *StoreCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(c.Stdout, "Usage: %s\n\nCopies every table of a SQLite store (watermarks, ledger, webhook inbox, schedules, job runs,\nquarantine, preflights...) into a PostgreSQL database, in one transaction, and verifies the row counts.\n`--to postgres:` without a URL reads $DATABASE_URL (keeps the password out of the process list).\n", storeCopySynopsis)
		if len(args) == 0 {
			return usageError("store: missing subcommand\nUsage: %s", storeCopySynopsis)
		}
		return nil
	}
	if args[0] != "copy" {
		return usageError("store: unknown subcommand %q\nUsage: %s", args[0], storeCopySynopsis)
	}
	fs := c.newFlags("store copy", storeCopySynopsis)
	from := fs.String("from", "", "the source: sqlite:PATH (the store.path of the SQLite config)")
	to := fs.String("to", "", "the target: postgres:URL, or postgres: to read $DATABASE_URL")
	force := fs.Bool("force", false, "replace the content of a target that is not empty")
	if err := c.parse(fs, args[1:]); err != nil {
		return err
	}
	path, ok := strings.CutPrefix(*from, "sqlite:")
	if !ok || path == "" {
		return usageError("store copy: --from must be sqlite:PATH, got %q\nUsage: %s", *from, storeCopySynopsis)
	}
	url, ok := strings.CutPrefix(*to, "postgres:")
	if !ok {
		return usageError("store copy: --to must be postgres:URL (or postgres: with $DATABASE_URL), got %q\nUsage: %s", store.Redact(*to), storeCopySynopsis)
	}
	if url == "" {
		url, _ = c.Getenv("DATABASE_URL")
		if url == "" {
			return usageError("store copy: --to postgres: without a URL needs $DATABASE_URL")
		}
	} else if strings.HasPrefix(url, "//") {
		url = "postgres:" + url
	}
	src, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := store.OpenPostgres(ctx, url, store.PoolOptions{})
	if err != nil {
		return err
	}
	defer dst.Close()
	start := time.Now()
	last := time.Time{}
	res, err := src.CopyTo(ctx, dst, *force, func(table string, done, total int64) {
		if done == total || time.Since(last) >= time.Second {
			last = time.Now()
			pct := 100.0
			if total > 0 {
				pct = float64(done) * 100 / float64(total)
			}
			fmt.Fprintf(c.Stderr, "copy %-22s %d/%d rows (%.1f%%)\n", table, done, total, pct)
		}
	})
	if err != nil {
		return err
	}
	var sum int64
	for _, t := range res.Tables {
		fmt.Fprintf(c.Stdout, "%-22s %d rows (verified)\n", t, res.Rows[t])
		sum += res.Rows[t]
	}
	fmt.Fprintf(c.Stdout, "copied %d rows in %d tables from %s to %s in %s; set store.driver: postgres and store.url, then start callsync run\n",
		sum, len(res.Tables), path, store.Redact(url), time.Since(start).Round(time.Millisecond))
	return nil
}
