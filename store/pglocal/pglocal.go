// Package pglocal runs a throwaway PostgreSQL server for tests and the
// benchmark: initdb and the postmaster in a temporary directory, listening
// on a free loopback port. initdb refuses to run as root
// (https://www.postgresql.org/docs/current/app-initdb.html), so as root the
// server runs as the postgres user. The binaries come from PATH or from
// Debian's /usr/lib/postgresql/<version>/bin (apt-get install postgresql).
//
// The server dies with the process that started it, even one killed by
// SIGKILL, and a later Start removes the directories that killed processes
// left behind. It trades durability for speed (fsync off): for throwaway
// data only.
package pglocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries is returned by Start when no PostgreSQL binaries are
// installed.
var ErrNoBinaries = errors.New("no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: install them with apt-get install -y postgresql")

// Server is a running throwaway PostgreSQL server.
type Server struct {
	bin, dir, owner string
	port            int
	mu              sync.Mutex
	// postmaster is the server process, a child of this one; exited
	// closes when it ended, stopped releases its starter thread.
	postmaster      *os.Process
	exited, stopped chan struct{}
	// pickPort chooses the port to listen on (nil: a free one).
	pickPort func() (int, error)
}

// Start initialises and starts a server and waits until it accepts
// connections. Stop it when done.
func Start(ctx context.Context) (*Server, error) {
	bin := binDir()
	if bin == "" {
		return nil, ErrNoBinaries
	}
	return start(ctx, &Server{bin: bin})
}

