package main

import (
	"strings"
	"testing"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
)

func TestDirectorySyncAndShow(t *testing.T) {
	d := newDoubles(t)
	sven := d.dyn.AddContact(dynamicstest.Record{Name: "Sven", Phones: map[string]string{"telephone1": "08-123 456 02"},
		Fields: map[string]any{"address1_country": "Sverige"}})
	d.dyn.AddAccount(dynamicstest.Record{Name: "Typo Oy", Phones: map[string]string{"telephone1": "ask reception"}})

	out, progress, err := run(t, d.env, "directory", "sync", "--config", d.config, "--tenant", "contoso")
	if err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	if !strings.Contains(out, "contoso: full load of contact, account, lead: records 3, numbers 2, unparseable 1") {
		t.Fatalf("summary:\n%s", out)
	}
	if !strings.Contains(progress, "records read") {
		t.Fatalf("no progress:\n%s", progress)
	}

	out, _, err = run(t, d.env, "directory", "show", "--config", d.config, "--tenant", "contoso", "+46 8 123 456 02")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "+46812345602: 1 record fields hold it") || !strings.Contains(out, "contact "+sven+` telephone1 "08-123 456 02" parsed with SE (address country "Sverige")`) {
		t.Fatalf("show:\n%s", out)
	}
	// The same national digits read as Finnish are nobody's.
	if out, _, _ = run(t, d.env, "directory", "show", "--config", d.config, "08 123 456 02"); !strings.Contains(out, "+358812345602: 0 record fields") {
		t.Fatalf("show of the Finnish reading:\n%s", out)
	}
	out, _, err = run(t, d.env, "directory", "show", "--config", d.config, "--unparseable")
	if err != nil || !strings.Contains(out, `"ask reception"`) {
		t.Fatalf("unparseable: %v\n%s", err, out)
	}

	out, _, err = run(t, d.env, "status", "--config", d.config)
	if err != nil || !strings.Contains(out, "phone directory contact  2 records, 2 numbers, 0 unparseable") || !strings.Contains(out, "CRM change tracking") {
		t.Fatalf("status: %v\n%s", err, out)
	}

	// Again: the changes only (Dataverse change tracking: none since the
	// load), the three tables' deltas in one $batch request.
	out, _, err = run(t, d.env, "directory", "sync", "--config", d.config)
	if err != nil || !strings.Contains(out, "contoso: incremental: records 0") || !strings.Contains(out, "requests 1,") {
		t.Fatalf("second sync: %v\n%s", err, out)
	}
	if _, _, err := run(t, d.env, "directory", "show", "--config", d.config); err == nil {
		t.Fatal("show without a number or --unparseable succeeded")
	}
}
