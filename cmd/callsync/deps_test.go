package main

import (
	"os/exec"
	"strings"
	"testing"
)

// goListDeps returns the packages the given packages import, directly or
// not, test files excluded (go list -deps).
func goListDeps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not installed")
	}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	return strings.Fields(string(out))
}

// The production binary (built without the sandbox tag) carries no test
// code: not the standard testing package or net/http/httptest, and none of
// the module's test packages: the doubles (<name>test, internal/double),
// the conformance suite and the engine's end-to-end run.
func TestBinaryHasNoTestCode(t *testing.T) {
	const mod = "github.com/callsync/callsync/"
	for _, p := range goListDeps(t, mod+"cmd/callsync") {
		ours := strings.HasPrefix(p, mod)
		if p == "testing" || p == "net/http/httptest" || ours && (strings.HasSuffix(p, "test") || p == mod+"internal/double") {
			t.Errorf("go list -deps ./cmd/callsync lists %s", p)
		}
	}
}

// Packages below jobs (the CRM clients, the store, the Enreach client and
// their doubles) never import jobs or cmd: the layers point one way.
func TestLowerPackagesDoNotImportJobsOrCmd(t *testing.T) {
	const mod = "github.com/callsync/callsync/"
	for _, root := range []string{"crm/...", "store/...", "enreach/..."} {
		for _, p := range goListDeps(t, "../../"+root) {
			if p == mod+"jobs" || strings.HasPrefix(p, mod+"jobs/") || strings.HasPrefix(p, mod+"cmd/") {
				t.Errorf("go list -deps ./%s lists %s", root, p)
			}
		}
	}
}
