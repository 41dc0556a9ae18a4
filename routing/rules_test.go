package routing

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
)

// The example rules.
func exampleRules() []config.RoutingRule {
	return []config.RoutingRule{
		{Name: "vip", When: config.RoutingWhen{Entity: "account", Field: "customertypecode", Equals: "VIP"}, Target: vipTarget},
		{Name: "account-manager", When: config.RoutingWhen{Matched: boolp(true)}, Target: "owner", FailTarget: "+358409999999"},
		{Name: "by-called-number", When: config.RoutingWhen{BNum: queueNum, Matched: boolp(false)}, Target: "DISCONNECT:"},
	}
}

func TestFields(t *testing.T) {
	rules := append(exampleRules(),
		config.RoutingRule{When: config.RoutingWhen{Entity: "contact", Field: "new_tier", Equals: "gold"}, Target: "x"},
		config.RoutingRule{When: config.RoutingWhen{Entity: "account", Field: "accountcategorycode", Equals: "1"}, Target: "x"},
		config.RoutingRule{When: config.RoutingWhen{Entity: "account", Field: "customertypecode", Equals: "Partner"}, Target: "x"},
		config.RoutingRule{When: config.RoutingWhen{Entity: "lead"}, Target: "x"},
	)
	want := map[crm.Entity][]string{
		crm.Account: {"accountcategorycode", "customertypecode"},
		crm.Contact: {"new_tier"},
	}
	if got := Fields(rules); !reflect.DeepEqual(got, want) {
		t.Fatalf("Fields = %v, want %v", got, want)
	}
	if got := Fields([]config.RoutingRule{{When: config.RoutingWhen{Matched: boolp(true)}, Target: "x"}}); got != nil {
		t.Fatalf("Fields without field rules = %v, want nil", got)
	}
}

func TestMatchedRules(t *testing.T) {
	e := newEnv(t,
		config.RoutingRule{Name: "known", When: config.RoutingWhen{Matched: boolp(true)}, Target: "QUEUE:known"},
		config.RoutingRule{Name: "unknown", When: config.RoutingWhen{Matched: boolp(false)}, Target: "QUEUE:unknown"},
	)
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Lead, ID: "l1"}, Phones: map[string]string{"mobilephone": "0501112222"}})
	if got := targetOf(t, e.call(caller, queueNum)); got.InitialTarget != "QUEUE:known" {
		t.Errorf("known caller: %+v", got)
	}
	if got := targetOf(t, e.call(stranger, queueNum)); got.InitialTarget != "QUEUE:unknown" {
		t.Errorf("unknown caller: %+v", got)
	}
	// A withheld number cannot match: matched is false, and no CRM request.
	before := e.crm.lookups.Load()
	if got := targetOf(t, e.call("anonymous", queueNum)); got.InitialTarget != "QUEUE:unknown" {
		t.Errorf("withheld caller: %+v", got)
	}
	if e.crm.lookups.Load() != before {
		t.Error("a withheld number was looked up")
	}
}

func TestBNumRule(t *testing.T) {
	e := newEnv(t,
		config.RoutingRule{Name: "support-line", When: config.RoutingWhen{BNum: "+358 9 1234567"}, Target: "QUEUE:support"},
		config.RoutingRule{Name: "sales-unknown", When: config.RoutingWhen{BNum: queueNum, Matched: boolp(false)}, Target: "DISCONNECT:"},
	)
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, Phones: map[string]string{"mobilephone": caller}})

	// bnum compared normalised: national format in the request.
	if got := targetOf(t, e.call(caller, "09 1234567")); got.InitialTarget != "QUEUE:support" {
		t.Errorf("support line: %+v", got)
	}
	if n := e.crm.lookups.Load(); n != 0 {
		t.Errorf("a bnum-only rule made %d CRM lookups", n)
	}
	// Both conditions must hold.
	if got := targetOf(t, e.call(stranger, "020 123 4567")); got.InitialTarget != "DISCONNECT:" {
		t.Errorf("unknown caller on the sales line: %+v", got)
	}
	wantNoContent(t, e.call(caller, queueNum))    // matched: the second condition fails
	wantNoContent(t, e.call(stranger, vipTarget)) // another number
	wantNoContent(t, e.call(stranger, ""))        // no bnum at all
}

