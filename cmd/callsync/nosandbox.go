//go:build !sandbox

package main

import (
	"context"
	"errors"
	"slices"
)

// SandboxCommand is `callsync sandbox` in a binary built without the
// sandbox: its Enreach and CRM doubles are test code, which a production
// binary does not carry, so it only says how to get one that has it.
type SandboxCommand struct{ *Main }

// errNoSandbox is what `callsync sandbox` answers in such a binary.
var errNoSandbox = errors.New("sandbox: this callsync is built without the sandbox (its doubles are test code); run `make run`, or build one with `go build -tags sandbox ./cmd/callsync`")

// Run prints the usage for --help and otherwise, whatever the flags, fails
// with errNoSandbox.
func (c *SandboxCommand) Run(_ context.Context, args []string) error {
	fs := c.newFlags("sandbox", "callsync sandbox [--crm dynamics|salesforce|zoho] ... (in a binary built with -tags sandbox: make run)")
	if slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" }) {
		return c.parse(fs, []string{"-help"})
	}
	return &exitError{Code: exitUsage, Err: errNoSandbox}
}
