//go:build sandbox

package main

import (
	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/crm/zoho/zohotest"
)

// sandboxCRMs returns, by crm.type, the function that starts the double
// `callsync sandbox --crm <type>` runs against.
func sandboxCRMs() map[string]func() sandboxCRM {
	return map[string]func() sandboxCRM{
		crmDynamics:   newDynamicsSandbox,
		crmSalesforce: newSalesforceSandbox,
		crmZoho:       newZohoSandbox,
	}
}

type dynamicsSandbox struct{ s *dynamicstest.Server }

func newDynamicsSandbox() sandboxCRM {
	return &dynamicsSandbox{s: dynamicstest.NewServer(dynamicstest.Options{})}
}

func (d *dynamicsSandbox) configure(t *config.Tenant) {
	c := d.s.Config()
	o := dynamics.DefaultConfig()
	o.URL, o.AuthorityURL, o.TenantID, o.ClientID, o.ClientSecret = c.URL, c.AuthorityURL, c.TenantID, c.ClientID, c.ClientSecret
	t.CRM.Type = crmDynamics
	t.CRM.Users = config.Users{Match: config.MatchEmail}
	t.CRM.Options = config.NewCRMOptions(&o)
}

func (d *dynamicsSandbox) addUser(email, name, _ string) string {
	return d.s.AddUser(dynamicstest.User{Name: name, Email: email})
}

func (d *dynamicsSandbox) addCustomer(e crm.Entity, name, field, number string) {
	r := dynamicstest.Record{Name: name, Phones: map[string]string{field: number}}
	switch e {
	case crm.Contact:
		d.s.AddContact(r)
	case crm.Account:
		d.s.AddAccount(r)
	default:
		d.s.AddLead(r)
	}
}

func (d *dynamicsSandbox) addQueue(name string) string {
	return d.s.AddQueue(dynamicstest.Queue{Name: name})
}

func (d *dynamicsSandbox) url() string { return d.s.URL + "/api/data/v9.2" }
func (d *dynamicsSandbox) close()      { d.s.Close() }

type salesforceSandbox struct{ s *salesforcetest.Server }

const (
	sandboxSFClient = "sandbox-consumer-key"
	sandboxSFSecret = "sandbox-consumer-secret"
)

func newSalesforceSandbox() sandboxCRM {
	return &salesforceSandbox{s: salesforcetest.NewServer(salesforcetest.Config{ClientID: sandboxSFClient, ClientSecret: sandboxSFSecret})}
}

func (d *salesforceSandbox) configure(t *config.Tenant) {
	o := salesforce.DefaultConfig()
	o.LoginURL, o.Grant, o.ClientID, o.ClientSecret = d.s.URL, salesforce.GrantClientCredentials, sandboxSFClient, sandboxSFSecret
	t.CRM.Type = crmSalesforce
	t.CRM.Users = config.Users{Match: config.MatchEmail}
	t.CRM.Options = config.NewCRMOptions(&o)
}

func (d *salesforceSandbox) addUser(email, name, _ string) string {
	return d.s.AddUser(name, email, true, nil)
}

func (d *salesforceSandbox) addCustomer(e crm.Entity, name, _, number string) {
	// Salesforce phone fields: Phone on all three, MobilePhone on people.
	rec := map[string]any{"Name": name, "Phone": number}
	switch e {
	case crm.Contact:
		d.s.Add("Contact", map[string]any{"LastName": name, "MobilePhone": number})
	case crm.Account:
		d.s.Add("Account", rec)
	default:
		d.s.Add("Lead", map[string]any{"LastName": name, "Company": name + " Oy", "Phone": number})
	}
}

func (d *salesforceSandbox) addQueue(string) string { return "" }

func (d *salesforceSandbox) url() string { return d.s.URL + "/services/data" }
func (d *salesforceSandbox) close()      { d.s.Close() }

type zohoSandbox struct{ s *zohotest.Server }

func newZohoSandbox() sandboxCRM { return &zohoSandbox{s: zohotest.NewServer()} }

func (d *zohoSandbox) configure(t *config.Tenant) {
	c := d.s.Config()
	o := zoho.DefaultConfig()
	o.AccountsURL, o.ClientID, o.ClientSecret, o.RefreshToken = c.AccountsURL, c.ClientID, c.ClientSecret, c.RefreshToken
	t.CRM.Type = crmZoho
	t.CRM.Users = config.Users{Match: config.MatchEmail}
	t.CRM.Options = config.NewCRMOptions(&o)
}

func (d *zohoSandbox) addUser(email, name, _ string) string {
	return d.s.AddUser(zohotest.User{Email: email, FullName: name, Active: true})
}

func (d *zohoSandbox) addCustomer(e crm.Entity, name, _, number string) {
	switch e {
	case crm.Contact:
		d.s.AddRecord("Contacts", map[string]any{"Last_Name": name, "Mobile": number})
	case crm.Account:
		d.s.AddRecord("Accounts", map[string]any{"Account_Name": name, "Phone": number})
	default:
		d.s.AddRecord("Leads", map[string]any{"Last_Name": name, "Phone": number})
	}
}

func (d *zohoSandbox) addQueue(string) string { return "" }

func (d *zohoSandbox) url() string { return d.s.URL + "/crm/v8" }
func (d *zohoSandbox) close()      { d.s.Close() }