func start(ctx context.Context, s *Server) (*Server, error) {
	if err := s.start(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func binDir() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func (s *Server) start(ctx context.Context) error {
	removeStale(os.TempDir())
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	s.dir = dir
	// The owner's pid: a later Start removes the directory once this
	// process is gone (removeStale).
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		s.owner = "postgres"
		u, err := user.Lookup(s.owner)
		if err != nil {
			return fmt.Errorf("pglocal: running as root, initdb needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return fmt.Errorf("pglocal: %w", err)
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run(ctx, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		return fmt.Errorf("pglocal: initdb: %w: %s", err, out)
	}
	// The port is free when chosen, but another process may bind it before
	// the postmaster does (initdb takes seconds on a loaded machine): the
	// postmaster then exits at once, and another port is tried.
	pick := s.pickPort
	if pick == nil {
		pick = freePort
	}
	for attempt := 1; ; attempt++ {
		port, err := pick()
		if err != nil {
			return fmt.Errorf("pglocal: free port: %w", err)
		}
		err = s.listen(ctx, data, port, cred)
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			return err
		}
	}
}

// portAttempts is how many ports start tries before it gives up.
const portAttempts = 5

// errPortTaken is the postmaster exiting because its port is in use.
var errPortTaken = errors.New("port in use")

// listen starts the postmaster on port and waits until it accepts
// connections.
func (s *Server) listen(ctx context.Context, data string, port int, cred *syscall.Credential) error {
	s.port = port
	dir := s.dir
	// The postmaster is a child of this process (not daemonized by pg_ctl)
	// and gets SIGQUIT, PostgreSQL's immediate shutdown, when this process
	// dies, even by SIGKILL (PR_SET_PDEATHSIG, man 2 prctl). The signal is
	// tied to the thread that started the child, so that thread stays
	// locked and alive until Stop.
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	started := make(chan error, 1)
	stopped, exited := make(chan struct{}), make(chan struct{})
	s.mu.Lock()
	s.stopped, s.exited, s.postmaster = stopped, exited, nil
	s.mu.Unlock()
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
			"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=200")
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT, Credential: cred}
		if err := cmd.Start(); err != nil {
			started <- err
			close(exited)
			return
		}
		s.mu.Lock()
		s.postmaster = cmd.Process
		s.mu.Unlock()
		started <- nil
		go func() { cmd.Wait(); logf.Close(); close(exited) }()
		select {
		case <-stopped:
		case <-exited:
		}
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pglocal: postgres: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.URL("postgres"))
		if err == nil {
			conn.Close(cctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			if strings.Contains(string(log), "could not create any TCP/IP sockets") {
				return fmt.Errorf("pglocal: postgres on port %d: %w: %s", port, errPortTaken, log)
			}
			return fmt.Errorf("pglocal: postgres exited at start: %s", log)
		case <-ctx.Done():
			return fmt.Errorf("pglocal: waiting for postgres: %w", ctx.Err())
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return fmt.Errorf("pglocal: postgres did not accept connections within 60 s: %v: %s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dirPrefix names the servers' directories in the temp root; ownerFile
// holds the pid of the process that started one.
const (
	dirPrefix = "callsync-pg-"
	ownerFile = "owner.pid"
)

// removeStale removes the servers left in root by processes that are gone
// (killed before Stop), stopping a postmaster still running there (one
// started before the postmaster died with its parent).
func removeStale(root string) {
	dirs, _ := filepath.Glob(filepath.Join(root, dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not one of ours, or still being created
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || alive(pid) {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			// The first line of postmaster.pid is the postmaster's pid
			// (https://www.postgresql.org/docs/current/server-start.html).
			line, _, _ := strings.Cut(string(b), "\n")
			if pm, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && pm > 0 && alive(pm) {
				syscall.Kill(pm, syscall.SIGQUIT)
			}
		}
		os.RemoveAll(dir)
	}
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (s *Server) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	bin := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.owner != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", s.owner, "--", bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Stop stops the server (immediate shutdown, SIGQUIT) and removes its
// directory.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		return
	}
	if s.postmaster != nil {
		s.postmaster.Signal(syscall.SIGQUIT)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			s.postmaster.Kill()
		}
		close(s.stopped)
	}
	os.RemoveAll(s.dir)
	s.dir = ""
}

// URL is the connection URL of database db.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// CreateDatabase creates an empty database and returns its URL. name must
// be a plain identifier (letters, digits, underscores).
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	admin, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("pglocal: %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pglocal: create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

// DropDatabase drops a database, closing its connections.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	admin, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pglocal: drop database %s: %w", name, err)
	}
	return nil
}

// CPU is the user+system CPU time the server used so far: the postmaster's
// own and that of its exited children (cutime, cstime), plus its running
// children's (the backends), from /proc/<pid>/stat (man 5 proc: fields 14
// to 17, in clock ticks of 1/100 s, USER_HZ).
func (s *Server) CPU() (time.Duration, error) {
	s.mu.Lock()
	pm := s.postmaster
	s.mu.Unlock()
	if pm == nil {
		return 0, fmt.Errorf("pglocal: not running")
	}
	ticks, err := procTicks(pm.Pid, true)
	if err != nil {
		return 0, err
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pm.Pid {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := statFields(string(b))
		if len(f) < 17 || f[3] != strconv.Itoa(pm.Pid) {
			continue
		}
		t, err := procTicks(pid, false)
		if err != nil {
			continue // exited meanwhile: counted in the postmaster's cutime
		}
		ticks += t
	}
	return time.Duration(ticks) * time.Second / 100, nil
}

// procTicks is utime+stime of pid, and its waited-for children's cutime +
// cstime when children is set.
func procTicks(pid int, children bool) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("pglocal: cpu of %d: %w", pid, err)
	}
	f := statFields(string(b))
	if len(f) < 17 {
		return 0, fmt.Errorf("pglocal: cpu of %d: short /proc stat", pid)
	}
	n := 2
	if children {
		n = 4
	}
	var sum int64
	for _, v := range f[13 : 13+n] {
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("pglocal: cpu of %d: %w", pid, err)
		}
		sum += x
	}
	return sum, nil
}

// statFields splits /proc/<pid>/stat into its fields, numbered from 0 (the
// pid); the command name (field 1) may hold spaces, so it is cut at the
// last ')'.
func statFields(s string) []string {
	i := strings.LastIndex(s, ")")
	if i < 0 {
		return nil
	}
	return append([]string{"", ""}, strings.Fields(s[i+1:])...)
}

// Available reports whether PostgreSQL binaries are installed.
func Available() bool { return binDir() != "" }
