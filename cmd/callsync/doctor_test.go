package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
)

func TestDoctorBadEnreachSecretFailsWithTheFixAndExitsOne(t *testing.T) {
	d := newDoubles(t)
	d.en.SetSecret("sk-made-new-by-an-admin")
	out, errOut, code := runMain(t, d.env, "doctor", "--config", d.config)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "fail") && strings.Contains(l, "enreach") && strings.Contains(l, "auth") {
			line = l
		}
	}
	if !strings.Contains(line, "401") || !strings.Contains(line, " — create a new secret key") {
		t.Fatalf("no 'fail enreach auth ... — fix' line:\n%s", out)
	}
	if strings.Contains(out+errOut, d.en.Secret) || strings.Contains(out+errOut, d.env["DYN_SECRET"]) {
		t.Fatal("doctor printed a secret")
	}
	if !strings.Contains(out, "contoso: fail") {
		t.Fatalf("no tenant summary:\n%s", out)
	}
}

func TestDoctorJSONAndWarningsOnlyExitThree(t *testing.T) {
	d := newDoubles(t)
	// No DefaultCrmAssignee: a warning, not a failure.
	b, _ := os.ReadFile(d.config)
	os.WriteFile(d.config, bytes.Replace(b, []byte("default_crm_assignee: "+d.agent.ID), []byte("default_crm_assignee: \"\""), 1), 0o600)
	out, errOut, code := runMain(t, d.env, "doctor", "--config", d.config, "--json")
	var got struct {
		Status  crm.CheckStatus
		Tenants []tenantReport
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s\n%s", err, out, errOut)
	}
	if len(got.Tenants) != 1 || got.Tenants[0].Tenant != "contoso" {
		t.Fatalf("tenants: %+v", got.Tenants)
	}
	checks := map[string]crm.Check{}
	for _, c := range got.Tenants[0].Checks {
		checks[c.Area+" "+c.Name] = c
	}
	for _, k := range []string{"enreach auth", "enreach users", "enreach queues", "config store_file"} {
		if checks[k].Status != crm.CheckOK {
			t.Errorf("%s: %+v", k, checks[k])
		}
	}
	if a := checks["config default_crm_assignee"]; a.Status != crm.CheckWarn || !strings.Contains(a.Detail, "calls of unmapped users get no owner") {
		t.Errorf("default_crm_assignee: %+v", a)
	}
	if got.Status != crm.CheckWarn || code != 3 {
		t.Fatalf("status %s, exit %d; want warn and 3\n%s", got.Status, code, out)
	}
}

func TestDoctorUnknownTenantIsAUsageError(t *testing.T) {
	d := newDoubles(t)
	_, _, err := run(t, d.env, "doctor", "--config", d.config, "--tenant", "nope")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "contoso") {
		t.Fatalf("%v (exit %d)", err, exitCode(err))
	}
}

func TestDoctorExitStatuses(t *testing.T) {
	for st, want := range map[crm.CheckStatus]int{crm.CheckOK: 0, crm.CheckWarn: 3, crm.CheckFail: 1} {
		if got := exitCode(doctorExit(st)); got != want {
			t.Errorf("%s: exit %d, want %d", st, got, want)
		}
	}
}

// doctorCRM is a CRM client with an org check.
type doctorCRM struct {
	*crmtest.Memory
	checks []crm.Check
}

func (d doctorCRM) Doctor(context.Context) ([]crm.Check, error) { return d.checks, nil }

func TestPreflightUsesTheCRMsOrgCheckWhenThereIsOne(t *testing.T) {
	en := enreachtest.NewServer()
	defer en.Close()
	agent := enreach.User{ID: enreachtest.NewID(), UserName: "aino@contoso.example"}
	en.AddUsers(agent)
	ec, err := enreach.New(enreach.Config{APIURL: en.URL, User: en.User, SecretKey: en.Secret})
	if err != nil {
		t.Fatal(err)
	}
	tc := config.DefaultTenant()
	tc.Name, tc.PhoneCalls.DefaultCRMAssignee = "contoso", agent.ID
	store := filepath.Join(t.TempDir(), "callsync.db")
	ctx := context.Background()

	mem := crmtest.NewMemory()
	crmUser := mem.AddUser(agent.UserName, "Aino", agent.ID, false)
	withCheck := doctorCRM{Memory: mem, checks: []crm.Check{{Area: "crm", Name: "contact.telephone1", Status: crm.CheckOK}}}
	cs := preflight(ctx, store, tc, ec, withCheck)
	if crm.WorstStatus(cs) != crm.CheckOK {
		t.Fatalf("a complete org with an org check is not all ok: %+v", cs)
	}
	var sawCRM bool
	for _, c := range cs {
		sawCRM = sawCRM || c.Name == "contact.telephone1"
		if c.Name == "default_crm_assignee" && !strings.Contains(c.Detail, crmUser) {
			t.Errorf("assignee line does not name the CRM user %s: %+v", crmUser, c)
		}
	}
	if !sawCRM {
		t.Fatalf("the CRM's check lines are missing: %+v", cs)
	}

	// A client without Doctor: one warn line says so.
	cs = preflight(ctx, store, tc, ec, mem)
	var org crm.Check
	for _, c := range cs {
		if c.Area == "crm" {
			org = c
		}
	}
	if org.Status != crm.CheckWarn || !strings.Contains(org.Detail, "no org check for this CRM yet") {
		t.Fatalf("crm line without Doctor: %+v", org)
	}

	// The assignee without an active CRM user: a warning naming the user.
	tc.PhoneCalls.DefaultCRMAssignee = enreachTestUserWithoutCRM(en)
	cs = preflight(ctx, store, tc, ec, withCheck)
	if a := find(cs, "default_crm_assignee"); a.Status != crm.CheckWarn || !strings.Contains(a.Detail, "no active CRM user") {
		t.Fatalf("assignee without CRM user: %+v", a)
	}
	tc.PhoneCalls.DefaultCRMAssignee = enreachtest.NewID()
	cs = preflight(ctx, store, tc, ec, withCheck)
	if a := find(cs, "default_crm_assignee"); a.Status != crm.CheckWarn || !strings.Contains(a.Detail, "is not among") {
		t.Fatalf("assignee that is no Enreach user: %+v", a)
	}
}

func enreachTestUserWithoutCRM(en *enreachtest.Server) string {
	u := enreach.User{ID: enreachtest.NewID(), UserName: "left@contoso.example"}
	en.AddUsers(u)
	return u.ID
}

func find(cs []crm.Check, name string) crm.Check {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return crm.Check{}
}

func TestStoreFileReadableByOthersWarns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callsync.db")
	if c := storeFileCheck(path)[0]; c.Status != crm.CheckOK {
		t.Fatalf("missing file: %+v", c)
	}
	os.WriteFile(path, nil, 0o644)
	os.Chmod(path, 0o644)
	if c := storeFileCheck(path)[0]; c.Status != crm.CheckWarn || c.Fix != "chmod 600 "+path {
		t.Fatalf("0644: %+v", c)
	}
	os.Chmod(path, 0o600)
	if c := storeFileCheck(path)[0]; c.Status != crm.CheckOK {
		t.Fatalf("0600: %+v", c)
	}
}

func TestDoctorCompleteOrgExitsZero(t *testing.T) {
	d := newDoubles(t)
	out, errOut, code := runMain(t, d.env, "doctor", "--config", d.config)
	if code != 0 || !strings.Contains(out, "contoso: ok (0 fail, 0 warn") {
		t.Fatalf("a complete org: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"enreach  auth", "crm      auth", "config   default_crm_assignee"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q line:\n%s", want, out)
		}
	}
}
