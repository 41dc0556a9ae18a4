package salesforcetest_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
)

type describedField struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Length     int    `json:"length"`
	Createable bool   `json:"createable"`
	Updateable bool   `json:"updateable"`
	Filterable bool   `json:"filterable"`
	ExternalID bool   `json:"externalId"`
}

func describe(t *testing.T, srv *salesforcetest.Server, tok, object string) (int, map[string]describedField) {
	t.Helper()
	status, _, body := call(t, srv, tok, "GET", v+"/sobjects/"+object+"/describe", nil)
	if status != 200 {
		return status, nil
	}
	var ans struct {
		Name   string           `json:"name"`
		Fields []describedField `json:"fields"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Name != object {
		t.Fatalf("describe %s named %q", object, ans.Name)
	}
	out := map[string]describedField{}
	for _, f := range ans.Fields {
		out[f.Name] = f
	}
	return status, out
}

func TestDescribe(t *testing.T) {
	srv := newOrg(t)
	tok := session(t, srv)
	_, task := describe(t, srv, tok, "Task")
	want := map[string]describedField{
		"Enreach_Call_Id__c":    {Name: "Enreach_Call_Id__c", Type: "string", Length: 255, Createable: true, Updateable: true, Filterable: true, ExternalID: true},
		"Enreach_Number__c":     {Name: "Enreach_Number__c", Type: "string", Length: 40, Createable: true, Updateable: true, Filterable: true},
		"Enreach_Call_Start__c": {Name: "Enreach_Call_Start__c", Type: "datetime", Createable: true, Updateable: true, Filterable: true},
		"TaskSubtype":           {Name: "TaskSubtype", Type: "picklist", Length: 255, Createable: true, Filterable: true},
		"Description":           {Name: "Description", Type: "textarea", Length: 32000, Createable: true, Updateable: true},
		"IsClosed":              {Name: "IsClosed", Type: "boolean", Filterable: true},
	}
	for name, w := range want {
		if got := task[name]; got != w {
			t.Errorf("Task.%s: %+v, want %+v", name, got, w)
		}
	}
	if status, _ := describe(t, srv, tok, "Widget"); status != 404 {
		t.Errorf("unknown object: %d", status)
	}
	// Inside a composite batch too.
	status, _, body := call(t, srv, tok, "POST", v+"/composite/batch", map[string]any{"batchRequests": []map[string]string{
		{"method": "GET", "url": "v62.0/sobjects/Contact/describe"}, {"method": "GET", "url": "v62.0/sobjects/Case/describe"}}})
	if status != 200 || !json.Valid(body) || string(body) == "" {
		t.Fatalf("batch describe: %d %s", status, body)
	}
	var b struct {
		HasErrors bool `json:"hasErrors"`
	}
	_ = json.Unmarshal(body, &b)
	if b.HasErrors {
		t.Fatalf("batch describe: %s", body)
	}
}

func TestMinimalOrgAndHiddenFields(t *testing.T) {
	srv := newOrg(t, func(c *salesforcetest.Config) {
		c.MinimalOrg = true
		c.HiddenFields = map[string][]string{"Contact": {"MobilePhone"}}
	})
	tok := session(t, srv)
	srv.Add("Contact", map[string]any{"LastName": "Hidden", "MobilePhone": "+358401234567"})
	_, task := describe(t, srv, tok, "Task")
	if _, ok := task["Enreach_Call_Id__c"]; !ok {
		t.Error("minimal org lost the external id field")
	}
	for _, f := range []string{"Enreach_Number__c", "Enreach_Call_Start__c"} {
		if _, ok := task[f]; ok {
			t.Errorf("minimal org describes %s", f)
		}
	}
	_, contact := describe(t, srv, tok, "Contact")
	if _, ok := contact["MobilePhone"]; ok {
		t.Error("FLS-hidden MobilePhone is in describe")
	}
	if _, ok := contact["Phone"]; !ok {
		t.Error("Phone missing from describe")
	}
	for _, q := range []string{
		"SELECT Id, MobilePhone FROM Contact",
		"SELECT Id FROM Contact WHERE MobilePhone = '+358401234567'",
		"SELECT Id, Enreach_Number__c FROM Task",
	} {
		if status, _, body := query(t, srv, tok, q); status != 400 || errorCode(t, body) != "INVALID_FIELD" {
			t.Errorf("%s: %d %s", q, status, body)
		}
	}
	status, _, body := call(t, srv, tok, "GET", v+"/search/?q="+url.QueryEscape("FIND {358401234567} IN PHONE FIELDS RETURNING Contact(Id,MobilePhone)"), nil)
	if status != 400 || errorCode(t, body) != "INVALID_FIELD" {
		t.Errorf("SOSL returning a hidden field: %d %s", status, body)
	}
	// The hidden field is not searched either.
	status, _, body = call(t, srv, tok, "GET", v+"/search/?q="+url.QueryEscape("FIND {358401234567} IN PHONE FIELDS RETURNING Contact(Id,Phone)"), nil)
	if status != 200 || string(body) != "{\"searchRecords\":[]}\n" {
		t.Errorf("search on a hidden field: %d %s", status, body)
	}
	status, _, body = call(t, srv, tok, "PATCH", v+"/composite/sobjects/Task/Enreach_Call_Id__c", map[string]any{"records": []map[string]any{
		{"attributes": map[string]string{"type": "Task"}, "Enreach_Call_Id__c": "k1", "Enreach_Number__c": "+358"}}})
	if status != 400 || errorCode(t, body) != "INVALID_FIELD" {
		t.Errorf("write of a missing field: %d %s", status, body)
	}
	// An admin hides a field at noon.
	srv.HideField("Contact", "Phone")
	if _, contact = describe(t, srv, tok, "Contact"); contact["Phone"].Name != "" {
		t.Error("HideField: Phone still described")
	}
	srv.RemoveField("Task", "CallDisposition")
	if status, _, body := query(t, srv, tok, "SELECT Id, CallDisposition FROM Task"); status != 400 || errorCode(t, body) != "INVALID_FIELD" {
		t.Errorf("removed field: %d %s", status, body)
	}
}

func TestNoAPIAccessAndIdentity(t *testing.T) {
	srv := newOrg(t, func(c *salesforcetest.Config) { c.NoAPIAccess = true })
	status, m := postToken(t, srv, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}})
	if status != 200 {
		t.Fatalf("token: %d %v", status, m)
	}
	tok := m["access_token"].(string)
	if status, _, body := call(t, srv, tok, "GET", v+"/sobjects/Task/describe", nil); status != 403 || errorCode(t, body) != "API_DISABLED_FOR_ORG" {
		t.Errorf("no API access: %d %s", status, body)
	}
	idURL, _ := m["id"].(string)
	u, _ := url.Parse(idURL)
	status, _, body := call(t, srv, tok, "GET", u.Path, nil)
	var who map[string]any
	_ = json.Unmarshal(body, &who)
	if status != 200 || who["user_id"] != srv.RunAsUserID() || who["active"] != true || who["username"] != username {
		t.Errorf("identity: %d %s", status, body)
	}
	if status, _, _ := call(t, srv, "nope", "GET", u.Path, nil); status != 403 {
		t.Errorf("identity without a session: %d", status)
	}
}

func TestSOQLOrGroup(t *testing.T) {
	srv := newOrg(t)
	tok := session(t, srv)
	acc := srv.Add("Account", map[string]any{"Name": "A"})
	con := srv.Add("Contact", map[string]any{"LastName": "C"})
	srv.Add("Case", map[string]any{"ContactId": con, "Priority": "High", "IsClosed": false})
	srv.Add("Case", map[string]any{"AccountId": acc, "Priority": "Low", "IsClosed": false})
	srv.Add("Case", map[string]any{"AccountId": acc, "Priority": "Low", "IsClosed": true})
	srv.Add("Case", map[string]any{"Priority": "Low", "IsClosed": false})
	q := fmt.Sprintf("SELECT Id, ContactId, AccountId, Priority, OwnerId FROM Case WHERE IsClosed = false AND (ContactId IN ('%s') OR AccountId IN ('%s'))", con, acc)
	status, ans, body := query(t, srv, tok, q)
	if status != 200 || ans["totalSize"] != float64(2) {
		t.Fatalf("%d %s", status, body)
	}
}
