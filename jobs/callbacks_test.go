package jobs_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/dynamics"
	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// queueCRM is the in-memory CRM plus queue owners: the interface addition
// the queue_owner rules need (crm.QueueOwners). Like a CRM, it fails for a
// queue it does not know.
type queueCRM struct {
	*crmtest.Memory
	mu     sync.Mutex
	owners map[string]string
	asked  int
	// loseAnswers makes that many writes succeed in the CRM but return an
	// error, as when the connection drops before the answer arrives.
	loseAnswers int
}

func (q *queueCRM) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	res, err := q.Memory.WriteActivities(ctx, acts)
	q.mu.Lock()
	defer q.mu.Unlock()
	if err == nil && q.loseAnswers > 0 {
		q.loseAnswers--
		return nil, errors.New("read tcp: connection reset by peer (the answer was lost)")
	}
	return res, err
}

func (q *queueCRM) QueueOwners(ctx context.Context, ids []string) (map[string]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.asked++
	out := map[string]string{}
	for _, id := range ids {
		o, ok := q.owners[id]
		if !ok {
			return nil, errors.New("queue " + id + " does not exist")
		}
		out[id] = o
	}
	return out, nil
}

// cbWorld is one tenant with an Enreach double, the in-memory CRM, a real
// store on disk and a fixed clock.
type cbWorld struct {
	t      *testing.T
	en     *enreachtest.Server
	mem    *crmtest.Memory
	crm    *queueCRM
	dbPath string
	store  *store.Store
	syncer *jobs.Syncer
	tenant *jobs.Tenant
	reg    *jobs.Registry
	now    time.Time

	// Enreach callback lists, by profile.
	salesList, supportList, webList, mixedList string
	// CRM side.
	salesQueue, supportQueue string
	queueOwner               string // CRM user owning salesQueue
	contact, twinA, twinB    string
	outcomes                 []jobs.Outcome
	outMu                    sync.Mutex
}

const (
	cbToken        = "webhook-token-0123456789"
	numContact     = "+358401111111" // one contact
	numTwins       = "+358402222222" // two contacts
	numUnknown     = "+358409999999" // nobody
	numContactTwo  = "+358405555555" // another contact, for a second group
	cbCustomerName = "Matti Meikäläinen"
)

var cbDay = time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)

func cbTenantConfig(w *cbWorld) config.Tenant {
	t := config.DefaultTenant()
	t.Name = "contoso"
	t.DefaultRegion = "FI"
	t.CRM.Type = "dynamics"
	t.Enreach.WebhookToken = cbToken
	profile := func(name, list, queue, method string) config.Profile {
		p := config.DefaultProfile()
		p.Name, p.CallbackListID, p.Queue, p.SyncMethod = name, list, queue, method
		return p
	}
	t.Callbacks.Profiles = []config.Profile{
		profile("sales", w.salesList, w.salesQueue, config.SyncPolling),
		profile("support", w.supportList, w.supportQueue, config.SyncPolling),
		profile("web", w.webList, w.salesQueue, config.SyncWebhook),
		profile("mixed", w.mixedList, w.salesQueue, config.SyncWebhookAndPolling),
	}
	t.Callbacks.Profiles[1].Subject = "Support callback"
	return t
}