func TestEntityFieldRuleDirectRecord(t *testing.T) {
	rules := []config.RoutingRule{
		{Name: "gold-contact", When: config.RoutingWhen{Entity: "contact", Field: "new_tier", Equals: "gold"}, Target: "QUEUE:gold"},
		{Name: "vip-account", When: config.RoutingWhen{Entity: "account", Field: "customertypecode", Equals: "VIP"}, Target: vipTarget},
		{Name: "any-lead", When: config.RoutingWhen{Entity: "lead"}, Target: "QUEUE:leads"},
	}
	e := newEnv(t, rules...)
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, Phones: map[string]string{"mobilephone": "+358501110001"}, Fields: map[string]string{"new_tier": "gold"}})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c2"}, Phones: map[string]string{"mobilephone": "+358501110002"}, Fields: map[string]string{"new_tier": "silver"}})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Account, ID: "a1"}, Phones: map[string]string{"telephone1": "+358501110003"}, Fields: map[string]string{"customertypecode": "VIP"}})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Account, ID: "a2"}, Phones: map[string]string{"telephone1": "+358501110004"}, Fields: map[string]string{"customertypecode": "vip"}})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Lead, ID: "l1"}, Phones: map[string]string{"mobilephone": "+358501110005"}})
	// The field is held on another entity only: no hit for the account rule.
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Lead, ID: "l2"}, Phones: map[string]string{"mobilephone": "+358501110006"}, Fields: map[string]string{"customertypecode": "VIP"}})

	for _, c := range []struct{ anum, want string }{
		{"+358501110001", "QUEUE:gold"},
		{"+358501110002", ""},
		{"+358501110003", vipTarget},
		{"+358501110004", ""}, // equals is exact
		{"+358501110005", "QUEUE:leads"},
		{"+358501110006", "QUEUE:leads"},
	} {
		w := e.call(c.anum, queueNum)
		if c.want == "" {
			wantNoContent(t, w)
			continue
		}
		if got := targetOf(t, w); got.InitialTarget != c.want {
			t.Errorf("%s: %+v, want %s", c.anum, got, c.want)
		}
	}
	// The lookups asked for exactly the rules' fields.
	if want := Fields(rules); !reflect.DeepEqual(e.crm.lastFields, want) {
		t.Errorf("requested fields %v, want %v", e.crm.lastFields, want)
	}
}

func TestAccountRuleThroughParentAccount(t *testing.T) {
	e := newEnv(t, exampleRules()[0])
	pc := &parentCRM{fakeCRM: e.crm}
	e.cli = pc
	e.rebuild()
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Account, ID: "a1"}, Phones: map[string]string{"telephone1": "+35891111111"}, Fields: map[string]string{"customertypecode": "VIP"}})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Account, ID: "a2"}, Phones: map[string]string{"telephone1": "+35892222222"}, Fields: map[string]string{"customertypecode": "Regular"}})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, ParentAccountID: "a1", Phones: map[string]string{"mobilephone": caller}})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c2"}, ParentAccountID: "a2", Phones: map[string]string{"mobilephone": stranger}})

	if got := targetOf(t, e.call(caller, queueNum)); got.InitialTarget != vipTarget {
		t.Fatalf("contact of a VIP account: %+v", got)
	}
	wantNoContent(t, e.call(stranger, queueNum))
	if n := pc.accountCalls.Load(); n != 2 {
		t.Fatalf("%d parent fetches, want 2", n)
	}
	// Repeat callers: the contact and its parent both come from caches.
	targetOf(t, e.call(caller, queueNum))
	wantNoContent(t, e.call(stranger, queueNum))
	if n, l := pc.accountCalls.Load(), e.crm.lookups.Load(); n != 2 || l != 2 {
		t.Fatalf("repeat callers: %d parent fetches, %d lookups; want 2 and 2", n, l)
	}
}

