//go:build sandbox

package main

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

func TestSandboxShowsCallsFlowing(t *testing.T) {
	for _, crmType := range sandboxTypes() {
		t.Run(crmType, func(t *testing.T) {
			var out, errb syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) (string, bool) { return "", false }}
			done := make(chan error, 1)
			go func() {
				done <- m.Run(ctx, []string{"sandbox", "--crm", crmType, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--every", "50ms"})
			}()
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(out.String(), "written ") && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("sandbox: %v\n%s", err, errb.String())
			}
			got := out.String()
			if !strings.Contains(got, "written ") || !strings.Contains(got, "sandbox stopped") {
				t.Fatalf("no call written or no clean stop:\n%s\nstderr:\n%s", got, errb.String())
			}
			if !strings.Contains(got, "status page      http://127.0.0.1:") {
				t.Errorf("the banner does not print the status page's URL:\n%s", got)
			}
			if strings.Contains(errb.String(), "level=ERROR") {
				t.Fatalf("errors while running:\n%s", errb.String())
			}
		})
	}
}

// A busy address (another program on 8080) makes the sandbox take a free
// port and say so, instead of failing.
func TestSandboxTakesAFreePortWhenBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) (string, bool) { return "", false }}
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, []string{"sandbox", "--listen", busy.Addr().String(), "--admin-listen", "127.0.0.1:0", "--every", "1h"})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "callsync http") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sandbox with a busy port: %v\n%s", err, errb.String())
	}
	got := out.String()
	if !strings.Contains(got, "--listen "+busy.Addr().String()+" is busy") || !strings.Contains(got, "callsync http    http://127.0.0.1:") ||
		strings.Contains(got, "callsync http    http://"+busy.Addr().String()) {
		t.Fatalf("banner:\n%s", got)
	}
}

// A call seen again by a later cycle with the same outcome is not printed
// again; a new outcome of it is.
func TestSandboxPrintsAnOutcomeOnce(t *testing.T) {
	var out syncBuffer
	p := &outcomePrinter{w: &out, seen: map[string]bool{}}
	unresolved := jobs.Outcome{CallID: "c1", State: store.Unresolved, Reason: "no_match", Number: "+358401"}
	p.print("t", unresolved)
	p.print("t", unresolved)
	p.print("t", jobs.Outcome{CallID: "c2", State: store.Skipped, Reason: "not_work"})
	p.print("t", jobs.Outcome{CallID: "c2", State: store.Skipped, Reason: "not_work"})
	p.print("t", jobs.Outcome{CallID: "c1", State: store.Written, CRMID: "x"})
	if got := strings.Count(out.String(), "\n"); got != 3 {
		t.Fatalf("%d lines, want 3:\n%s", got, out.String())
	}
}

// The sandbox's organisation is complete on every CRM double: every check
// of doctor is ok.
func TestDoctorOnEachSandboxCRMIsAllOK(t *testing.T) {
	for _, crmType := range sandboxTypes() {
		t.Run(crmType, func(t *testing.T) {
			en := enreachtest.NewServer()
			defer en.Close()
			cd := sandboxCRMs()[crmType]()
			defer cd.close()
			org := newSandboxOrg(en, cd)
			tc := config.DefaultTenant()
			tc.Name, tc.DefaultRegion = "sandbox", "FI"
			tc.Enreach.APIURL, tc.Enreach.User, tc.Enreach.SecretKey = en.URL, en.User, config.Secret(en.Secret)
			tc.PhoneCalls.DefaultCRMAssignee = org.users[0].ID
			cd.configure(&tc)
			p := config.DefaultProfile()
			p.Name, p.CallbackListID, p.Queue = "sales", org.list.ID, cd.addQueue("Sales callbacks")
			tc.Callbacks.Profiles = []config.Profile{p}
			r := checkTenant(context.Background(), filepath.Join(t.TempDir(), "callsync.db"), tc, newLogger(io.Discard, "text", "error"), httpclient.Options{})
			var b strings.Builder
			writeReport(&b, r)
			if r.Status != crm.CheckOK {
				t.Fatalf("the complete sandbox org is not all ok:\n%s", b.String())
			}
			for _, want := range []string{"enreach  callback_list sales", "config   default_crm_assignee"} {
				if !strings.Contains(b.String(), want) {
					t.Errorf("no %q line:\n%s", want, b.String())
				}
			}
		})
	}
}

// Every CRM type of the registry has a sandbox double.
func TestEveryCRMTypeHasASandbox(t *testing.T) {
	for _, name := range crmTypeNames() {
		if sandboxCRMs()[name] == nil {
			t.Errorf("crm.type %q has no sandbox double (sandboxCRMs)", name)
		}
	}
}
