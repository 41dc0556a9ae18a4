// Command callsync keeps CRMs in step with Enreach Voice: it syncs finished
// calls and callback requests to Dynamics 365, Salesforce or Zoho CRM, and
// answers Enreach Smart Routing lookups. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/callsync/callsync/internal/gcpace"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.LookupEnv, BoundBackfillMemory: true}
	stopProfiles := startProfiles(os.LookupEnv)
	stopPacing := paceGC(os.LookupEnv)
	err := m.Run(ctx, os.Args[1:])
	stopPacing()
	stopProfiles()
	stop()
	if msg := errorMessage(err); msg != "" {
		fmt.Fprintln(os.Stderr, "callsync:", msg)
	}
	os.Exit(exitCode(err))
}

// paceGC runs the garbage collector at GOGC=200 under a soft memory limit
// of 64 MiB or, once the live heap is larger, its GOGC=100 goal
// (internal/gcpace), when CALLSYNC_GC_PACE=1 and neither GOGC nor
// GOMEMLIMIT is set; otherwise the Go runtime's own settings apply. It is
// not the default: in the 1,000,000-call backfill it cut collections by a
// third but raised the peak RSS above 100 MiB (105.7 against 97.0 MiB).
func paceGC(getenv func(string) (string, bool)) (stop func()) {
	v, _ := getenv("CALLSYNC_GC_PACE")
	_, gogc := getenv("GOGC")
	_, limit := getenv("GOMEMLIMIT")
	if v != "1" || gogc || limit {
		return func() {}
	}
	return gcpace.Start(gcpace.Options{Percent: 200, Floor: 64 << 20})
}

// boundBackfillMemory holds a backfill's Go memory under a soft limit of
// backfillMemoryFloor or, once the live heap is larger, the live heap and a
// quarter of it (internal/gcpace, GOGC unchanged), unless GOGC, GOMEMLIMIT
// or CALLSYNC_GC_PACE is set; stop restores the limit found. Without it,
// the collector's free heap, not what the backfill holds, made the peak
// RSS of a long backfill vary by 20 MiB between runs: in a 1,000,000-call
// backfill the runtime held 86.2 MiB with 32.0 MiB of objects at a peak of
// 116.7 MiB (https://go.dev/doc/gc-guide#Memory_limit).
func boundBackfillMemory(getenv func(string) (string, bool)) (stop func()) {
	for _, k := range []string{"GOGC", "GOMEMLIMIT", "CALLSYNC_GC_PACE"} {
		if _, ok := getenv(k); ok {
			return func() {}
		}
	}
	return gcpace.Start(gcpace.Options{Percent: 100, Floor: backfillMemoryFloor, Headroom: 25})
}

// backfillMemoryFloor is boundBackfillMemory's lowest limit: with it the
// 100,000- and 1,000,000-call backfills of the bench measured a peak RSS
// of 87.5 and 89.6 MiB (a fixed limit of this size; go run ./bench -only
// backfill -crm dynamics -scale).
const backfillMemoryFloor = 60 << 20

// Main is the program, with its standard streams and environment, so tests
// drive it like a user.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) (string, bool)
	// BoundBackfillMemory: `sync calls` holds its Go memory under a soft
	// limit while it runs (boundBackfillMemory). The limit is the
	// process's, so commands run by tests leave it off.
	BoundBackfillMemory bool
}

// Run dispatches a subcommand.
func (m *Main) Run(ctx context.Context, args []string) error {
	cmd, rest := "", args
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return (&RunCommand{Main: m}).Run(ctx, rest)
	case "sync":
		return (&SyncCommand{Main: m}).Run(ctx, rest)
	case "status":
		return (&StatusCommand{Main: m}).Run(ctx, rest)
	case "config":
		return (&ConfigCommand{Main: m}).Run(ctx, rest)
	case "sandbox":
		return (&SandboxCommand{Main: m}).Run(ctx, rest)
	case "retry":
		return (&RetryCommand{Main: m}).Run(ctx, rest)
	case "explain":
		return (&ExplainCommand{Main: m}).Run(ctx, rest)
	case "doctor":
		return (&DoctorCommand{Main: m}).Run(ctx, rest)
	case "directory":
		return (&DirectoryCommand{Main: m}).Run(ctx, rest)
	case "store":
		return (&StoreCommand{Main: m}).Run(ctx, rest)
	case "version", "--version", "-version", "-v":
		fmt.Fprintln(m.Stdout, versionLine())
		return nil
	case "", "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		return usageError("unknown command %q (see 'callsync help')", cmd)
	}
}

const usage = `callsync keeps a CRM in step with Enreach Voice.

Usage:
  callsync run      --config FILE          run the worker (scheduler + HTTP server)
  callsync sandbox  [--crm dynamics|salesforce|zoho]
                                           run the worker against built-in test doubles
  callsync sync calls --config FILE [--tenant T] --from TIME --to TIME [--dry-run]
                                           backfill calls of a time range
  callsync sync callbacks --config FILE [--tenant T] [--profile P]
                                           one polling pass of callback requests
  callsync status   --config FILE          per tenant: last runs, watermark lag, counts
  callsync retry    --config FILE [--tenant T] [--reason R] [--since TIME] [--dry-run]
                                           re-run failed, unresolved and pending calls
  callsync explain  --config FILE [--tenant T] [--json] (CALL_ID | --number N --at TIME)
                                           the story of one call, from the local store
  callsync config check --config FILE      validate a config and print a redacted summary
  callsync doctor   --config FILE [--tenant T] [--json]
                                           check each tenant's Enreach and CRM org and settings
                                           (read-only; exit 0 all ok, 1 a check failed, 3 warnings only)
  callsync store copy --from sqlite:PATH --to postgres:URL [--force]
                                           move a SQLite store's state to PostgreSQL (verified)
  callsync version                         version, commit and build date (also --version)

Every command takes -h/--help.
`

// newLogger builds the slog logger of the config's log section.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
