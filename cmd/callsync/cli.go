package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

// Exit statuses of the callsync process.
const (
	exitOK       = 0
	exitFailure  = 1 // an error; for doctor: at least one check failed
	exitUsage    = 2 // bad flags or arguments
	exitWarnings = 3 // doctor: warnings only
)

// exitError is a command outcome that sets the process exit status. Err,
// when set, is printed by main; a nil Err exits silently (the command has
// already printed its result, e.g. doctor's check lines).
type exitError struct {
	Code int
	Err  error
}

func (e *exitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *exitError) Unwrap() error { return e.Err }

// exitCode maps a command's error to the process exit status: nil and a
// help request are 0, an *exitError its code, anything else 1.
func exitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return exitFailure
}

// errorMessage is what main prints for err on stderr ("" for nothing).
func errorMessage(err error) string {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ""
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.Err == nil {
		return ""
	}
	return err.Error()
}

// usageError is a command line mistake: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{Code: exitUsage, Err: fmt.Errorf(format, args...)}
}

// newFlags starts a subcommand's flag set. synopsis is the usage line
// without "Usage: " (e.g. "callsync run --config FILE"). Parse it with
// m.parse, which prints the usage to stdout for -h/--help and to stderr
// with the mistake otherwise.
func (m *Main) newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// While parsing, nothing is printed: parse prints once, to the right stream.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s\n", synopsis)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args into fs. -h/--help prints the usage to stdout and
// returns flag.ErrHelp (exit 0); a bad flag prints the usage to stderr and
// returns a usage error (exit 2).
func (m *Main) parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(m.Stdout)
		fs.Usage()
		return flag.ErrHelp
	case err != nil:
		fs.SetOutput(m.Stderr)
		fs.Usage()
		return &exitError{Code: exitUsage, Err: fmt.Errorf("%s: %w", fs.Name(), err)}
	}
	fs.SetOutput(m.Stderr)
	return nil
}

// isHelp reports whether a positional argument asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// printHelp writes text to stdout and returns flag.ErrHelp (exit 0).
func (m *Main) printHelp(text string) error {
	fmt.Fprint(m.Stdout, text)
	return flag.ErrHelp
}

// Set at build time by the Makefile's build target:
//
//	-ldflags "-X main.version=... -X main.commit=... -X main.date=..."
//
// Empty values fall back to the module and VCS information the Go
// toolchain embeds (runtime/debug.ReadBuildInfo).
var (
	version string
	commit  string
	date    string
)

// buildVersion is the version line: the linker's values first, then the
// build info's module version and vcs.revision / vcs.time / vcs.modified
// settings (https://pkg.go.dev/runtime/debug#BuildSetting).
func buildVersion(ldVersion, ldCommit, ldDate string, info *debug.BuildInfo) string {
	v, c, d := ldVersion, ldCommit, ldDate
	if info != nil {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		var rev, at string
		dirty := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if c == "" && rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if dirty {
				rev += "-dirty"
			}
			c = rev
		}
		if d == "" {
			d = at
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return fmt.Sprintf("callsync %s (commit %s, built %s)", v, c, d)
}

// versionLine is the version of this binary.
func versionLine() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return buildVersion(version, commit, date, info)
}
