package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// Measuring a child's peak RSS needs a detour. Go starts children with
// clone(CLONE_VM|CLONE_VFORK): until execve the child runs on the parent's
// address space, and Linux carries that address space's high-water mark into
// the child's ru_maxrss at exec. ProcessState.SysUsage().Maxrss of a child
// of the benchmark is therefore at least the benchmark's own peak (its
// doubles hold 100,000 calls), not the child's. So the benchmark starts
// itself as a small launcher (launcherEnv set), which runs callsync and
// reports callsync's rusage: the launcher's own mark is that of a fresh,
// small process, below anything callsync reaches.

// launcherEnv names the file a launcher writes the child's rusage to.
const launcherEnv = "CALLSYNC_BENCH_RUSAGE_FILE"

// childUsage is what the launcher reports.
type childUsage struct {
	MaxRSSKiB int64   `json:"maxrss_kib"`
	UserSec   float64 `json:"user_seconds"`
	SysSec    float64 `json:"system_seconds"`
	ExitCode  int     `json:"exit_code"`
}

// maybeLauncher runs the launcher when the environment asks for it and
// exits; otherwise it returns.
func maybeLauncher() {
	path := os.Getenv(launcherEnv)
	if path == "" {
		return
	}
	os.Unsetenv(launcherEnv)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "bench launcher: no command")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The child dies with the launcher (the benchmark cancelled).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "bench launcher:", err)
		os.Exit(2)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	u := childUsage{MaxRSSKiB: ru.Maxrss, UserSec: tv(ru.Utime), SysSec: tv(ru.Stime), ExitCode: cmd.ProcessState.ExitCode()}
	b, _ := json.Marshal(u)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "bench launcher:", err)
		os.Exit(2)
	}
	os.Exit(u.ExitCode)
}

// launch returns a command running name with args through the launcher;
// read its usage with readUsage after it ran.
func launch(ctx context.Context, usageFile, name string, args ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the benchmark binary: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, append([]string{name}, args...)...)
	cmd.Env = append(os.Environ(), launcherEnv+"="+usageFile)
	return cmd, nil
}

func readUsage(path string) (childUsage, error) {
	var u childUsage
	b, err := os.ReadFile(path)
	if err != nil {
		return u, fmt.Errorf("child usage: %w", err)
	}
	if err := json.Unmarshal(b, &u); err != nil {
		return u, fmt.Errorf("child usage: %w", err)
	}
	return u, nil
}
