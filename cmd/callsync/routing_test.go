package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
)

// Smart Routing as the app wires it, against the Enreach and Dataverse
// doubles: a contact's parent account answers an account rule (the Dynamics
// client's Accounts), and the owner rule reaches an Enreach user that no call
// has mapped yet (resolved through the CRM and stored for the calls job).
func TestRoutingEndToEnd(t *testing.T) {
	en := enreachtest.NewServer()
	t.Cleanup(en.Close)
	dyn := dynamicstest.NewServer(dynamicstest.Options{})
	t.Cleanup(dyn.Close)

	aino := enreach.User{ID: enreachtest.NewID(), UserName: "aino@contoso.example", WorkNumber: "+358201000001"}
	bea := enreach.User{ID: enreachtest.NewID(), UserName: "Bea@Contoso.example", WorkNumber: "020 100 0002"}
	en.AddUsers(aino, bea)
	ainoCRM := dyn.AddUser(dynamicstest.User{Name: "Aino", Email: aino.UserName})
	beaCRM := dyn.AddUser(dynamicstest.User{Name: "Bea", Email: "bea@contoso.example"})
	vip := dyn.AddAccount(dynamicstest.Record{Name: "Big Co", OwnerID: ainoCRM, Fields: map[string]any{"cs_tier": "VIP"}})
	regular := dyn.AddAccount(dynamicstest.Record{Name: "Small Co", OwnerID: ainoCRM, Fields: map[string]any{"cs_tier": "basic"}})
	dyn.AddContact(dynamicstest.Record{Name: "Carl", OwnerID: beaCRM, ParentAccountID: vip,
		Phones: map[string]string{"mobilephone": "050 111 2222"}})
	dyn.AddContact(dynamicstest.Record{Name: "Dora", OwnerID: beaCRM, ParentAccountID: regular,
		Phones: map[string]string{"mobilephone": "050 333 4444"}})

	dc := dyn.Config()
	dir := t.TempDir()
	path := filepath.Join(dir, "callsync.yaml")
	yaml := fmt.Sprintf(`store: {path: %q}
http: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}
tenants:
  - name: contoso
    default_region: FI
    enreach:
      api_url: %s
      user: %s
      secret_key: ${EN_SECRET}
    crm:
      type: dynamics
      users: {match: email}
      dynamics:
        url: %s
        authority_url: %s
        tenant_id: %s
        client_id: %s
        client_secret: ${DYN_SECRET}
    retroactive: {enabled: false}
    routing:
      api_key: ${ROUTING_KEY}
      budget: 4s
      cache_ttl: 10m
      rules:
        - name: vip
          when: {entity: account, field: cs_tier, equals: VIP}
          target: "+358401234567"
        - name: account-manager
          when: {matched: true}
          target: owner
          fail_target: "+358409999999"
`, filepath.Join(dir, "callsync.db"), en.URL, en.User, dc.URL, dc.AuthorityURL, dc.TenantID, dc.ClientID)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EN_SECRET": en.Secret, "DYN_SECRET": dc.ClientSecret, "ROUTING_KEY": "k3y"}
	cfg, err := (&Main{Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}).loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := openApp(ctx, cfg, newLogger(io.Discard, "text", "error"), httpclient.Options{WaitMin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	mux := http.NewServeMux()
	mux.Handle("POST /routing/{tenant}", a.routingHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	route := func(anum string) (int, map[string]string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/routing/contoso",
			strings.NewReader(`{"anum":"`+anum+`","bnum":"+358201234567"}`))
		req.Header.Set("X-Benemen-APIKey", "k3y")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, body
	}

	// Carl's parent account is VIP: the account rule, through Accounts.
	if code, got := route("+358501112222"); code != 200 || got["InitialTarget"] != "+358401234567" {
		t.Fatalf("contact of the VIP account: %d %v", code, got)
	}
	var accountQueries int
	for _, r := range dyn.Log() {
		if strings.HasSuffix(r.Path, "/accounts") && strings.Contains(r.Query, "accountid") {
			accountQueries++
		}
	}
	if accountQueries != 1 {
		t.Errorf("%d account-by-id queries, want 1", accountQueries)
	}

	// Dora's account is not VIP: her owner Bea, whom no call has mapped.
	if m, err := a.store.UserMap(ctx, "contoso"); err != nil || len(m) != 0 {
		t.Fatalf("stored user map before: %v, %v; want none (no call was synced)", m, err)
	}
	if code, got := route("+358503334444"); code != 200 || got["InitialTarget"] != "+358201000002" || got["FailTarget"] != "+358409999999" {
		t.Fatalf("owner rule: %d %v", code, got)
	}
	// The answers are stored for the calls job.
	m, err := a.store.UserMap(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	if got := m[strings.ToLower(bea.ID)]; !strings.EqualFold(got.CRMUserID, beaCRM) {
		t.Errorf("stored mapping of Bea: %+v, want CRM user %s", got, beaCRM)
	}
	if got := m[strings.ToLower(aino.ID)]; !strings.EqualFold(got.CRMUserID, ainoCRM) {
		t.Errorf("stored mapping of Aino: %+v, want CRM user %s", got, ainoCRM)
	}
}
