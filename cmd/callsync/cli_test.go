package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
)

// TestMain lets a test run the real main() in a child process (runMain), so
// exit statuses are checked as a shell sees them.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("CALLSYNC_TEST_RUN_MAIN"); ok {
		os.Args = append([]string{"callsync"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}

// runMain runs main() with args in a child process and returns its stdout,
// stderr and exit status.
func runMain(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "CALLSYNC_TEST_RUN_MAIN="+strings.Join(args, "\x1f"))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestEverySubcommandHelpPrintsUsageToStdoutAndExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"run", "--help"}, {"run", "-h"},
		{"status", "--help"},
		{"sync", "--help"},
		{"sync", "calls", "--help"}, {"sync", "calls", "-h"},
		{"sync", "callbacks", "--help"},
		{"config", "--help"}, {"config", "check", "--help"},
		{"sandbox", "--help"},
		{"doctor", "--help"}, {"doctor", "-h"},
	} {
		out, errOut, err := run(t, nil, args...)
		if code := exitCode(err); code != 0 || !strings.Contains(out, "Usage") || errOut != "" {
			t.Errorf("callsync %s: exit %d (%v), stdout %q, stderr %q; want the usage on stdout and exit 0",
				strings.Join(args, " "), code, err, out, errOut)
		}
	}
	// The flags are listed with their help text.
	out, _, _ := run(t, nil, "sync", "calls", "--help")
	for _, want := range []string{"callsync sync calls", "-from", "-dry-run", "-config"} {
		if !strings.Contains(out, want) {
			t.Errorf("sync calls --help lacks %q:\n%s", want, out)
		}
	}
}

func TestHelpAndUsageErrorsThroughMain(t *testing.T) {
	out, errOut, code := runMain(t, nil, "sync", "calls", "--help")
	if code != 0 || !strings.Contains(out, "Usage: callsync sync calls") || errOut != "" {
		t.Fatalf("sync calls --help: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	out, errOut, code = runMain(t, nil, "status", "--bogus")
	if code != 2 || out != "" || !strings.Contains(errOut, "bogus") || !strings.Contains(errOut, "Usage: callsync status") {
		t.Fatalf("status --bogus: exit %d (want 2)\nstdout %s\nstderr %s", code, out, errOut)
	}
	if _, errOut, code = runMain(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, "frobnicate") {
		t.Fatalf("unknown command: exit %d, stderr %s", code, errOut)
	}
	if _, errOut, code = runMain(t, nil, "config", "check", "--config", "/nonexistent/callsync.yaml"); code != 1 || errOut == "" {
		t.Fatalf("config check of a missing file: exit %d, stderr %q; want 1 with the reason", code, errOut)
	}
}

func TestVersionAndDashDashVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		out, _, code := runMain(t, nil, arg)
		if code != 0 || !strings.HasPrefix(out, "callsync ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "built ") {
			t.Errorf("callsync %s: exit %d, %q", arg, code, out)
		}
	}
}

func TestBuildVersionPrefersLinkerValuesThenBuildInfo(t *testing.T) {
	info := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"},
		{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	if got, want := buildVersion("", "", "", info), "callsync v1.4.0 (commit 0123456789ab-dirty, built 2026-12-01T10:00:00Z)"; got != want {
		t.Errorf("from build info: %q, want %q", got, want)
	}
	if got, want := buildVersion("v2.0.0", "abc1234", "2026-12-05T08:00:00Z", info), "callsync v2.0.0 (commit abc1234, built 2026-12-05T08:00:00Z)"; got != want {
		t.Errorf("from -ldflags: %q, want %q", got, want)
	}
	if got, want := buildVersion("", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}), "callsync dev (commit unknown, built unknown)"; got != want {
		t.Errorf("nothing known: %q, want %q", got, want)
	}
}
