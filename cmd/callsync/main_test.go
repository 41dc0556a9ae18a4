package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs callsync with args and returns stdout, stderr and the error.
func run(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb syncBuffer
	m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	err := m.Run(context.Background(), args)
	return out.String(), errb.String(), err
}

// doubles is an Enreach double and a Dynamics double with a config file
// pointing callsync at them; the secrets come from the environment.
type doubles struct {
	en      *enreachtest.Server
	dyn     *dynamicstest.Server
	config  string
	env     map[string]string
	agent   enreach.User
	contact string
	// crmAgent is the Dynamics user of agent.
	crmAgent string
}

func newDoubles(t *testing.T) *doubles {
	t.Helper()
	d := &doubles{en: enreachtest.NewServer(), dyn: dynamicstest.NewServer(dynamicstest.Options{})}
	t.Cleanup(d.en.Close)
	t.Cleanup(d.dyn.Close)
	d.agent = enreach.User{ID: enreachtest.NewID(), UserName: "aino@contoso.example", WorkNumber: "+358201000001"}
	d.en.AddUsers(d.agent)
	d.crmAgent = d.dyn.AddUser(dynamicstest.User{Name: "Aino", Email: d.agent.UserName})
	d.contact = d.dyn.AddContact(dynamicstest.Record{Name: "Matti", Phones: map[string]string{"mobilephone": "040 123 4567"}})
	dc := d.dyn.Config()
	dir := t.TempDir()
	d.env = map[string]string{"EN_SECRET": d.en.Secret, "DYN_SECRET": dc.ClientSecret}
	d.config = filepath.Join(dir, "callsync.yaml")
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
      dynamics:
        url: %s
        authority_url: %s
        tenant_id: %s
        client_id: %s
        client_secret: ${DYN_SECRET}
    phone_calls:
      default_crm_assignee: %s
    retroactive: {enabled: false}
`, filepath.Join(dir, "callsync.db"), d.en.URL, d.en.User, dc.URL, dc.AuthorityURL, dc.TenantID, dc.ClientID, d.agent.ID)
	if err := os.WriteFile(d.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// addCalls adds n inbound direct calls from the seeded contact on 2026-03-02.
func (d *doubles) addCalls(n int) {
	day := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		d.en.AddCalls(enreachtest.DirectCall(d.agent, "+358401234567", false, day.Add(time.Duration(i)*time.Minute), time.Second, time.Minute))
	}
}

func TestHelpAndUnknownCommand(t *testing.T) {
	out, _, err := run(t, nil, "help")
	if err != nil || !strings.Contains(out, "callsync sync calls") {
		t.Fatalf("help: %v\n%s", err, out)
	}
	if _, _, err := run(t, nil, "frobnicate"); err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Fatalf("unknown command: %v", err)
	}
}

func callEndedAgo(d *doubles, ago time.Duration) enreach.Call {
	c := enreachtest.DirectCall(d.agent, "+358401234567", false, time.Now().Add(-ago-time.Minute), time.Second, time.Minute)
	c.Modified = time.Now().UTC().Add(-ago)
	return c
}
