package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/callsync/callsync/config"
)

// ConfigCommand is `callsync config check`.
type ConfigCommand struct{ *Main }

// Run validates a config file and prints a redacted summary.
func (c *ConfigCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return fmt.Errorf("usage: callsync config check --config FILE")
	}
	fs, path := c.configFlags("config check")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(*path, c.Getenv)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%s: valid\n\n", *path)
	return cfg.WriteSummary(c.Stdout)
}

// configFlags starts the flag set of a subcommand that takes --config.
func (m *Main) configFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	return fs, fs.String("config", "callsync.yaml", "config file")
}

// loadConfig is shared by the subcommands that take --config.
func (m *Main) loadConfig(path string) (*config.Config, error) {
	return config.Load(path, m.Getenv)
}
