// Package pgtest runs a throwaway PostgreSQL cluster for tests (package
// store/pglocal: initdb and the postmaster in a temporary directory on a
// free loopback port, as the postgres user when run as root), one fresh
// database per test.
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
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/store/pglocal"
)

// Cluster is a throwaway cluster, started by the first test that needs it
// (or the reason there is none).
type Cluster struct {
	once    sync.Once
	srv     *pglocal.Server
	err     error
	missing bool // no binaries: a skip outside CI
	mu      sync.Mutex
	n       int
}

// New returns a cluster that starts when a test first needs it. Stop it at
// the end of the test run (TestMain).
func New() *Cluster { return &Cluster{} }

func (c *Cluster) ensure() {
	c.once.Do(func() {
		c.srv, c.err = pglocal.Start(context.Background())
		c.missing = errors.Is(c.err, pglocal.ErrNoBinaries)
	})
}

// Stop stops the cluster (immediate shutdown, SIGQUIT) and removes its
// directory.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv != nil {
		c.srv.Stop()
	}
}

// URL is the connection URL of database db.
func (c *Cluster) URL(db string) string { return c.srv.URL(db) }

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
	url, err := c.srv.CreateDatabase(ctx, name)
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.srv.DropDatabase(ctx, name)
	})
	return url
}
