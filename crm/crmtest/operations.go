package crmtest

import (
	"strings"
	"testing"
)

// CheckOperations asserts what a client told its request hook: every
// request named (the token request as "token"), at least min distinct
// operations, and no record id in a name (ids would make one metric series
// per record).
func CheckOperations(t *testing.T, ops map[string]int, min int) {
	t.Helper()
	if ops[""] != 0 || ops["token"] == 0 || len(ops) < min {
		t.Errorf("operations told to the hook: %v; want each named, the token request as \"token\", at least %d", ops, min)
	}
	for op := range ops {
		if strings.ContainsAny(op, "0123456789") {
			t.Errorf("operation %q holds an id", op)
		}
	}
}
