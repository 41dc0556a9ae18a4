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

func TestCallbackPollingWritesOneOpenActivityPerRequest(t *testing.T) {
	w := newCBWorld(t)
	known := w.request(w.salesList, "040 111 1111", 10) // national format
	twins := w.request(w.salesList, numTwins, 9)
	unknown := w.request(w.salesList, numUnknown, 8)
	support := w.request(w.supportList, numContactTwo, 7)
	withheld := w.request(w.salesList, "", 6)

	sum := w.run()
	if sum.Written != 5 || sum.Failed != 0 {
		t.Fatalf("first run: %+v", sum)
	}
	acts := w.activities()
	if len(acts) != 5 {
		t.Fatalf("want 5 activities, got %d", len(acts))
	}
	a := acts[known.ID]
	if !a.Open || a.Activity.Subject != "Callback request" || a.Activity.QueueID != w.salesQueue ||
		a.Activity.RecipientID != w.salesQueue || !a.Activity.RecipientIsQueue || a.Activity.OwnerID != "" {
		t.Errorf("known: %+v open=%v", a.Activity, a.Open)
	}
	if a.Activity.Regarding == nil || *a.Activity.Regarding != (crm.Ref{Entity: crm.Contact, ID: w.contact}) {
		t.Errorf("known: regarding %v, want the contact", a.Activity.Regarding)
	}
	if a.Activity.Number != numContact || a.Activity.Direction != crm.Inbound {
		t.Errorf("known: number %q direction %q", a.Activity.Number, a.Activity.Direction)
	}
	if a.Activity.Due == nil || !a.Activity.Due.Equal(*known.DueDate) || !a.Activity.Start.Equal(known.CreatedTime) {
		t.Errorf("known: due %v start %v", a.Activity.Due, a.Activity.Start)
	}
	if a.Activity.Key != crm.Key("contoso", crm.KindCallback, strings.ToLower(known.ID)) {
		t.Errorf("key %q", a.Activity.Key)
	}
	for _, want := range []string{"Callback request " + known.ID, "Please call me about my order", "Caller 040 111 1111"} {
		if !strings.Contains(a.Activity.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, a.Activity.Description)
		}
	}

	tw := acts[twins.ID]
	if tw.Activity.Regarding != nil || len(tw.Activity.Related) != 2 || tw.Activity.StatusReason != 1 ||
		!strings.Contains(tw.Activity.Description, "several CRM records") {
		t.Errorf("twins: multiple matches must be written unlinked with both related: %+v", tw.Activity)
	}
	if len(tw.Activity.Related) == 2 && (tw.Activity.Related[0].ID != w.twinA || tw.Activity.Related[1].ID != w.twinB) {
		t.Errorf("twins: related %v", tw.Activity.Related)
	}
	un := acts[unknown.ID]
	if un.Activity.Regarding != nil || !un.Open || !strings.Contains(un.Activity.Description, "no CRM record") {
		t.Errorf("unknown number must still reach the queue, unlinked: %+v", un.Activity)
	}
	if s := acts[support.ID].Activity; s.Subject != "Support callback" || s.QueueID != w.supportQueue {
		t.Errorf("support profile: subject %q queue %q", s.Subject, s.QueueID)
	}
	if wh := acts[withheld.ID]; !wh.Open || wh.Activity.Number != "" {
		t.Errorf("withheld number: %+v", wh.Activity)
	}
	if e := w.ledger(known.ID); e.State != store.Written || e.Reason != store.CallbackOpen || e.CRMID != a.ID {
		t.Errorf("ledger: %+v", e)
	}

	// The next minute re-reads the window: nothing is written twice.
	writes := w.mem.Calls(crmtest.MethodWriteActivities)
	w.now = w.now.Add(time.Minute)
	sum = w.run()
	if sum.Written != 0 || sum.Already != 5 || w.mem.Calls(crmtest.MethodWriteActivities) != writes {
		t.Fatalf("second run wrote again: %+v", sum)
	}
	wm, ok, err := w.store.Watermark(context.Background(), "contoso", jobs.StreamCallbacks("sales"))
	if err != nil || !ok || !wm.Equal(w.now) {
		t.Errorf("watermark %v %v %v, want %v", wm, ok, err, w.now)
	}
}

