package salesforce_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/salesforce"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs/jobstest"
)

const (
	testClientID     = "3MVG9test.consumer.key"
	testClientSecret = "consumer-secret"
	testUsername     = "integration@contoso.example"
	userField        = "Enreach_User_Id__c"
	extraField       = "Segment__c"
)

func TestConformance(t *testing.T) {
	crmtest.Run(t, func(t *testing.T) crmtest.Backend { return newBackend(t) })
}

// backend adapts the double to crmtest.Backend.
type backend struct {
	srv    *salesforcetest.Server
	client *salesforce.Client
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	srv := salesforcetest.NewServer(salesforcetest.Config{
		ClientID: testClientID, ClientSecret: testClientSecret, Username: testUsername,
	})
	t.Cleanup(srv.Close)
	srv.DefineField("User", userField, salesforcetest.FieldString)
	for _, o := range []string{"Contact", "Account", "Lead"} {
		srv.DefineField(o, extraField, salesforcetest.FieldString)
	}
	c, err := salesforce.New(salesforce.Config{
		LoginURL:     srv.URL,
		Grant:        salesforce.GrantClientCredentials,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
	}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	return &backend{srv: srv, client: c}
}

func testOptions() salesforce.Options {
	return salesforce.Options{
		HTTP:   httpclient.Options{WaitMin: time.Millisecond, WaitMax: 10 * time.Millisecond, RetryAfterCap: time.Second},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func (b *backend) Client() crm.Client { return b.client }

func (b *backend) UserMatch() crm.UserMatch { return crm.UserMatch{By: "field", Field: userField} }

var objectOf = map[crm.Entity]string{crm.Contact: "Contact", crm.Account: "Account", crm.Lead: "Lead"}

func (b *backend) AddCustomer(e crm.Entity, name string, phones map[string]string, ownerID string, fields map[string]string) string {
	rec := map[string]any{"Name": name}
	switch e {
	case crm.Contact:
		rec["LastName"] = name
	case crm.Lead:
		rec["LastName"], rec["Company"] = name, "Company of "+name
	}
	if ownerID != "" {
		rec["OwnerId"] = ownerID
	}
	for k, v := range phones {
		rec[k] = v
	}
	for k, v := range fields {
		rec[k] = v
	}
	return b.srv.Add(objectOf[e], rec)
}

func (b *backend) PhoneFields(e crm.Entity) []string { return salesforce.DefaultPhoneFields()[e] }

func (b *backend) ExtraField(crm.Entity) string { return extraField }

func (b *backend) AddUser(email, name, enreachID string, disabled bool) string {
	return b.srv.AddUser(name, email, !disabled, map[string]any{userField: enreachID})
}

func (b *backend) Activities() []crmtest.Stored {
	var out []crmtest.Stored
	for _, r := range b.srv.Tasks() {
		out = append(out, stored(r))
	}
	return out
}

// stored reads a Task back in the suite's common shape. Salesforce has no
// user party on a Task (its owner is its only user) and no status reason.
func stored(r salesforcetest.Record) crmtest.Stored {
	s := crmtest.Stored{
		ID:          r.String("Id"),
		Subject:     r.String("Subject"),
		Number:      r.String(salesforce.DefaultNumberField),
		Description: r.String("Description"),
		Start:       r.Time(salesforce.DefaultStartField),
		Duration:    time.Duration(r.Int("CallDurationInSeconds")) * time.Second,
		OwnerID:     r.String("OwnerId"),
		Open:        !r.Bool("IsClosed"),
		NotHeld:     []string{"UserID", "StatusReason"},
	}
	switch r.String("CallType") {
	case "Inbound":
		s.Direction = crm.Inbound
	case "Outbound":
		s.Direction = crm.Outbound
	}
	who, what := r.String("WhoId"), r.String("WhatId")
	switch {
	case strings.HasPrefix(who, "003"):
		s.Regarding = &crm.Ref{Entity: crm.Contact, ID: who}
	case strings.HasPrefix(who, "00Q"):
		s.Regarding = &crm.Ref{Entity: crm.Lead, ID: who}
	case strings.HasPrefix(what, "001"):
		s.Regarding = &crm.Ref{Entity: crm.Account, ID: what}
	}
	// The external id is the key itself (callsync/v1/<tenant>/<kind>/<id>).
	if parts := strings.Split(r.String(salesforce.DefaultExternalIDField), "/"); len(parts) >= 5 {
		s.Kind = crm.Kind(parts[3])
	}
	return s
}

func (b *backend) Requests() int { return b.srv.Requests() }

func TestEngineEndToEnd(t *testing.T) {
	jobstest.RunEngine(t, func(t *testing.T) crmtest.Backend { return newBackend(t) })
}

// AddManualCall implements crmtest.ManualBackend: a call Task with the
// number and start fields callsync searches and no external id.
func (b *backend) AddManualCall(number string, start time.Time, d time.Duration) string {
	return b.srv.Add("Task", map[string]any{"Subject": "Logged by hand", "TaskSubtype": "Call", "Status": "Completed",
		"CallType": "Inbound", salesforce.DefaultNumberField: number, salesforce.DefaultStartField: start.UTC(),
		"CallDurationInSeconds": int(d.Seconds())})
}
