package routing

import (
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/httpclient"
)

// The account rule for a contact caller through a real client and its
// double: the Dynamics client's Lookup reports the contact's parentcustomerid
// and its Accounts (ParentFetcher) fetches that account's field.
func TestAccountRuleThroughDynamicsParent(t *testing.T) {
	srv := dynamicstest.NewServer(dynamicstest.Options{})
	t.Cleanup(srv.Close)
	cli, err := dynamics.New(srv.Config(), dynamics.Options{HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	owner := srv.AddUser(dynamicstest.User{Name: "Anna", Email: "anna@contoso.example"})
	vip := srv.AddAccount(dynamicstest.Record{Name: "Big Co", Fields: map[string]any{"customertypecode": "VIP"}})
	regular := srv.AddAccount(dynamicstest.Record{Name: "Small Co", Fields: map[string]any{"customertypecode": "Regular"}})
	srv.AddContact(dynamicstest.Record{Name: "Carl", ParentAccountID: vip, OwnerID: owner,
		Phones: map[string]string{"mobilephone": "050 111 2222"}})
	srv.AddContact(dynamicstest.Record{Name: "Dora", ParentAccountID: regular, OwnerID: owner,
		Phones: map[string]string{"mobilephone": "050 333 4444"}})

	e := newEnv(t, exampleRules()...)
	e.cli = cli
	e.rebuild()
	e.dir.targets[owner] = "+358407770001"
	accountGets := func() int {
		n := 0
		for _, r := range srv.Log() {
			if r.Method == "GET" && strings.HasSuffix(r.Path, "/accounts") && strings.Contains(r.Query, "accountid") {
				n++
			}
		}
		return n
	}

	if got := targetOf(t, e.call(caller, queueNum)); got != (response{InitialTarget: vipTarget}) {
		t.Fatalf("contact of the VIP account: %+v", got)
	}
	if got := targetOf(t, e.call("+358503334444", queueNum)); got != (response{InitialTarget: "+358407770001", FailTarget: "+358409999999"}) {
		t.Fatalf("contact of a regular account: %+v", got)
	}
	if n := accountGets(); n != 2 {
		t.Fatalf("%d account fetches, want 2 (one per caller)", n)
	}
	// Repeat callers: the numbers and the parent accounts are cached.
	before := srv.APIRequests()
	e.call(caller, queueNum)
	e.call("+358503334444", queueNum)
	if n := srv.APIRequests() - before; n != 0 {
		t.Errorf("repeat callers made %d Dataverse requests", n)
	}
}
