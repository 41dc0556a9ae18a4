//go:build !sandbox

package main

import (
	"strings"
	"testing"
)

// A binary built without the sandbox says how to get one, and exits with
// the usage status; its --help still prints the usage.
func TestSandboxNotBuiltSaysHow(t *testing.T) {
	_, _, err := run(t, nil, "sandbox", "--crm", "zoho")
	if code := exitCode(err); code != exitUsage || err == nil || !strings.Contains(err.Error(), "-tags sandbox") || !strings.Contains(err.Error(), "make run") {
		t.Fatalf("callsync sandbox: exit %d (%v); want exit %d naming -tags sandbox and make run", code, err, exitUsage)
	}
}