func TestCallbackWebhookProfilesAreNotPolled(t *testing.T) {
	w := newCBWorld(t)
	w.request(w.webList, numContact, 5)
	mixed := w.request(w.mixedList, numContact, 5)
	w.run()
	acts := w.activities()
	if len(acts) != 1 {
		t.Fatalf("want only the webhook_and_polling request polled, got %d activities", len(acts))
	}
	if _, ok := acts[mixed.ID]; !ok {
		t.Fatal("webhook_and_polling request was not polled")
	}
	for _, r := range w.en.Log() {
		if r.Path == "/callbacks" && strings.EqualFold(r.Query.Get("CallbackListId"), w.webList) {
			t.Fatal("a webhook-only profile was polled")
		}
	}
}

func TestCallbackDuplicateBundle(t *testing.T) {
	w := newCBWorld(t)
	first := w.request(w.salesList, numContact, 30)
	second := w.request(w.salesList, "0401111111", 20) // same number, other format
	other := w.request(w.salesList, numUnknown, 15)
	w.run()
	w.now = w.now.Add(5 * time.Minute)
	third := w.request(w.salesList, numContact, 1)
	w.run()

	acts := w.activities()
	if len(acts) != 4 {
		t.Fatalf("bundle writes every request: got %d", len(acts))
	}
	bundle := "Bundle: " + jobsBundle(acts[first.ID].Activity.Description)
	if bundle == "Bundle: " {
		t.Fatalf("first request has no bundle key:\n%s", acts[first.ID].Activity.Description)
	}
	for _, cb := range []enreach.Callback{first, second, third} {
		a := acts[cb.ID]
		if !a.Open || !strings.Contains(a.Activity.Description, bundle) {
			t.Errorf("%s: open=%v, description lacks %q:\n%s", cb.ID, a.Open, bundle, a.Activity.Description)
		}
	}
	if strings.Contains(acts[other.ID].Activity.Description, bundle) {
		t.Error("another number joined the bundle")
	}
	// Linked both ways: each names all the others, with their CRM ids (the
	// earlier ones were updated when a later one was written).
	for _, cb := range []enreach.Callback{first, second, third} {
		d := acts[cb.ID].Activity.Description
		for _, o := range []enreach.Callback{first, second, third} {
			if o.ID == cb.ID {
				continue
			}
			if !strings.Contains(d, o.ID+" (CRM "+acts[o.ID].ID+")") {
				t.Errorf("%s does not name %s with its CRM id:\n%s", cb.ID, o.ID, d)
			}
		}
		if strings.Contains(d, other.ID) || strings.Contains(d, cb.ID+" (CRM") {
			t.Errorf("%s names another number's request or itself:\n%s", cb.ID, d)
		}
	}
	counts, err := w.store.CallbackCountsByProfile(context.Background(), "contoso", jobs.KindCallback)
	if err != nil {
		t.Fatal(err)
	}
	if c := counts["sales"]; c.Open != 4 || c.Bundled != 3 || c.Ignored != 0 {
		t.Errorf("counts: %+v", c)
	}
	if n := w.mem.Calls(crmtest.MethodUpdateActivities); n != 2 {
		t.Errorf("%d UpdateActivities calls, want 2 (one batch per pass that joined the bundle)", n)
	}

	// Someone completes the first request in the CRM; a fourth request joins
	// the bundle: the first is no longer updated, the others are.
	if res, err := w.mem.CloseActivities(context.Background(), []crm.CloseRequest{{Key: acts[first.ID].Activity.Key, ID: acts[first.ID].ID}}); err != nil || res[0].Status != crm.Created {
		t.Fatalf("close in the CRM: %+v %v", res, err)
	}
	firstDesc := acts[first.ID].Activity.Description
	w.now = w.now.Add(5 * time.Minute)
	fourth := w.request(w.salesList, numContact, 1)
	w.run()
	acts = w.activities()
	if d := acts[first.ID].Activity.Description; d != firstDesc {
		t.Errorf("a request closed in the CRM was updated:\n%s", d)
	}
	if e := w.ledger(first.ID); e.Reason != store.CallbackClosed {
		t.Errorf("first request's ledger %+v, want written/closed", e)
	}
	for _, cb := range []enreach.Callback{second, third} {
		if d := acts[cb.ID].Activity.Description; !strings.Contains(d, fourth.ID) {
			t.Errorf("%s does not name the fourth request:\n%s", cb.ID, d)
		}
	}
	updates := w.mem.Calls(crmtest.MethodUpdateActivities)
	w.now = w.now.Add(time.Minute)
	w.run()
	if n := w.mem.Calls(crmtest.MethodUpdateActivities); n != updates {
		t.Errorf("a pass with nothing new updated %d times", n-updates)
	}
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

func TestCallbackDuplicateIgnore(t *testing.T) {
	w := newCBWorld(t)
	for _, name := range []string{"sales", "support"} {
		w.setProfile(name, func(p *config.Profile) { p.DuplicateHandling = config.DuplicatesIgnore })
	}
	first := w.request(w.salesList, numContact, 30)
	second := w.request(w.salesList, numContact, 20)
	other := w.request(w.salesList, numUnknown, 15)
	// The same number in another profile is another queue: not a duplicate.
	support := w.request(w.supportList, numContact, 10)
	w.run()

	acts := w.activities()
	if len(acts) != 3 {
		t.Fatalf("want 3 activities, got %d", len(acts))
	}
	for _, cb := range []enreach.Callback{first, other, support} {
		if _, ok := acts[cb.ID]; !ok {
			t.Errorf("%s not written", cb.ID)
		}
	}
	if _, ok := acts[second.ID]; ok {
		t.Fatal("the duplicate was written")
	}
	if e := w.ledger(second.ID); e.State != store.Ignored || e.Reason != jobs.ReasonDuplicateOpen {
		t.Errorf("duplicate ledger: %+v", e)
	}
	if strings.Contains(acts[first.ID].Activity.Description, "Bundle") {
		t.Error("ignore must not bundle")
	}
	if o := w.outcome(second.ID); o.State != store.Ignored || o.Reason != jobs.ReasonDuplicateOpen {
		t.Errorf("outcome %+v", o)
	}
	counts, _ := w.store.CallbackCountsByProfile(context.Background(), "contoso", jobs.KindCallback)
	if c := counts["sales"]; c.Ignored != 1 || c.Open != 2 {
		t.Errorf("counts: %+v", c)
	}

	// Later polls keep it ignored while the first is open...
	w.now = w.now.Add(time.Minute)
	w.run()
	if len(w.activities()) != 3 {
		t.Fatal("ignored duplicate written while the first is open")
	}
	// ...and once the first is closed, the still-open one reaches the queue.
	w.closeRequest(first)
	w.now = w.now.Add(time.Minute)
	w.run()
	acts = w.activities()
	if acts[first.ID].Open {
		t.Error("first not completed")
	}
	if a, ok := acts[second.ID]; !ok || !a.Open {
		t.Errorf("second open request not written after the first closed: %+v", a)
	}
}

func TestCallbackOwnershipAndRecipientRules(t *testing.T) {
	for _, tc := range []struct {
		ownership, recipient    string
		wantOwner, wantTo       string
		wantToQueue, wantUserTo bool
	}{
		{config.OwnerAPIUser, config.RecipientQueue, "", "queue", true, false},
		{config.OwnerQueueOwner, config.RecipientQueue, "owner", "queue", true, false},
		{config.OwnerAPIUser, config.RecipientQueueOwner, "", "owner", false, true},
		{config.OwnerQueueOwner, config.RecipientQueueOwner, "owner", "owner", false, true},
	} {
		t.Run(tc.ownership+"/"+tc.recipient, func(t *testing.T) {
			w := newCBWorld(t)
			cfg := w.tenant.Config()
			cfg.Callbacks.RecipientRule = tc.recipient
			w.tenant.SetConfig(cfg)
			w.setProfile("sales", func(p *config.Profile) { p.OwnershipRule = tc.ownership })
			cb := w.request(w.salesList, numContact, 5)
			w.run()
			a := w.activities()[cb.ID].Activity
			resolve := func(s string) string {
				switch s {
				case "owner":
					return w.queueOwner
				case "queue":
					return w.salesQueue
				}
				return s
			}
			if a.OwnerID != resolve(tc.wantOwner) || a.RecipientID != resolve(tc.wantTo) || a.RecipientIsQueue != tc.wantToQueue {
				t.Errorf("owner %q recipient %q (queue %v)", a.OwnerID, a.RecipientID, a.RecipientIsQueue)
			}
			if tc.wantUserTo != (a.UserID == w.queueOwner) {
				t.Errorf("user party %q", a.UserID)
			}
			if a.QueueID != w.salesQueue {
				t.Errorf("queue %q", a.QueueID)
			}
		})
	}
}

func TestCallbackQueueOwnerNeedsACRMThatKnowsQueueOwners(t *testing.T) {
	w := newCBWorld(t)
	// A CRM client without crm.QueueOwners.
	w.tenant = jobs.NewTenant(w.tenant.Config(), w.tenant.Enreach, w.mem, nil)
	w.setProfile("sales", func(p *config.Profile) { p.OwnershipRule = config.OwnerQueueOwner })
	w.request(w.salesList, numContact, 5)
	support := w.request(w.supportList, numContact, 5)
	_, err := w.syncer.RunCallbacks(context.Background(), w.tenant, jobs.SyncOptions{})
	if !errors.Is(err, jobs.ErrNoQueueOwners) {
		t.Fatalf("want ErrNoQueueOwners, got %v", err)
	}
	acts := w.activities()
	if len(acts) != 1 || acts[support.ID].ID == "" {
		t.Fatalf("only the api_user profile must be written, got %d", len(acts))
	}
	if _, ok, _ := w.store.Watermark(context.Background(), "contoso", jobs.StreamCallbacks("sales")); ok {
		t.Error("the failing profile's watermark moved")
	}
}

func TestCallbackClosedRequestCompletesActivity(t *testing.T) {
	w := newCBWorld(t)
	cb := w.request(w.salesList, numContact, 10)
	w.run()
	if !w.activities()[cb.ID].Open {
		t.Fatal("not open after the first run")
	}
	w.closeRequest(cb)
	w.now = w.now.Add(time.Minute)
	w.run()
	a := w.activities()[cb.ID]
	if a.Open {
		t.Fatal("activity not completed after Enreach closed the request")
	}
	if e := w.ledger(cb.ID); e.State != store.Written || e.Reason != store.CallbackClosed {
		t.Errorf("ledger %+v", e)
	}
	closes := w.mem.Calls(crmtest.MethodCloseActivities)
	w.now = w.now.Add(time.Minute)
	sum := w.run()
	if w.mem.Calls(crmtest.MethodCloseActivities) != closes || sum.Written != 0 {
		t.Errorf("closed again: %+v", sum)
	}
	if len(w.mem.Written()) != 1 {
		t.Error("closing wrote another activity")
	}

	// A request first seen already closed is written once, completed.
	late := w.request(w.salesList, numUnknown, 3)
	w.closeRequest(late)
	w.now = w.now.Add(time.Minute)
	w.run()
	l, ok := w.activities()[late.ID]
	if !ok || l.Open {
		t.Fatalf("closed-at-first-sight: %+v %v", l, ok)
	}
	if !strings.Contains(l.Activity.Description, "Closed successfully") {
		t.Errorf("description lacks the handling status:\n%s", l.Activity.Description)
	}
	if w.mem.Calls(crmtest.MethodCloseActivities) != closes {
		t.Error("a request written completed was closed again")
	}
}

func TestCallbackCloseRetriedAfterCRMFailure(t *testing.T) {
	w := newCBWorld(t)
	cb := w.request(w.salesList, numContact, 10)
	w.run()
	w.closeRequest(cb)
	w.mem.FailNext(crmtest.MethodCloseActivities, 1, nil)
	w.now = w.now.Add(time.Minute)
	if _, err := w.syncer.RunCallbacks(context.Background(), w.tenant, jobs.SyncOptions{}); err == nil {
		t.Fatal("want the close failure reported")
	}
	if e := w.ledger(cb.ID); e.Reason != store.CallbackClosePending {
		t.Fatalf("ledger %+v, want close_pending", e)
	}
	if !w.activities()[cb.ID].Open {
		t.Fatal("closed although the CRM failed")
	}
	// The next run retries the close from the ledger.
	w.now = w.now.Add(time.Minute)
	w.run()
	if w.activities()[cb.ID].Open {
		t.Fatal("close not retried")
	}
	if e := w.ledger(cb.ID); e.Reason != store.CallbackClosed {
		t.Errorf("ledger %+v", e)
	}
}

func TestCallbackFailedWriteRetriedOnce(t *testing.T) {
	w := newCBWorld(t)
	cb := w.request(w.salesList, numContact, 10)
	w.mem.FailNext(crmtest.MethodWriteActivities, 1, nil)
	if _, err := w.syncer.RunCallbacks(context.Background(), w.tenant, jobs.SyncOptions{}); err == nil {
		t.Fatal("want the write failure reported")
	}
	if e := w.ledger(cb.ID); e.State != store.Failed {
		t.Fatalf("ledger %+v", e)
	}
	if _, ok, _ := w.store.Watermark(context.Background(), "contoso", jobs.StreamCallbacks("sales")); ok {
		t.Error("watermark moved past a failed window")
	}
	w.now = w.now.Add(time.Minute)
	w.run()
	if len(w.activities()) != 1 {
		t.Fatal("not written on the next run")
	}
	if e := w.ledger(cb.ID); e.State != store.Written || e.Attempts != 2 {
		t.Errorf("ledger %+v", e)
	}
}

func TestCallbackMalformedRecordsAreQuarantined(t *testing.T) {
	w := newCBWorld(t)
	good := w.request(w.salesList, numContact, 5)
	w.en.AddRaw("/callbacks", []byte(`{"ContactNumber":"+358401111111","CreatedTime":"2026-03-29 19:50:00"}`))
	sum := w.run()
	if sum.Quarantined == 0 {
		t.Fatalf("nothing quarantined: %+v", sum)
	}
	if _, ok := w.activities()[good.ID]; !ok {
		t.Fatal("a malformed record stopped the good one")
	}
	n, err := w.store.QuarantineCount(context.Background(), "contoso")
	if err != nil || n == 0 {
		t.Fatalf("quarantine count %d %v", n, err)
	}
}

func TestCallbackProfileChangeTakesEffectNextCycle(t *testing.T) {
	w := newCBWorld(t)
	w.setProfile("sales", func(p *config.Profile) { p.Active = false })
	cb := w.request(w.salesList, numContact, 5)
	before := w.en.Requests("/callbacks")
	w.run()
	if len(w.activities()) != 0 {
		t.Fatal("an inactive profile was processed")
	}
	// support (active, empty list) is still polled; sales is not.
	polled := 0
	for _, r := range w.en.Log() {
		if r.Path == "/callbacks" && strings.EqualFold(r.Query.Get("CallbackListId"), w.salesList) {
			polled++
		}
	}
	if polled != 0 || w.en.Requests("/callbacks") == before {
		t.Fatalf("sales polled %d times; /callbacks requests %d -> %d", polled, before, w.en.Requests("/callbacks"))
	}
	w.setProfile("sales", func(p *config.Profile) { p.Active = true; p.Subject = "Reactivated" })
	w.now = w.now.Add(time.Minute)
	w.run()
	a, ok := w.activities()[cb.ID]
	if !ok || a.Activity.Subject != "Reactivated" {
		t.Fatalf("reactivated profile not processed with its new subject: %+v", a.Activity)
	}
}

func TestSyncCallbacksOnce(t *testing.T) {
	w := newCBWorld(t)
	web := w.request(w.webList, numContact, 5)
	sales := w.request(w.salesList, numContact, 5)
	ctx := context.Background()
	if _, err := w.syncer.SyncCallbacksOnce(ctx, w.tenant, "nope", jobs.SyncOptions{}); err == nil {
		t.Error("unknown profile accepted")
	}
	sum, err := w.syncer.SyncCallbacksOnce(ctx, w.tenant, "web", jobs.SyncOptions{DryRun: true})
	if err != nil || sum.WouldWrite != 1 || len(w.activities()) != 0 {
		t.Fatalf("dry run: %+v %v, %d written", sum, err, len(w.activities()))
	}
	if _, err := w.syncer.SyncCallbacksOnce(ctx, w.tenant, "web", jobs.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	acts := w.activities()
	if _, ok := acts[web.ID]; !ok || len(acts) != 1 {
		t.Fatalf("manual pass of one profile: %d activities", len(acts))
	}
	if _, ok := acts[sales.ID]; ok {
		t.Error("another profile was processed")
	}
	w.setProfile("web", func(p *config.Profile) { p.Active = false })
	if _, err := w.syncer.SyncCallbacksOnce(ctx, w.tenant, "web", jobs.SyncOptions{}); err == nil {
		t.Error("inactive profile accepted")
	}
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