func TestAccountRuleWithoutParentFetcherSeesDirectAccountsOnly(t *testing.T) {
	e := newEnv(t, exampleRules()[0])
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Account, ID: "a1"}, Phones: map[string]string{"telephone1": "+35891111111"}, Fields: map[string]string{"customertypecode": "VIP"}})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, ParentAccountID: "a1", Phones: map[string]string{"mobilephone": caller}})
	wantNoContent(t, e.call(caller, queueNum))
	if got := targetOf(t, e.call("09 1111111", queueNum)); got.InitialTarget != vipTarget {
		t.Fatalf("the account's own number: %+v", got)
	}
}

func TestOwnerTarget(t *testing.T) {
	e := newEnv(t, exampleRules()...)
	e.dir.targets["owner-1"] = "040 777 8888" // stored in national format
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, OwnerID: "owner-1", Phones: map[string]string{"mobilephone": caller}})

	got := targetOf(t, e.call(caller, queueNum))
	want := response{InitialTarget: "+358407778888", FailTarget: "+358409999999"}
	if got != want {
		t.Fatalf("owner target %+v, want %+v", got, want)
	}
}

func TestOwnerTargetOnABNumRule(t *testing.T) {
	e := newEnv(t, config.RoutingRule{Name: "sales-owner", When: config.RoutingWhen{BNum: queueNum}, Target: "owner"})
	e.dir.targets["owner-1"] = "+358407770001"
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, OwnerID: "owner-1", Phones: map[string]string{"mobilephone": caller}})
	if got := targetOf(t, e.call(caller, queueNum)); got.InitialTarget != "+358407770001" {
		t.Fatalf("%+v", got)
	}
	wantNoContent(t, e.call(stranger, queueNum)) // no record, no owner
	wantNoContent(t, e.call(caller, vipTarget))  // another line: no lookup
	if n := e.crm.lookups.Load(); n != 2 {
		t.Errorf("%d lookups, want 2", n)
	}
}

func TestOwnerTargetFirstResolvableRecord(t *testing.T) {
	e := newEnv(t, config.RoutingRule{Name: "owner", When: config.RoutingWhen{Matched: boolp(true)}, Target: "owner"})
	e.dir.targets["owner-2"] = "+358407770002"
	// Two records for one number: the first owner has no Enreach user.
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, OwnerID: "owner-1", Phones: map[string]string{"mobilephone": caller}})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Account, ID: "a1"}, OwnerID: "owner-2", Phones: map[string]string{"telephone1": caller}})
	if got := targetOf(t, e.call(caller, queueNum)); got.InitialTarget != "+358407770002" {
		t.Fatalf("%+v", got)
	}
}

func TestOwnerOfTheRecordTheRuleIsAbout(t *testing.T) {
	e := newEnv(t, config.RoutingRule{Name: "vip-owner", When: config.RoutingWhen{Entity: "account", Field: "customertypecode", Equals: "VIP"}, Target: "owner"})
	e.dir.targets["contact-owner"] = "+358407770001"
	e.dir.targets["account-owner"] = "+358407770002"
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, OwnerID: "contact-owner", Phones: map[string]string{"mobilephone": caller}})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Account, ID: "a1"}, OwnerID: "account-owner", Phones: map[string]string{"telephone1": caller}, Fields: map[string]string{"customertypecode": "VIP"}})
	if got := targetOf(t, e.call(caller, queueNum)); got.InitialTarget != "+358407770002" {
		t.Fatalf("%+v, want the VIP account's owner", got)
	}
}