func newCBWorld(t *testing.T) *cbWorld {
	t.Helper()
	w := &cbWorld{t: t, en: enreachtest.NewServer(), mem: crmtest.NewMemory(), now: cbDay.Add(20 * time.Hour)}
	t.Cleanup(w.en.Close)
	w.crm = &queueCRM{Memory: w.mem, owners: map[string]string{}}
	w.dbPath = filepath.Join(t.TempDir(), "callsync.db")
	w.openStore()
	t.Cleanup(func() { w.store.Close() })

	w.salesList, w.supportList, w.webList, w.mixedList = enreachtest.NewID(), enreachtest.NewID(), enreachtest.NewID(), enreachtest.NewID()
	w.en.AddCallbackLists(
		enreach.CallbackList{ID: w.salesList, Name: "Sales callbacks"},
		enreach.CallbackList{ID: w.supportList, Name: "Support callbacks"},
		enreach.CallbackList{ID: w.webList, Name: "Web callbacks"},
		enreach.CallbackList{ID: w.mixedList, Name: "Mixed callbacks"},
	)
	w.salesQueue, w.supportQueue = enreachtest.NewID(), enreachtest.NewID()
	w.queueOwner = w.mem.AddUser("queue.owner@contoso.example", "Queue Owner", "", false)
	w.crm.owners[w.salesQueue] = w.queueOwner
	w.crm.owners[w.supportQueue] = w.queueOwner
	w.contact = w.mem.AddCustomer(crm.Contact, cbCustomerName, map[string]string{"mobilephone": numContact}, "", nil)
	w.mem.AddCustomer(crm.Contact, "Other Contact", map[string]string{"telephone1": numContactTwo}, "", nil)
	w.twinA = w.mem.AddCustomer(crm.Contact, "Twin A", map[string]string{"telephone1": numTwins}, "", nil)
	w.twinB = w.mem.AddCustomer(crm.Contact, "Twin B", map[string]string{"mobilephone": numTwins}, "", nil)

	ec, err := enreach.New(enreach.Config{APIURL: w.en.URL, User: w.en.User, SecretKey: w.en.Secret,
		HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond, RetryMax: 2}})
	if err != nil {
		t.Fatal(err)
	}
	w.tenant = jobs.NewTenant(cbTenantConfig(w), ec, w.crm, nil)
	w.reg = jobs.NewRegistry(w.tenant)
	w.newSyncer()
	return w
}

func (w *cbWorld) openStore() {
	st, err := store.Open(context.Background(), w.dbPath)
	if err != nil {
		w.t.Fatal(err)
	}
	w.store = st
}

// newSyncer replaces the syncer (a restarted worker) on the current store.
func (w *cbWorld) newSyncer() {
	w.syncer = &jobs.Syncer{Store: w.store, Now: func() time.Time { return w.now }, OnCall: func(_ string, o jobs.Outcome) {
		w.outMu.Lock()
		w.outcomes = append(w.outcomes, o)
		w.outMu.Unlock()
	}}
}

// setProfile changes one profile's settings through SetConfig (a reload).
func (w *cbWorld) setProfile(name string, f func(p *config.Profile)) {
	cfg := w.tenant.Config()
	cfg.Callbacks.Profiles = append([]config.Profile(nil), cfg.Callbacks.Profiles...)
	p, ok := cfg.Profile(name)
	if !ok {
		w.t.Fatalf("no profile %s", name)
	}
	f(p)
	w.tenant.SetConfig(cfg)
}

// request adds a callback request to a list, created minutesAgo before now.
func (w *cbWorld) request(list, number string, minutesAgo int) enreach.Callback {
	created := w.now.Add(-time.Duration(minutesAgo) * time.Minute).Truncate(time.Second)
	due := created.Add(4 * time.Hour)
	cb := enreach.Callback{
		ID: enreachtest.NewID(), CallbackListID: list, ContactNumber: number, ContactName: "Caller " + number,
		ContactMessage: "Please call me about my order", CreatedTime: created, DueDate: &due,
	}
	w.en.AddCallbacks(cb)
	return cb
}

