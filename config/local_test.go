package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callsync/callsync/config"
)

// The local commands (status, explain) read a config whose secrets are not
// in the environment; every other ${VAR} is still required.
func TestLoadLocalToleratesUnsetSecretsOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	body := "store:\n  path: ${DATA}/x.db\ntenants:" + validTenant
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	noSecrets := env(map[string]string{"DATA": dir})
	if _, err := config.Load(path, noSecrets, crmTypes); err == nil || !strings.Contains(err.Error(), "CONTOSO_ENREACH_SECRET") {
		t.Fatalf("Load without secrets: err = %v, want the missing variable named", err)
	}
	c, err := config.LoadLocal(path, noSecrets, crmTypes)
	if err != nil {
		t.Fatalf("LoadLocal: %v", err)
	}
	if c.Store.Path != dir+"/x.db" {
		t.Errorf("store.path = %q", c.Store.Path)
	}
	if got := c.Tenants[0].Enreach.SecretKey.Value(); got != config.UnsetSecret {
		t.Errorf("secret = %q, want the unset marker", got)
	}
	// A non-secret variable is still required.
	if _, err := config.LoadLocal(path, env(nil), crmTypes); err == nil || !strings.Contains(err.Error(), "DATA") {
		t.Fatalf("LoadLocal without DATA: err = %v, want store.path's variable named", err)
	}
}

func TestStatusPageSettings(t *testing.T) {
	c := mustParse(t, "http:\n  status_token: \"\"\ntenants:"+validTenant)
	if c.HTTP.StatusPageOn() {
		t.Fatal("status page on without setting")
	}
	c, err := config.Parse([]byte("http:\n  status_token: ${CONTOSO_WEBHOOK_TOKEN}\ntenants:"+validTenant), env(testEnv), crmTypes)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HTTP.StatusPageOn() {
		t.Fatal("a status token turns the page on")
	}
	if s := c.Summary(); strings.Contains(s, testEnv["CONTOSO_WEBHOOK_TOKEN"]) || !strings.Contains(s, "http.status_page") {
		t.Errorf("summary leaks the token or omits the page:\n%s", s)
	}
	c = mustParse(t, "http:\n  status_page: true\ntenants:"+validTenant)
	if !c.HTTP.StatusPageOn() {
		t.Fatal("status_page: true")
	}
}
