package config_test

import (
	"strings"
	"testing"

	"github.com/callsync/callsync/config"
)

func TestStoreDriverSettings(t *testing.T) {
	c := mustParse(t, "tenants:"+validTenant)
	if c.Store.Driver != config.DriverSQLite || c.Store.Path != config.DefaultStorePath {
		t.Errorf("default store = %q %q, want sqlite %s", c.Store.Driver, c.Store.Path, config.DefaultStorePath)
	}
	c = mustParse(t, "store:\n  path: /data/x.db\ntenants:"+validTenant)
	if c.Store.Driver != config.DriverSQLite {
		t.Errorf("store with only a path: driver %q, want sqlite", c.Store.Driver)
	}

	vars := map[string]string{"DATABASE_URL": "postgres://callsync:SECRET-pg@db.example:5432/callsync"}
	for k, v := range testEnv {
		vars[k] = v
	}
	c, err := config.Parse([]byte("store:\n  driver: postgres\n  url: ${DATABASE_URL}\n  max_conns: 8\n  connect_timeout: 5s\ntenants:"+validTenant), env(vars), crmTypes)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.URL.Value() != vars["DATABASE_URL"] || c.Store.MaxConns != 8 || c.Store.ConnectTimeout.String() != "5s" {
		t.Errorf("postgres store = %+v", c.Store)
	}
	if s := c.Summary(); strings.Contains(s, "SECRET-pg") || !strings.Contains(s, "store.url") {
		t.Errorf("summary shows the database password or lacks store.url:\n%s", s)
	}

	for yaml, want := range map[string]string{
		"store:\n  driver: mysql\n":                                            `store.driver: invalid value "mysql" (want sqlite | postgres)`,
		"store:\n  driver: postgres\n":                                         "store.url: required",
		"store:\n  driver: postgres\n  url: postgres://h/d\n  max_conns: -1\n": "store.max_conns: must not be negative",
	} {
		_, err := parse(t, yaml+"tenants:"+validTenant)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", yaml, err, want)
		}
	}
}

func TestStoreLeaseTTL(t *testing.T) {
	c := mustParse(t, "store:\n  driver: postgres\n  url: postgres://h/d\n  lease_ttl: 10s\ntenants:"+validTenant)
	if c.Store.LeaseTTL.String() != "10s" {
		t.Errorf("lease_ttl = %s", c.Store.LeaseTTL)
	}
	_, err := parse(t, "store:\n  driver: postgres\n  url: postgres://h/d\n  lease_ttl: 2m\ntenants:"+validTenant)
	if err == nil || !strings.Contains(err.Error(), "store.lease_ttl: must be between 3s and 45s") {
		t.Errorf("lease_ttl 2m: err = %v", err)
	}
}

func TestStoreStatementTimeout(t *testing.T) {
	c := mustParse(t, "store:\n  driver: postgres\n  url: postgres://h/d\n  statement_timeout: 45s\ntenants:"+validTenant)
	if c.Store.StatementTimeout.String() != "45s" {
		t.Errorf("statement_timeout = %s", c.Store.StatementTimeout)
	}
	_, err := parse(t, "store:\n  driver: postgres\n  url: postgres://h/d\n  statement_timeout: -1s\ntenants:"+validTenant)
	if err == nil || !strings.Contains(err.Error(), "store.statement_timeout") {
		t.Errorf("statement_timeout -1s: err = %v", err)
	}
}