// closeRequest closes a request in Enreach at now (ModifiedTime moves).
func (w *cbWorld) closeRequest(cb enreach.Callback) enreach.Callback {
	w.t.Helper()
	cur, ok := w.en.Callback(cb.ID)
	if !ok {
		w.t.Fatalf("no callback %s", cb.ID)
	}
	at := w.now.Add(-30 * time.Second).Truncate(time.Second)
	cur.IsClosed, cur.ClosedTime, cur.HandlingStatus, cur.ModifiedTime = true, &at, "Closed successfully", at
	got, err := w.en.UpdateCallback(cur)
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

func (w *cbWorld) run() jobs.Summary {
	w.t.Helper()
	sum, err := w.syncer.RunCallbacks(context.Background(), w.tenant, jobs.SyncOptions{})
	if err != nil {
		w.t.Fatalf("RunCallbacks: %v", err)
	}
	return sum
}

// activities returns the callback activities in the CRM by Enreach id.
func (w *cbWorld) activities() map[string]crmtest.Written {
	out := map[string]crmtest.Written{}
	for _, a := range w.mem.Written() {
		if a.Activity.Kind != crm.KindCallback {
			w.t.Errorf("activity %s has kind %q", a.ID, a.Activity.Kind)
		}
		if _, dup := out[a.Activity.EnreachID]; dup {
			w.t.Errorf("callback %s written twice", a.Activity.EnreachID)
		}
		out[a.Activity.EnreachID] = a
	}
	return out
}

// outcome is the last outcome reported for a request.
func (w *cbWorld) outcome(id string) jobs.Outcome {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	for i := len(w.outcomes) - 1; i >= 0; i-- {
		if strings.EqualFold(w.outcomes[i].CallID, id) {
			return w.outcomes[i]
		}
	}
	return jobs.Outcome{}
}

func (w *cbWorld) ledger(id string) store.LedgerEntry {
	w.t.Helper()
	m, err := w.store.Ledger(context.Background(), w.tenant.Name, jobs.KindCallback, []string{strings.ToLower(id)})
	if err != nil {
		w.t.Fatal(err)
	}
	return m[strings.ToLower(id)]
}

// jobsBundle extracts the bundle key from a description.
func jobsBundle(desc string) string {
	for _, l := range strings.Split(desc, "\n") {
		if k, ok := strings.CutPrefix(l, "Bundle: "); ok {
			return k
		}
	}
	return ""
}

// TestCallbacksEndToEndWithDynamics runs the engine against the Dynamics
// client and its double: a polled request and a webhook request become open
// phone calls in the profile's queue, linked to the contact; closing one in
// Enreach completes its phone call; nothing is written twice.
func TestCallbacksEndToEndWithDynamics(t *testing.T) {
	w := newCBWorld(t)
	dyn := dynamicstest.NewServer(dynamicstest.Options{})
	t.Cleanup(dyn.Close)
	dc, err := dynamics.New(dyn.Config(), dynamics.Options{HTTP: httpclient.Options{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond, RetryMax: 2}})
	if err != nil {
		t.Fatal(err)
	}
	contact := dyn.AddContact(dynamicstest.Record{Name: cbCustomerName, Phones: map[string]string{"mobilephone": numContact}})
	queue := dyn.AddQueue(dynamicstest.Queue{Name: "Sales callbacks"})
	cfg := cbTenantConfig(w)
	for i := range cfg.Callbacks.Profiles {
		cfg.Callbacks.Profiles[i].Queue = queue
	}
	w.tenant = jobs.NewTenant(cfg, w.tenant.Enreach, dc, nil)
	w.reg = jobs.NewRegistry(w.tenant)
	url := w.startWebhook()

	polled := w.request(w.salesList, "040 111 1111", 10)
	hooked := w.request(w.webList, numUnknown, 5)
	w.accept(url, created(hooked), "accepted")
	w.drain()
	w.run()

	calls := dyn.PhoneCalls()
	if len(calls) != 2 {
		t.Fatalf("%d phone calls, want 2", len(calls))
	}
	byDesc := func(id string) dynamicstest.PhoneCall {
		for _, pc := range calls {
			if strings.Contains(pc.Description, id) {
				return pc
			}
		}
		t.Fatalf("no phone call for %s", id)
		return dynamicstest.PhoneCall{}
	}
	p := byDesc(polled.ID)
	if p.StateCode != 0 || p.Subject != "Callback request" || p.PhoneNumber != numContact ||
		len(p.Queues) != 1 || p.Queues[0] != queue {
		t.Errorf("polled phone call: %+v", p)
	}
	if p.Regarding == nil || p.Regarding.ID != contact || p.From() == nil || p.From().ID != contact {
		t.Errorf("polled phone call not linked to the contact: regarding %v from %v", p.Regarding, p.From())
	}
	if !p.ScheduledEnd.Equal(polled.DueDate.Truncate(time.Second)) {
		t.Errorf("scheduledend %v, want the due date %v", p.ScheduledEnd, polled.DueDate)
	}
	h := byDesc(hooked.ID)
	if h.StateCode != 0 || h.Regarding != nil || len(h.Queues) != 1 || h.Queues[0] != queue {
		t.Errorf("webhook phone call: %+v", h)
	}

	w.closeRequest(polled)
	w.now = w.now.Add(time.Minute)
	w.run()
	w.drain()
	if pc, _ := dyn.PhoneCall(p.ID); pc.StateCode != 1 {
		t.Errorf("closed request: statecode %d, want 1 (completed)", pc.StateCode)
	}
	if pc, _ := dyn.PhoneCall(h.ID); pc.StateCode != 0 {
		t.Errorf("the other request was closed too")
	}
	if n := len(dyn.PhoneCalls()); n != 2 {
		t.Fatalf("%d phone calls after the close", n)
	}
}
