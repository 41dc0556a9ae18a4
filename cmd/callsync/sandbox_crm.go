package main

import (
	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
)

type dynamicsSandbox struct{ s *dynamicstest.Server }

func newDynamicsSandbox() sandboxCRM {
	return &dynamicsSandbox{s: dynamicstest.NewServer(dynamicstest.Options{})}
}

func (d *dynamicsSandbox) configure(t *config.Tenant) {
	c := d.s.Config()
	t.CRM.Type = config.CRMDynamics
	t.CRM.Users = config.Users{Match: config.MatchEmail}
	t.CRM.Dynamics.URL = c.URL
	t.CRM.Dynamics.AuthorityURL = c.AuthorityURL
	t.CRM.Dynamics.TenantID = c.TenantID
	t.CRM.Dynamics.ClientID = c.ClientID
	t.CRM.Dynamics.ClientSecret = c.ClientSecret
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

func (d *dynamicsSandbox) url() string { return d.s.URL + "/api/data/v9.2" }
func (d *dynamicsSandbox) close()      { d.s.Close() }
