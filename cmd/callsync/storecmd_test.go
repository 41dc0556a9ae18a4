package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callsync/callsync/store"
)

// A SQLite store with written calls, copied to PostgreSQL: the copy is
// verified, a second copy is refused without --force, and a backfill on
// PostgreSQL over the same days writes no call a second time.
func TestStoreCopySQLiteToPostgres(t *testing.T) {
	d := newDoubles(t)
	d.addCalls(25)
	args := []string{"sync", "calls", "--config", d.config, "--from", "2026-03-01", "--to", "2026-03-04"}
	out, _, err := run(t, d.env, args...)
	if err != nil || !strings.Contains(out, "written 25") {
		t.Fatalf("backfill on SQLite: %v\n%s", err, out)
	}
	dbPath := filepath.Join(filepath.Dir(d.config), "callsync.db")
	d.onPostgres(t)

	out, progress, err := run(t, d.env, "store", "copy", "--from", "sqlite:"+dbPath, "--to", "postgres:")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ledger                 25 rows (verified)", "watermarks", "job_runs", "copied "} {
		if !strings.Contains(out, want) {
			t.Errorf("copy output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(progress, "copy ledger") || !strings.Contains(progress, "25/25 rows (100.0%)") {
		t.Errorf("no progress on stderr:\n%s", progress)
	}
	if !strings.Contains(out, "to postgres://postgres@127.0.0.1:") {
		t.Errorf("summary does not name the target:\n%s", out)
	}

	_, _, err = run(t, d.env, "store", "copy", "--from", "sqlite:"+dbPath, "--to", "postgres:")
	if !errors.Is(err, store.ErrTargetNotEmpty) || !strings.Contains(err.Error(), "ledger (25 rows)") {
		t.Fatalf("second copy: err = %v, want the target refused as not empty", err)
	}
	if _, _, err = run(t, d.env, "store", "copy", "--force", "--from", "sqlite:"+dbPath, "--to", "postgres:"); err != nil {
		t.Fatalf("copy --force: %v", err)
	}

	out, _, err = run(t, d.env, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "written 0, already written 25") || len(d.dyn.PhoneCalls()) != 25 {
		t.Fatalf("backfill on the copied PostgreSQL store wrote again (%d phonecalls):\n%s", len(d.dyn.PhoneCalls()), out)
	}
	if _, err := os.Stat(dbPath); err != nil {
		t.Fatalf("the source store is gone: %v", err)
	}
}

func TestStoreCopyUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"store"}, "missing subcommand"},
		{[]string{"store", "move"}, `unknown subcommand "move"`},
		{[]string{"store", "copy", "--from", "x.db", "--to", "postgres:"}, "--from must be sqlite:PATH"},
		{[]string{"store", "copy", "--from", "sqlite:x.db", "--to", "mysql://u:SECRET@h/d"}, "--to must be postgres:URL"},
	} {
		_, _, err := run(t, nil, tc.args...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%v: err = %v (exit %d), want usage error %q", tc.args, err, exitCode(err), tc.want)
		}
	}
}
