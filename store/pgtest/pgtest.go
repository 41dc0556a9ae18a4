// Package pgtest runs a throwaway PostgreSQL cluster for tests: initdb and
// pg_ctl in a temporary directory, listening on a free loopback port, one
// fresh database per test. initdb refuses to run as root
// (https://www.postgresql.org/docs/current/app-initdb.html), so as root the
// cluster runs as the postgres user. The binaries come from PATH or from
// Debian's /usr/lib/postgresql/<version>/bin (apt-get install postgresql).
//
// The server dies with the test process, even one killed by SIGKILL, and a
// later run removes the directories that killed runs left behind.
//
// Without PostgreSQL binaries a test is skipped with a message, except under
// CI=true, where it fails: CI installs PostgreSQL and must test it.
package pgtest

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
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a throwaway cluster, started by the first test that needs it
// (or the reason there is none).
type Cluster struct {
	once            sync.Once
	bin, dir, owner string
	port            int
	err             error
	missing         bool // no binaries: a skip outside CI
	mu              sync.Mutex
	n               int
	// postmaster is the server process, a child of this one; exited
	// closes when it ended, stopped releases its starter thread.
	postmaster      *os.Process
	exited, stopped chan struct{}
}

// New returns a cluster that starts when a test first needs it. Stop it at
// the end of the test run (TestMain).
func New() *Cluster { return &Cluster{} }

func (c *Cluster) ensure() {
	c.once.Do(func() {
		c.bin = binDir()
		if c.bin == "" {
			c.missing = true
			c.err = fmt.Errorf("no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin: install them with apt-get install -y postgresql")
			return
		}
		c.err = c.start()
	})
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

func (c *Cluster) start() error {
	removeStale(os.TempDir())
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return err
	}
	c.dir = dir
	// The owner's pid: a later run removes the directory once this
	// process is gone (removeStale).
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		c.owner = "postgres"
		u, err := user.Lookup(c.owner)
		if err != nil {
			return fmt.Errorf("running as root, initdb needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, out)
	}
	// The postmaster is a child of this process (not daemonized by pg_ctl)
	// and gets SIGQUIT, PostgreSQL's immediate shutdown, when this process
	// dies, even by SIGKILL (PR_SET_PDEATHSIG, man 2 prctl). The signal is
	// tied to the thread that started the child, so that thread stays
	// locked and alive until Stop.
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return err
	}
	started := make(chan error, 1)
	c.stopped = make(chan struct{})
	c.exited = make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		cmd := exec.Command(filepath.Join(c.bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
			"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=200")
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT, Credential: cred}
		if err := cmd.Start(); err != nil {
			started <- err
			close(c.exited)
			return
		}
		c.postmaster = cmd.Process
		started <- nil
		go func() { cmd.Wait(); logf.Close(); close(c.exited) }()
		select {
		case <-c.stopped:
		case <-c.exited:
		}
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case <-c.exited:
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return fmt.Errorf("postgres exited at start: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return fmt.Errorf("postgres did not accept connections within 60 s: %v: %s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dirPrefix names the clusters' directories in the temp root; ownerFile
// holds the pid of the test process that started one.
const (
	dirPrefix = "callsync-pg-"
	ownerFile = "owner.pid"
)

// removeStale removes the clusters left in root by test processes that are
// gone (killed before Stop), stopping a postmaster still running there
// (one started before the postmaster died with its parent).
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

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	bin := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.owner != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.owner, "--", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Dir = c.dir
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

// Stop stops the cluster (immediate shutdown, SIGQUIT) and removes its
// directory.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir == "" {
		return
	}
	if c.postmaster != nil {
		c.postmaster.Signal(syscall.SIGQUIT)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			c.postmaster.Kill()
		}
		close(c.stopped)
	}
	os.RemoveAll(c.dir)
	c.dir = ""
}

// URL is the connection URL of database db.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// Need skips (no binaries, outside CI) or fails the test when the cluster
// is not running.
func (c *Cluster) Need(t testing.TB) {
	t.Helper()
	c.ensure()
	if c.err == nil {
		return
	}
	if c.missing && os.Getenv("CI") != "true" {
		t.Skipf("PostgreSQL tests skipped: %v", c.err)
	}
	t.Fatalf("PostgreSQL: %v", c.err)
}

// NewDatabase creates an empty database for the test, dropped at its end,
// and returns its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	c.Need(t)
	c.mu.Lock()
	c.n++
	name := fmt.Sprintf("t%d_%s", c.n, strings.ToLower(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())))
	c.mu.Unlock()
	if len(name) > 60 {
		name = name[:60]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("PostgreSQL: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if a, err := pgx.Connect(ctx, c.URL("postgres")); err == nil {
			a.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			a.Close(ctx)
		}
	})
	return c.URL(name)
}
