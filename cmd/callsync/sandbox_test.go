package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
)

func callEndedAgo(d *doubles, ago time.Duration) enreach.Call {
	c := enreachtest.DirectCall(d.agent, "+358401234567", false, time.Now().Add(-ago-time.Minute), time.Second, time.Minute)
	c.Modified = time.Now().UTC().Add(-ago)
	return c
}

func TestSandboxShowsCallsFlowing(t *testing.T) {
	for _, crmType := range sortedKeys(sandboxCRMs) {
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