func TestUnresolvableOwnerFallsThrough(t *testing.T) {
	e := newEnv(t, exampleRules()[1], config.RoutingRule{Name: "known", When: config.RoutingWhen{Matched: boolp(true)}, Target: "QUEUE:service"})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, OwnerID: "team-7", Phones: map[string]string{"mobilephone": caller}})
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c2"}, Phones: map[string]string{"mobilephone": stranger}}) // no owner
	for _, anum := range []string{caller, stranger} {
		if got := targetOf(t, e.call(anum, queueNum)); got != (response{InitialTarget: "QUEUE:service"}) {
			t.Errorf("%s: %+v", anum, got)
		}
	}
	// Without a directory owner rules never hit.
	e2 := newEnv(t, exampleRules()[1])
	e2.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, OwnerID: "owner-1", Phones: map[string]string{"mobilephone": caller}})
	h := NewHandler(TenantsFunc(func(string) (Tenant, bool) {
		return Tenant{Name: tenantID, Config: e2.cfg, Matcher: e2.m}, true
	}), Options{})
	r := e2.postReq(caller, queueNum)
	w := newRecorder()
	h.ServeHTTP(w, r)
	wantNoContent(t, w)
}

func TestFirstHitWins(t *testing.T) {
	e := newEnv(t, exampleRules()...)
	e.dir.targets["owner-1"] = "+358407778888"
	e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Account, ID: "a1"}, OwnerID: "owner-1", Phones: map[string]string{"telephone1": caller}, Fields: map[string]string{"customertypecode": "VIP"}})
	// vip and account-manager both hold: vip is first.
	if got := targetOf(t, e.call(caller, queueNum)); got != (response{InitialTarget: vipTarget}) {
		t.Fatalf("%+v", got)
	}
	if n := e.dir.calls.Load(); n != 0 {
		t.Errorf("the owner was resolved %d times for a rule that did not run", n)
	}
}

func TestLoopGuard(t *testing.T) {
	t.Run("literal target is the bnum", func(t *testing.T) {
		e := newEnv(t, config.RoutingRule{Name: "back", When: config.RoutingWhen{Matched: boolp(false)}, Target: "020 123 4567"})
		wantNoContent(t, e.call(stranger, queueNum))
		if got := e.outcomes(OutcomeLoopGuard); got != 1 {
			t.Errorf("loop_guard outcomes = %v", got)
		}
		// Another dialled number gets the target.
		if got := targetOf(t, e.call(stranger, "+35891234567")); got.InitialTarget != "020 123 4567" {
			t.Errorf("%+v", got)
		}
	})
	t.Run("owner's work number is the bnum", func(t *testing.T) {
		e := newEnv(t, exampleRules()[1])
		e.dir.targets["owner-1"] = "+358201234567"
		e.crm.add(crm.Record{Ref: crm.Ref{Entity: crm.Contact, ID: "c1"}, OwnerID: "owner-1", Phones: map[string]string{"mobilephone": caller}})
		wantNoContent(t, e.call(caller, "0201234567"))
		if got := e.outcomes(OutcomeLoopGuard); got != 1 {
			t.Errorf("loop_guard outcomes = %v", got)
		}
	})
	t.Run("fail target is the bnum", func(t *testing.T) {
		e := newEnv(t, config.RoutingRule{Name: "x", When: config.RoutingWhen{Matched: boolp(false)}, Target: "QUEUE:other", FailTarget: queueNum})
		if got := targetOf(t, e.call(stranger, queueNum)); got != (response{InitialTarget: "QUEUE:other"}) {
			t.Fatalf("%+v: the fail target must be left out", got)
		}
	})
}

func TestNoRules(t *testing.T) {
	e := newEnv(t)
	wantNoContent(t, e.call(caller, queueNum))
	if n := e.crm.lookups.Load(); n != 0 {
		t.Errorf("%d lookups without rules", n)
	}
}

func TestPhoneLike(t *testing.T) {
	for s, want := range map[string]bool{
		"+358401234567":  true,
		"040 123 4567":   true,
		"tel:+358401234": true,
		"(09) 123-4567":  true,
		"DISCONNECT:":    false,
		"QUEUE:1234":     false,
		"":               false,
		"+":              false,
		"1b6f0c1e-0000":  false,
	} {
		if got := phoneLike(s); got != want {
			t.Errorf("phoneLike(%q) = %v", s, got)
		}
	}
}

func (e *env) postReq(anum, bnum string) *http.Request {
	r := newPost("/routing/"+tenantID, `{"anum":"`+anum+`","bnum":"`+bnum+`"}`)
	withKey(r)
	r.SetPathValue("tenant", tenantID)
	return r
}
