package dynamics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs/jobstest"
)

// enreachField is the custom systemuser column holding the Enreach user id
// in the double (publisher prefix "cs").
const enreachField = "cs_enreachuserid"

// backend adapts the Dataverse double to crmtest.Backend.
type backend struct {
	srv    *dynamicstest.Server
	client *dynamics.Client
}

var _ crmtest.FieldsBackend = (*backend)(nil)

// fastRetries keeps retry back-off short in tests; Retry-After is still
// honoured up to the cap.
var fastRetries = httpclient.Options{WaitMin: 5 * time.Millisecond, WaitMax: 20 * time.Millisecond, RetryAfterCap: 5 * time.Second}

func newBackend(t *testing.T, o dynamicstest.Options) *backend {
	t.Helper()
	srv := dynamicstest.NewServer(o)
	t.Cleanup(srv.Close)
	c, err := dynamics.New(srv.Config(), dynamics.Options{HTTP: fastRetries})
	if err != nil {
		t.Fatal(err)
	}
	return &backend{srv: srv, client: c}
}

func (b *backend) Client() crm.Client { return b.client }

func (b *backend) UserMatch() crm.UserMatch { return crm.UserMatch{By: "field", Field: enreachField} }

func (b *backend) AddCustomer(e crm.Entity, name string, phones map[string]string, ownerID string, fields map[string]string) string {
	r := dynamicstest.Record{Name: name, Phones: phones, OwnerID: ownerID, Fields: map[string]any{}}
	for k, v := range fields {
		r.Fields[k] = v
	}
	switch e {
	case crm.Contact:
		return b.srv.AddContact(r)
	case crm.Account:
		return b.srv.AddAccount(r)
	case crm.Lead:
		return b.srv.AddLead(r)
	}
	panic("unknown entity " + string(e))
}

func (b *backend) PhoneFields(e crm.Entity) []string { return b.client.PhoneFields(e) }

func (b *backend) ExtraField(crm.Entity) string { return "cs_segment" }

func (b *backend) AddUser(email, name, enreachID string, disabled bool) string {
	return b.srv.AddUser(dynamicstest.User{Name: name, Email: email, Disabled: disabled,
		Fields: map[string]any{enreachField: enreachID}})
}

func (b *backend) Activities() []crmtest.Stored {
	var out []crmtest.Stored
	for _, pc := range b.srv.PhoneCalls() {
		s := crmtest.Stored{
			ID:           pc.ID,
			Subject:      pc.Subject,
			Number:       pc.PhoneNumber,
			Description:  pc.Description,
			Direction:    crm.Inbound,
			Start:        pc.ActualStart.UTC(),
			Duration:     pc.ActualEnd.Sub(pc.ActualStart),
			OwnerID:      pc.OwnerID,
			Open:         pc.StateCode == 0,
			StatusReason: pc.StatusCode,
			Kind:         crm.KindCall,
		}
		if pc.Outbound {
			s.Direction = crm.Outbound
		}
		for _, p := range pc.Parties {
			if p.Entity == "systemuser" {
				s.UserID = p.ID
			}
		}
		if pc.Regarding != nil {
			s.Regarding = &crm.Ref{Entity: crm.Entity(pc.Regarding.Entity), ID: pc.Regarding.ID}
		}
		// Dataverse has no call/callback flag: callbacks are the calls
		// with a due date or in a queue.
		if !pc.ScheduledEnd.IsZero() || len(pc.Queues) > 0 {
			s.Kind = crm.KindCallback
		}
		out = append(out, s)
	}
	return out
}

func (b *backend) Requests() int { return b.srv.Requests() }

func TestConformance(t *testing.T) {
	crmtest.Run(t, func(t *testing.T) crmtest.Backend { return newBackend(t, dynamicstest.Options{}) })
}

// TestConformancePaged runs the suite with a page size of 3, so every query
// that finds more than three rows follows @odata.nextLink.
func TestConformancePaged(t *testing.T) {
	crmtest.Run(t, func(t *testing.T) crmtest.Backend { return newBackend(t, dynamicstest.Options{PageSize: 3}) })
}

func TestEngineEndToEnd(t *testing.T) {
	jobstest.RunEngine(t, func(t *testing.T) crmtest.Backend { return newBackend(t, dynamicstest.Options{}) })
}

// faultyClient expires every token and throttles the next request before
// each lookup and write, so the engine's day runs through 401 renewals and
// 429 retries all along.
type faultyClient struct {
	crm.Client
	srv *dynamicstest.Server
}

func (f faultyClient) Lookup(ctx context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	f.srv.ExpireTokens()
	f.srv.Fail(dynamicstest.Fault{Status: 429})
	return f.Client.Lookup(ctx, req)
}

func (f faultyClient) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	f.srv.ExpireTokens()
	f.srv.Fail(dynamicstest.Fault{Status: 429})
	return f.Client.WriteActivities(ctx, acts)
}

type faultyBackend struct{ *backend }

func (b faultyBackend) Client() crm.Client { return faultyClient{Client: b.client, srv: b.srv} }

func TestEngineEndToEndWithExpiringTokensAnd429s(t *testing.T) {
	var srv *dynamicstest.Server
	jobstest.RunEngine(t, func(t *testing.T) crmtest.Backend {
		b := newBackend(t, dynamicstest.Options{})
		srv = b.srv
		return faultyBackend{b}
	})
	if n := srv.TokenRequests(); n < 3 {
		t.Fatalf("%d token requests: the tokens did not expire mid-run", n)
	}
}

// AddManualCall implements crmtest.ManualBackend: a phonecall whose
// activityid is not derived from any callsync key, as a person's would be.
func (b *backend) AddManualCall(number string, start time.Time, d time.Duration) string {
	res, err := b.client.WriteActivities(context.Background(), []crm.Activity{{Key: "manual/" + number + "/" + start.Format(time.RFC3339),
		Kind: crm.KindCall, Subject: "Logged by hand", Direction: crm.Inbound, Number: number, Start: start, End: start.Add(d), Duration: d, Answered: true}})
	if err != nil || res[0].Status != crm.Created {
		panic(fmt.Sprintf("seed a hand-logged phonecall: %v %+v", err, res))
	}
	return res[0].ID
}
