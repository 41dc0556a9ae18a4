package routing

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/store"
)

// The pieces as the lead wires them: the shared in-memory CRM double, the
// SQLite store's user map and the UserDirectory.
func TestWiredWithMemoryCRMAndStore(t *testing.T) {
	ctx := context.Background()
	mem := crmtest.NewMemory()
	anna := mem.AddUser("anna@contoso.example", "Anna", "e-anna", false)
	bob := mem.AddUser("bob@contoso.example", "Bob", "e-bob", false)
	vip := mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Account}, Name: "Big Co", OwnerID: anna,
		Phones: map[string]string{"telephone1": "09 1111111"}, Fields: map[string]string{"customertypecode": "VIP", "secret": "x"}})
	mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Name: "Carl", OwnerID: bob, ParentAccountID: vip,
		Phones: map[string]string{"mobilephone": "050 111 2222"}})
	small := mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Account}, Name: "Small Co", OwnerID: anna,
		Fields: map[string]string{"customertypecode": "Regular"}})
	mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Name: "Dora", OwnerID: bob, ParentAccountID: small,
		Phones: map[string]string{"mobilephone": "050 333 4444"}})

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "routing.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	if err := st.SaveUserMap(ctx, tenantID, []store.UserMapping{
		{EnreachUserID: "e-anna", CRMUserID: anna, Email: "anna@contoso.example", FetchedAt: now},
		{EnreachUserID: "e-bob", CRMUserID: bob, Email: "bob@contoso.example", FetchedAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	dir := NewUserDirectory(st, func(context.Context, string) ([]enreach.User, error) {
		return []enreach.User{
			{ID: "e-anna", UserName: "anna@contoso.example", WorkNumber: "+358407770001"},
			{ID: "e-bob", UserName: "bob@contoso.example", WorkNumber: "040 777 0002"},
		}, nil
	}, DirectoryOptions{})
	if err := dir.Refresh(ctx, tenantID); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, exampleRules()...)
	e.cli = mem
	e.rebuild()
	h := NewHandler(TenantsFunc(func(string) (Tenant, bool) {
		return Tenant{Name: tenantID, Config: e.cfg, Matcher: e.m, CRM: mem}, true
	}), Options{Directory: dir, Metrics: NewMetrics(prometheus.NewRegistry())})
	e.mux.Handle("POST /wired/{tenant}", h)
	call := func(anum string) response {
		w := e.post("/wired/"+tenantID, `{"anum":"`+anum+`","bnum":"`+queueNum+`"}`, withKey)
		if w.Code == 204 {
			return response{}
		}
		return targetOf(t, w)
	}

	// The VIP account's own number: rule vip.
	if got := call("+35891111111"); got != (response{InitialTarget: vipTarget}) {
		t.Errorf("VIP account: %+v", got)
	}
	// Carl: his parent account (Memory is a ParentFetcher) is VIP.
	if got := call("+358501112222"); got != (response{InitialTarget: vipTarget}) {
		t.Errorf("contact of the VIP account: %+v", got)
	}
	// Dora: her parent account is not VIP, so the owner rule: Bob.
	if got := call("+358503334444"); got != (response{InitialTarget: "+358407770002", FailTarget: "+358409999999"}) {
		t.Errorf("contact: %+v", got)
	}
	// Unknown caller on the sales number: disconnect.
	if got := call(stranger); got != (response{InitialTarget: TargetDisconnect}) {
		t.Errorf("unknown: %+v", got)
	}
	lookups, parents := mem.Calls(crmtest.MethodLookup), mem.Calls(crmtest.MethodAccounts)
	if lookups != 4 || parents != 2 {
		t.Errorf("%d lookups and %d parent fetches, want 4 and 2", lookups, parents)
	}
	call("+35891111111")
	call("+358501112222")
	call("+358503334444")
	call(stranger)
	if n, p := mem.Calls(crmtest.MethodLookup), mem.Calls(crmtest.MethodAccounts); n != lookups || p != parents {
		t.Errorf("repeat callers made %d more lookups and %d more parent fetches", n-lookups, p-parents)
	}
}
