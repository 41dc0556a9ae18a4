package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/callsync/callsync/config"
)

// ConfigCommand is `callsync config check`.
type ConfigCommand struct{ *Main }

// Run validates a config file and prints a redacted summary.
func (c *ConfigCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		return c.printHelp(configUsage)
	}
	if len(args) == 0 || args[0] != "check" {
		return usageError("%s", strings.TrimSpace(configUsage))
	}
	fs, path := c.configFlags("config check", "callsync config check --config FILE")
	if err := c.parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(*path, c.Getenv, configTypes())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%s: valid\n", *path)
	for _, n := range cfg.Notes() {
		fmt.Fprintf(c.Stdout, "note: %s\n", n)
	}
	fmt.Fprintln(c.Stdout)
	return cfg.WriteSummary(c.Stdout)
}

const configUsage = `Usage: callsync config check --config FILE
  Validate a config and print a redacted summary.
`

// configFlags starts the flag set of a subcommand that takes --config;
// synopsis is its usage line. Parse it with m.parse.
func (m *Main) configFlags(name, synopsis string) (*flag.FlagSet, *string) {
	fs := m.newFlags(name, synopsis)
	return fs, fs.String("config", "callsync.yaml", "config file")
}

// loadConfig is shared by the subcommands that take --config.
func (m *Main) loadConfig(path string) (*config.Config, error) {
	return config.Load(path, m.Getenv, configTypes())
}
