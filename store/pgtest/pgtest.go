// Package pgtest runs a throwaway PostgreSQL cluster for tests: initdb and
// pg_ctl in a temporary directory, listening on a free loopback port, one
// fresh database per test. initdb refuses to run as root
// (https://www.postgresql.org/docs/current/app-initdb.html), so as root the
// cluster runs as the postgres user. The binaries come from PATH or from
// Debian's /usr/lib/postgresql/<version>/bin (apt-get install postgresql).
//
// Without PostgreSQL binaries a test is skipped with a message, except under
// CI=true, where it fails: CI installs PostgreSQL and must test it.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	dir, err := os.MkdirTemp("", "callsync-pg-")
	if err != nil {
		return err
	}
	c.dir = dir
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
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, dir)
	if out, err := c.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		return fmt.Errorf("pg_ctl start: %w: %s %s", err, out, log)
	}
	return nil
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

// Stop stops the cluster (immediate shutdown) and removes its directory.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir == "" {
		return
	}
	c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.dir)
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
