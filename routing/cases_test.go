package routing

import (
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
	"github.com/callsync/callsync/httpclient"
)

// Rules on the caller's open Cases through the Salesforce client and its
// double: count, priority and owner, the Case owner as target, one batched
// Case query per routing request.
func TestCaseRulesThroughSalesforce(t *testing.T) {
	srv := salesforcetest.NewServer(salesforcetest.Config{ClientID: "cid", ClientSecret: "csecret"})
	t.Cleanup(srv.Close)
	cli, err := salesforce.New(salesforce.Config{LoginURL: srv.URL, Grant: salesforce.GrantClientCredentials, ClientID: "cid",
		ClientSecret: "csecret"}, salesforce.Options{HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	agent := srv.AddUser("Anna", "anna@contoso.example", true, nil)
	support := srv.AddUser("Sam", "sam@contoso.example", true, nil)
	acc := srv.Add("Account", map[string]any{"Name": "Big Co", "OwnerId": agent})
	carl := srv.Add("Contact", map[string]any{"LastName": "Carl", "AccountId": acc, "OwnerId": agent, "MobilePhone": "050 111 2222"})
	dora := srv.Add("Contact", map[string]any{"LastName": "Dora", "OwnerId": agent, "MobilePhone": "050 333 4444"})
	eve := srv.Add("Contact", map[string]any{"LastName": "Eve", "OwnerId": agent, "MobilePhone": "050 555 6666"})
	srv.Add("Case", map[string]any{"AccountId": acc, "Priority": "Low", "OwnerId": agent, "IsClosed": false})
	srv.Add("Case", map[string]any{"ContactId": carl, "Priority": "Low", "OwnerId": agent, "IsClosed": false})
	srv.Add("Case", map[string]any{"ContactId": dora, "Priority": "High", "OwnerId": support, "IsClosed": true})
	srv.Add("Case", map[string]any{"ContactId": eve, "Priority": "High", "OwnerId": support, "IsClosed": false})

	const busy = "+358400000002"
	e := newEnv(t,
		config.RoutingRule{Name: "busy", When: config.RoutingWhen{Cases: &config.RoutingCases{Min: 2}}, Target: busy},
		config.RoutingRule{Name: "high", When: config.RoutingWhen{Entity: "contact", Cases: &config.RoutingCases{Priority: "high", Owner: support[:15]}},
			Target: config.RoutingTargetOwner},
		config.RoutingRule{Name: "owner", When: config.RoutingWhen{Matched: boolp(true)}, Target: config.RoutingTargetOwner},
	)
	e.cli = cli
	e.rebuild()
	e.dir.targets[agent] = "+358407770001"
	e.dir.targets[support] = "+358407770002"
	caseQueries := func() int {
		n := 0
		for _, r := range srv.Log() {
			for _, q := range append([]string{r.Query}, r.Batch...) {
				if strings.Contains(q, "FROM+Case") || strings.Contains(q, "FROM%20Case") || strings.Contains(q, "FROM Case") {
					n++
				}
			}
		}
		return n
	}

	tests := []struct {
		caller string
		want   response
	}{
		{"+358501112222", response{InitialTarget: busy}},            // Carl: his Case and his account's: two open
		{"+358505556666", response{InitialTarget: "+358407770002"}}, // Eve: one open High Case owned by Sam
		{"+358503334444", response{InitialTarget: "+358407770001"}}, // Dora: her High Case is closed
	}
	for _, tt := range tests {
		before := caseQueries()
		if got := targetOf(t, e.call(tt.caller, queueNum)); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.caller, got, tt.want)
		}
		if n := caseQueries() - before; n != 1 {
			t.Errorf("%s: %d Case queries, want 1", tt.caller, n)
		}
	}
}
