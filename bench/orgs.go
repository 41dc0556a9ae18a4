package main

import (
	"fmt"
	"strings"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
	"github.com/callsync/callsync/crm/zoho/zohotest"
)

// org is one CRM double as the benchmark drives it: seeding, the tenant's
// crm: section pointing at the proxies, and what it holds afterwards.
type org interface {
	// Backends are the double's listener base URLs (to put behind the proxy).
	Backends() []string
	// AddUser seeds an active CRM user with an e-mail address.
	AddUser(email, name string) string
	// AddCustomer seeds a contact holding one phone value.
	AddCustomer(name, phone string) string
	// CRMYAML is the tenant's "crm:" mapping, indented for a tenant list
	// item; urls maps backend to proxy URL. Secrets come from env.
	CRMYAML(proxy func(string) string) string
	// Env holds the secrets the YAML references.
	Env() map[string]string
	// Requests counts every HTTP request the double served (API and token).
	Requests() int
	// Activities counts the phone-call activities stored, and how many of
	// them are linked to a customer.
	Activities() (total, linked int)
	Close()
}

// crmNames are the CRMs the benchmark knows, in table order.
var crmNames = []string{"dynamics", "salesforce", "zoho"}

func newOrg(name string) (org, error) {
	switch name {
	case "dynamics":
		return &dynamicsOrg{srv: dynamicstest.NewServer(dynamicstest.Options{})}, nil
	case "salesforce":
		return newSalesforceOrg(), nil
	case "zoho":
		s := zohotest.NewServer()
		s.SetCredits(1<<40, 1<<40) // the daily credit limit is reported, not enforced
		return &zohoOrg{srv: s}, nil
	}
	return nil, fmt.Errorf("unknown CRM %q (want %s)", name, strings.Join(crmNames, ", "))
}

// --- Dynamics 365 ---

type dynamicsOrg struct{ srv *dynamicstest.Server }

func (o *dynamicsOrg) Backends() []string { return []string{o.srv.URL} }
func (o *dynamicsOrg) AddUser(email, name string) string {
	return o.srv.AddUser(dynamicstest.User{Name: name, Email: email})
}
func (o *dynamicsOrg) AddCustomer(name, phone string) string {
	return o.srv.AddContact(dynamicstest.Record{Name: name, Phones: map[string]string{"mobilephone": phone}})
}
func (o *dynamicsOrg) CRMYAML(proxy func(string) string) string {
	c := o.srv.Config()
	return fmt.Sprintf(`    crm:
      type: dynamics
      dynamics:
        url: %s
        authority_url: %s
        tenant_id: %s
        client_id: %s
        client_secret: ${CRM_SECRET}
`, proxy(c.URL), proxy(c.AuthorityURL), c.TenantID, c.ClientID)
}
func (o *dynamicsOrg) Env() map[string]string {
	return map[string]string{"CRM_SECRET": o.srv.Config().ClientSecret}
}
func (o *dynamicsOrg) Requests() int { return o.srv.Requests() }
func (o *dynamicsOrg) Activities() (int, int) {
	pcs := o.srv.PhoneCalls()
	linked := 0
	for _, p := range pcs {
		if p.Regarding != nil {
			linked++
		}
	}
	return len(pcs), linked
}
func (o *dynamicsOrg) Close() { o.srv.Close() }

// --- Salesforce ---

const (
	sfClientID     = "bench-client-id"
	sfClientSecret = "bench-client-secret"
)

type salesforceOrg struct{ srv *salesforcetest.Server }

func newSalesforceOrg() *salesforceOrg {
	return &salesforceOrg{srv: salesforcetest.NewServer(salesforcetest.Config{
		ClientID: sfClientID, ClientSecret: sfClientSecret, Username: "integration@bench.example",
		DailyLimit: 1 << 30, // the daily limit is reported, not enforced
	})}
}

func (o *salesforceOrg) Backends() []string { return []string{o.srv.URL} }
func (o *salesforceOrg) AddUser(email, name string) string {
	return o.srv.AddUser(name, email, true, nil)
}
func (o *salesforceOrg) AddCustomer(name, phone string) string {
	return o.srv.Add("Contact", map[string]any{"LastName": name, "MobilePhone": phone})
}
func (o *salesforceOrg) CRMYAML(proxy func(string) string) string {
	return fmt.Sprintf(`    crm:
      type: salesforce
      salesforce:
        login_url: %s
        grant: client_credentials
        client_id: %s
        client_secret: ${CRM_SECRET}
`, proxy(o.srv.URL), sfClientID)
}
func (o *salesforceOrg) Env() map[string]string {
	return map[string]string{"CRM_SECRET": sfClientSecret}
}
func (o *salesforceOrg) Requests() int { return o.srv.Requests() }
func (o *salesforceOrg) Activities() (int, int) {
	tasks := o.srv.Tasks()
	linked := 0
	for _, t := range tasks {
		if t.String("WhoId") != "" || t.String("WhatId") != "" {
			linked++
		}
	}
	return len(tasks), linked
}
func (o *salesforceOrg) Close() { o.srv.Close() }

// --- Zoho CRM ---

type zohoOrg struct{ srv *zohotest.Server }

func (o *zohoOrg) Backends() []string { return []string{o.srv.URL, o.srv.AccountsURL} }
func (o *zohoOrg) AddUser(email, name string) string {
	return o.srv.AddUser(zohotest.User{Email: email, FullName: name, Active: true})
}
func (o *zohoOrg) AddCustomer(name, phone string) string {
	return o.srv.AddRecord("Contacts", map[string]any{"Last_Name": name, "Mobile": phone})
}
func (o *zohoOrg) CRMYAML(proxy func(string) string) string {
	c := o.srv.Config()
	return fmt.Sprintf(`    crm:
      type: zoho
      zoho:
        accounts_url: %s
        client_id: %s
        client_secret: ${CRM_SECRET}
        refresh_token: ${CRM_REFRESH}
`, proxy(c.AccountsURL), c.ClientID)
}
func (o *zohoOrg) Env() map[string]string {
	c := o.srv.Config()
	return map[string]string{"CRM_SECRET": c.ClientSecret, "CRM_REFRESH": c.RefreshToken}
}
func (o *zohoOrg) Requests() int { return o.srv.Requests() }
func (o *zohoOrg) Activities() (int, int) {
	recs := o.srv.Records("Calls")
	linked := 0
	for _, r := range recs {
		if r["Who_Id"] != nil || r["What_Id"] != nil {
			linked++
		}
	}
	return len(recs), linked
}
func (o *zohoOrg) Close() { o.srv.Close() }
