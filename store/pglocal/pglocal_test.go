package pglocal

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act as a process that starts a server and
// then hangs until it is killed (PGLOCAL_CHILD=1).
func TestMain(m *testing.M) {
	if os.Getenv("PGLOCAL_CHILD") == "1" {
		s, err := Start(context.Background())
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		// The first line of postmaster.pid is the server's pid.
		b, err := os.ReadFile(filepath.Join(s.dir, "data", "postmaster.pid"))
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		pid, _, _ := strings.Cut(string(b), "\n")
		os.Stdout.WriteString("postmaster " + pid + " " + s.dir + "\n")
		select {}
	}
	os.Exit(m.Run())
}

// A process killed with SIGKILL (no Stop, no cleanup) does not leave its
// PostgreSQL server running; the next Start removes its directory.
func TestServerDiesWithKilledTestProcess(t *testing.T) {
	if binDir() == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no PostgreSQL binaries under CI")
		}
		t.Skip("PostgreSQL tests skipped: no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PGLOCAL_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("child: %v (%q)", err, line)
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "postmaster" {
		cmd.Process.Kill()
		t.Fatalf("child: %q", line)
	}
	pm, _ := strconv.Atoi(f[1])
	dir := f[2]
	if !alive(pm) {
		t.Fatalf("postmaster %d not running", pm)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for alive(pm) && !zombieOrGone(pm) {
		if time.Now().After(deadline) {
			t.Fatalf("postmaster %d still running 30 s after its test process was killed", pm)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("cluster directory %s: %v", dir, err)
	}
	removeStale(filepath.Dir(dir))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("stale cluster directory %s not removed: %v", dir, err)
	}
}

// zombieOrGone reports whether pid has exited (a zombie waits for a parent
// that is gone: init reaps it).
func zombieOrGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndex(s, ")")
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}

// A port taken by another process between choosing it and the postmaster
// binding it (initdb runs in between) makes Start try another port rather
// than fail.
func TestStartRetriesATakenPort(t *testing.T) {
	if binDir() == "" {
		t.Skip("no PostgreSQL binaries: apt-get install -y postgresql")
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := busy.Addr().(*net.TCPAddr).Port
	picks := 0
	s, err := start(context.Background(), &Server{bin: binDir(), pickPort: func() (int, error) {
		picks++
		if picks == 1 {
			return taken, nil
		}
		return freePort()
	}})
	if err != nil {
		t.Fatalf("start with the first port taken: %v", err)
	}
	defer s.Stop()
	if s.port == taken || picks != 2 {
		t.Fatalf("listening on %d after %d picks, want another port than the taken %d on the second pick", s.port, picks, taken)
	}
}
