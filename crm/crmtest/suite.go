// Package crmtest owns the CRM conformance suite and an in-memory CRM.
//
// Run drives any crm.Client through a Backend (the client plus a way to seed
// and inspect the CRM behind it, usually an httptest double) and checks the
// contract in crm/crm.go: batched lookups that return raw phone values and
// nothing unrelated, user resolution, idempotent batched writes with per-item
// results, the existing-activity search, closing, and request counts. Memory
// is a faithful in-memory crm.Client for engine tests; the suite runs against
// it in memory_test.go.
package crmtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/phone"
)

// Backend is one CRM under test: a client and the CRM (double) behind it.
type Backend interface {
	Client() crm.Client
	// UserMatch says how this backend's users are matched (email or field).
	UserMatch() crm.UserMatch
	// AddCustomer seeds a customer record; phones maps the CRM's phone field
	// name to the stored value; fields are extra fields (optional). ownerID
	// may be "". Returns the new record id.
	AddCustomer(e crm.Entity, name string, phones map[string]string, ownerID string, fields map[string]string) string
	// PhoneFields returns valid phone field names for an entity in this CRM
	// (e.g. telephone1, mobilephone).
	PhoneFields(e crm.Entity) []string
	// AddUser seeds a CRM user; enreachID goes into the user match field
	// when UserMatch().By == "field".
	AddUser(email, name, enreachID string, disabled bool) string
	// Activities returns every phone-call activity the CRM holds, in a
	// common shape.
	Activities() []Stored
	// Requests returns how many HTTP requests (or calls, for Memory) the
	// client made so far.
	Requests() int
}

// ManualBackend is a Backend that can seed a phone-call activity the way a
// person or a softphone logs one: the number and start in the fields
// callsync searches, no callsync key anywhere. RunEngine needs it.
type ManualBackend interface {
	Backend
	AddManualCall(number string, start time.Time, d time.Duration) string
}

// FieldsBackend is implemented by backends that can name an extra field per
// entity (a valid column for AddCustomer's fields and LookupRequest.Fields);
// the suite then checks that Lookup returns requested fields.
type FieldsBackend interface {
	Backend
	ExtraField(e crm.Entity) string
}

// Stored is a phone-call activity as the CRM holds it, in a shape common to
// every CRM. The suite compares each field with what was written, except:
//   - Start to the second (|stored - written| < 1s) and it must be UTC;
//   - Duration to DurationUnit (zero means seconds): a CRM that stores whole
//     minutes sets DurationUnit = time.Minute and the suite accepts any
//     rounding (|stored - written| < DurationUnit);
//   - OwnerID only when the activity named an owner (empty means the
//     integration user, whose id the suite does not know);
//   - StatusReason only on open activities that set one;
//   - Description with "\r\n" read as "\n";
//   - the fields named in NotHeld, which the CRM cannot hold at all. Only
//     Description, Duration, OwnerID, UserID and StatusReason may be named.
type Stored struct {
	ID, Subject, Number, Description string
	Direction                        crm.Direction
	Start                            time.Time
	Duration                         time.Duration
	OwnerID, UserID                  string
	Regarding                        *crm.Ref
	Open                             bool
	StatusReason                     int
	Kind                             crm.Kind

	DurationUnit time.Duration
	NotHeld      []string
}

// Request budgets the suite enforces (the CRMs' batch APIs make them easy).
const (
	// LookupBudget bounds the requests of one Lookup of ~25 numbers.
	LookupBudget = 10
	// UsersBudget bounds the requests of one Users call of a few users.
	UsersBudget = 5
	// WriteBudget bounds the requests of one WriteActivities of 250 items.
	WriteBudget = 10
	// FindBudget bounds the requests of one FindActivities of a few queries.
	FindBudget = 5
)

// Region is the default region the suite's numbers are written for.
const Region = "FI"

// Run runs the conformance suite. newBackend is called once per subtest and
// must return a fresh, empty CRM (no customers, users or activities).
func Run(t *testing.T, newBackend func(t *testing.T) Backend) {
	t.Run("Lookup", func(t *testing.T) { testLookup(t, newBackend(t)) })
	t.Run("LookupSuffix", func(t *testing.T) { testLookupSuffix(t, newBackend(t)) })
	t.Run("LookupFields", func(t *testing.T) {
		fb, ok := newBackend(t).(FieldsBackend)
		if !ok {
			t.Skip("backend does not implement FieldsBackend")
		}
		testLookupFields(t, fb)
	})
	t.Run("Users", func(t *testing.T) { testUsers(t, newBackend(t)) })
	t.Run("WriteActivities", func(t *testing.T) { testWrite(t, newBackend(t)) })
	t.Run("WriteItemFailure", func(t *testing.T) { testWriteItemFailure(t, newBackend(t)) })
	t.Run("WriteCancelled", func(t *testing.T) { testWriteCancelled(t, newBackend(t)) })
	t.Run("FindActivities", func(t *testing.T) { testFind(t, newBackend(t)) })
	t.Run("CloseActivities", func(t *testing.T) { testClose(t, newBackend(t)) })
	t.Run("EmptyBatches", func(t *testing.T) { testEmpty(t, newBackend(t)) })
	t.Run("UpdateActivities", func(t *testing.T) { RunUpdate(t, newBackend(t)) })
}

// number returns the E.164 number and its forms for a test number.
func number(t *testing.T, e164 string) (phone.Number, []string) {
	t.Helper()
	n, ok := phone.Normalize(e164, Region)
	if !ok || n.E164() != e164 {
		t.Fatalf("suite bug: %s is not a valid %s number (%s)", e164, Region, n.Reason())
	}
	return n, phone.Forms(n)
}

func query(t *testing.T, e164 string) crm.NumberQuery {
	_, forms := number(t, e164)
	return crm.NumberQuery{Number: e164, Forms: forms}
}

func phoneFields(t *testing.T, b Backend, e crm.Entity) []string {
	t.Helper()
	fs := b.PhoneFields(e)
	if len(fs) == 0 {
		t.Fatalf("backend has no phone fields for %s", e)
	}
	return fs
}

type seeded struct {
	ref    crm.Ref
	name   string
	owner  string
	phones map[string]string
}

func testLookup(t *testing.T, b Backend) {
	ctx := context.Background()
	owner := b.AddUser("owner@contoso.example", "Owner One", "e-owner", false)
	want := map[string][]seeded{} // E.164 -> records holding it
	add := func(e crm.Entity, name string, phones map[string]string, numbers ...string) {
		id := b.AddCustomer(e, name, phones, owner, nil)
		if id == "" {
			t.Fatalf("AddCustomer(%s, %s) returned no id", e, name)
		}
		s := seeded{ref: crm.Ref{Entity: e, ID: id}, name: name, owner: owner, phones: phones}
		for _, n := range numbers {
			want[n] = append(want[n], s)
		}
	}
	// Twelve records, four per entity, each holding its number in another
	// common form (E.164, international, national, digits) and field.
	var queried []string
	for j := range 12 {
		e := crm.Entities[j%3]
		fs := phoneFields(t, b, e)
		e164 := fmt.Sprintf("+3584010%05d", j+1)
		_, forms := number(t, e164)
		stored := forms[j%min(4, len(forms))]
		add(e, fmt.Sprintf("%s %d Äijälä & Co", e, j), map[string]string{fs[(j/3)%len(fs)]: stored}, e164)
		queried = append(queried, e164)
	}
	// One number held by two records in different fields (OCA/connector-
	// telephony#235), one of which holds a second number too.
	shared := "+358501234500"
	other := "+358501234501"
	_, sf := number(t, shared)
	_, of := number(t, other)
	cf := phoneFields(t, b, crm.Contact)
	if len(cf) >= 2 {
		add(crm.Contact, "Shared One", map[string]string{cf[0]: sf[0], cf[1]: of[2]}, shared, other)
		add(crm.Contact, "Shared Two", map[string]string{cf[1]: sf[3]}, shared)
	} else {
		add(crm.Contact, "Shared One", map[string]string{cf[0]: sf[0]}, shared)
		add(crm.Lead, "Shared Two", map[string]string{phoneFields(t, b, crm.Lead)[0]: sf[3]}, shared)
		add(crm.Account, "Other", map[string]string{phoneFields(t, b, crm.Account)[0]: of[2]}, other)
	}
	queried = append(queried, shared, other)
	// Unrelated records: numbers never queried, the same national digits in
	// another country, a near miss.
	unrelated := map[string]string{
		"Never Queried": "+358401099999",
		"Other Country": "+46401000001",
		"Near Miss":     "040 1000 014",
	}
	for name, v := range unrelated {
		b.AddCustomer(crm.Account, name, map[string]string{phoneFields(t, b, crm.Account)[0]: v}, owner, nil)
	}
	// Numbers nobody holds.
	var absent []string
	for j := range 10 {
		absent = append(absent, fmt.Sprintf("+3585020%05d", j))
	}

	req := crm.LookupRequest{}
	for _, n := range append(slices.Clone(queried), absent...) {
		req.Numbers = append(req.Numbers, query(t, n))
	}
	before := b.Requests()
	res, err := b.Client().Lookup(ctx, req)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if n := b.Requests() - before; n > LookupBudget || n < 1 {
		t.Errorf("Lookup of %d numbers made %d requests, want 1..%d", len(req.Numbers), n, LookupBudget)
	}
	for _, n := range queried {
		got := res[n]
		for _, w := range want[n] {
			r, ok := findRecord(got, w.ref)
			if !ok {
				t.Errorf("Lookup %s: %s (%s) missing; got %v", n, w.ref, w.name, refs(got))
				continue
			}
			if r.Name != w.name {
				t.Errorf("Lookup %s: %s name %q, want %q", n, w.ref, r.Name, w.name)
			}
			if r.OwnerID != w.owner {
				t.Errorf("Lookup %s: %s owner %q, want %q", n, w.ref, r.OwnerID, w.owner)
			}
			for f, v := range w.phones {
				if r.Phones[f] != v {
					t.Errorf("Lookup %s: %s phone %s = %q, want the raw stored %q", n, w.ref, f, r.Phones[f], v)
				}
			}
			for f, v := range r.Phones {
				if _, ok := w.phones[f]; !ok && v != "" {
					t.Errorf("Lookup %s: %s phone %s = %q, but nothing was stored there", n, w.ref, f, v)
				}
			}
		}
		for _, r := range got {
			if !slices.ContainsFunc(want[n], func(s seeded) bool { return s.ref == r.Ref }) {
				t.Errorf("Lookup %s: unrelated record %s (%s, phones %v)", n, r.Ref, r.Name, r.Phones)
			}
		}
	}
	for _, n := range absent {
		if len(res[n]) != 0 {
			t.Errorf("Lookup %s (no record holds it): got %v", n, refs(res[n]))
		}
	}
	for n := range res {
		if !slices.Contains(queried, n) && !slices.Contains(absent, n) {
			t.Errorf("Lookup result keyed by %q, which was not queried (keys must be the queried E.164)", n)
		}
	}
}

func findRecord(recs []crm.Record, ref crm.Ref) (crm.Record, bool) {
	for _, r := range recs {
		if r.Ref == ref {
			return r, true
		}
	}
	return crm.Record{}, false
}

func refs(recs []crm.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Ref.String())
	}
	return out
}

// testLookupSuffix checks NumbersToCut: a query with only a Suffix finds a
// record holding the number in a local format.
func testLookupSuffix(t *testing.T, b Backend) {
	ctx := context.Background()
	cf := phoneFields(t, b, crm.Contact)
	target := b.AddCustomer(crm.Contact, "Local Format", map[string]string{cf[0]: "0401000077"}, "", nil)
	other := b.AddCustomer(crm.Contact, "Other Local", map[string]string{cf[0]: "0501000077"}, "", nil)
	const e164 = "+358401000077"
	suffix := phone.Cut(e164, 4)
	res, err := b.Client().Lookup(ctx, crm.LookupRequest{Numbers: []crm.NumberQuery{{Number: e164, Suffix: suffix}}})
	if err != nil {
		t.Fatalf("Lookup suffix %q: %v", suffix, err)
	}
	r, ok := findRecord(res[e164], crm.Ref{Entity: crm.Contact, ID: target})
	if !ok {
		t.Fatalf("Lookup suffix %q: record holding 0401000077 missing; got %v", suffix, refs(res[e164]))
	}
	if r.Phones[cf[0]] != "0401000077" {
		t.Errorf("Lookup suffix: phone %s = %q, want the raw stored 0401000077", cf[0], r.Phones[cf[0]])
	}
	if _, ok := findRecord(res[e164], crm.Ref{Entity: crm.Contact, ID: other}); ok {
		t.Errorf("Lookup suffix %q returned 0501000077", suffix)
	}
}

func testLookupFields(t *testing.T, b FieldsBackend) {
	ctx := context.Background()
	req := crm.LookupRequest{Fields: map[crm.Entity][]string{}}
	ids := map[crm.Entity]string{}
	for j, e := range crm.Entities {
		f := b.ExtraField(e)
		e164 := fmt.Sprintf("+3584010%05d", 500+j)
		id := b.AddCustomer(e, "Fields "+string(e), map[string]string{phoneFields(t, b, e)[0]: e164}, "", map[string]string{f: "VIP " + string(e)})
		ids[e] = id
		req.Fields[e] = []string{f}
		req.Numbers = append(req.Numbers, query(t, e164))
	}
	res, err := b.Client().Lookup(ctx, req)
	if err != nil {
		t.Fatalf("Lookup with fields: %v", err)
	}
	for j, e := range crm.Entities {
		e164 := fmt.Sprintf("+3584010%05d", 500+j)
		r, ok := findRecord(res[e164], crm.Ref{Entity: e, ID: ids[e]})
		if !ok {
			t.Errorf("Lookup %s: %s missing", e164, e)
			continue
		}
		if f := b.ExtraField(e); r.Fields[f] != "VIP "+string(e) {
			t.Errorf("Lookup %s: field %s = %q, want %q", e, f, r.Fields[f], "VIP "+string(e))
		}
	}
}

func testUsers(t *testing.T, b Backend) {
	ctx := context.Background()
	match := b.UserMatch()
	alice := b.AddUser("alice@contoso.example", "Alice Ahonen", "e-alice", false)
	b.AddUser("bob@contoso.example", "Bob Berg", "e-bob", true)
	carol := b.AddUser("carol@contoso.example", "Carol Cruz", "e-carol", false)
	qs := []crm.UserQuery{
		{EnreachUserID: "e-alice", Email: "Alice@Contoso.example"}, // e-mail case differs
		{EnreachUserID: "e-bob", Email: "bob@contoso.example"},     // disabled
		{EnreachUserID: "e-nobody", Email: "nobody@contoso.example"},
	}
	want := map[string]crm.User{"e-alice": {ID: alice, Email: "alice@contoso.example", Name: "Alice Ahonen"}}
	switch match.By {
	case "field":
		// The field decides; the e-mail does not.
		qs = append(qs,
			crm.UserQuery{EnreachUserID: "e-carol", Email: "carol.other@contoso.example"},
			crm.UserQuery{EnreachUserID: "e-dave", Email: "alice@contoso.example"})
		want["e-carol"] = crm.User{ID: carol, Email: "carol@contoso.example", Name: "Carol Cruz"}
	case "email":
		// The e-mail decides; the Enreach id is only the result key.
		qs = append(qs, crm.UserQuery{EnreachUserID: "e-carol-2", Email: "carol@contoso.example"})
		want["e-carol-2"] = crm.User{ID: carol, Email: "carol@contoso.example", Name: "Carol Cruz"}
	default:
		t.Fatalf("backend UserMatch().By = %q, want email or field", match.By)
	}
	before := b.Requests()
	got, err := b.Client().Users(ctx, match, qs)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if n := b.Requests() - before; n > UsersBudget {
		t.Errorf("Users of %d queries made %d requests, want <= %d", len(qs), n, UsersBudget)
	}
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("Users: %s missing", k)
		case g.ID != w.ID || !strings.EqualFold(g.Email, w.Email) || g.Name != w.Name:
			t.Errorf("Users: %s = %+v, want %+v", k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("Users: unexpected %s = %+v (disabled, unknown or matched the wrong way)", k, g)
		}
	}
}

// world is the CRM state the activity tests write against.
type world struct {
	owner, agent string
	refs         []*crm.Ref // contact, account, lead, nil
}

func newWorld(t *testing.T, b Backend) world {
	w := world{
		owner: b.AddUser("owner@contoso.example", "Owner One", "e-owner", false),
		agent: b.AddUser("agent@contoso.example", "Agent Two", "e-agent", false),
	}
	for j, e := range crm.Entities {
		id := b.AddCustomer(e, "Customer "+string(e), map[string]string{phoneFields(t, b, e)[0]: fmt.Sprintf("+3584020%05d", j)}, w.owner, nil)
		w.refs = append(w.refs, &crm.Ref{Entity: e, ID: id})
	}
	w.refs = append(w.refs, nil)
	return w
}

// activity builds the i-th test activity: inbound and outbound, calls and
// open callbacks, linked to each entity or unlinked, some open with a status
// reason, starts in a non-UTC zone with sub-second parts.
func (w world) activity(i int) crm.Activity {
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	kind := crm.KindCall
	if i%10 == 9 {
		kind = crm.KindCallback
	}
	dir := crm.Inbound
	subject := "Incoming direct call"
	if i%2 == 1 {
		dir, subject = crm.Outbound, "Outgoing direct call"
	}
	if kind == crm.KindCallback {
		subject = "Takaisinsoittopyyntö: Äänestys & <tuki>"
	}
	eet := time.FixedZone("EET", 2*60*60)
	start := time.Date(2025, 3, 30, 0, 0, 0, 0, time.UTC).
		Add(time.Duration(i)*7*time.Minute + time.Duration(i%4)*250*time.Millisecond).In(eet)
	dur := time.Duration(i*37%1800) * time.Second
	a := crm.Activity{
		Key:           crm.Key("suite", kind, id),
		Kind:          kind,
		EnreachID:     id,
		Subject:       subject,
		Description:   fmt.Sprintf("CallId is %s\nQueue: \"Myynti\" & <Tuki>\n", id),
		Direction:     dir,
		Number:        fmt.Sprintf("+3585010%05d", i),
		DialledNumber: "+358942424242",
		Start:         start,
		End:           start.Add(dur),
		Duration:      dur,
		Answered:      i%6 != 5,
		OwnerID:       w.owner,
		Regarding:     w.refs[i%len(w.refs)],
	}
	if i%3 != 0 {
		a.UserID = w.agent
	}
	if i%7 == 0 {
		a.OwnerID = w.agent
	}
	if a.Regarding != nil {
		a.Related = []crm.Ref{*a.Regarding}
	}
	switch {
	case kind == crm.KindCallback:
		a.Open = true
		due := start.Add(24 * time.Hour)
		a.Due = &due
	case i%25 == 0:
		a.Open, a.StatusReason, a.Regarding, a.Related = true, 1, nil, nil // multiple match
	}
	return a
}

func testWrite(t *testing.T, b Backend) {
	ctx := context.Background()
	w := newWorld(t, b)
	acts := make([]crm.Activity, 250)
	for i := range acts {
		acts[i] = w.activity(i)
	}
	c := b.Client()

	before := b.Requests()
	res, err := c.WriteActivities(ctx, acts)
	if err != nil {
		t.Fatalf("WriteActivities: %v", err)
	}
	if n := b.Requests() - before; n > WriteBudget {
		t.Errorf("WriteActivities of %d made %d requests, want <= %d (use the batch API)", len(acts), n, WriteBudget)
	}
	ids := checkResults(t, "first write", acts, res, crm.Created)
	stored := b.Activities()
	if len(stored) != len(acts) {
		t.Fatalf("CRM holds %d activities, want %d", len(stored), len(acts))
	}
	byID := map[string]Stored{}
	for _, s := range stored {
		byID[s.ID] = s
	}
	for i, a := range acts {
		s, ok := byID[ids[i]]
		if !ok {
			t.Errorf("item %d: id %s not in the CRM", i, ids[i])
			continue
		}
		compare(t, i, a, s)
	}

	// Replay: every item Existed with the same id, nothing new.
	before = b.Requests()
	res, err = c.WriteActivities(ctx, acts)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if n := b.Requests() - before; n > WriteBudget {
		t.Errorf("replay of %d made %d requests, want <= %d", len(acts), n, WriteBudget)
	}
	again := checkResults(t, "replay", acts, res, crm.Existed)
	if !slices.Equal(again, ids) {
		t.Errorf("replay ids differ from the first write's")
	}
	if n := len(b.Activities()); n != len(acts) {
		t.Fatalf("after replay the CRM holds %d activities, want %d (duplicates)", n, len(acts))
	}

	// A batch mixing written and new keys.
	var mixed []crm.Activity
	var want []crm.WriteStatus
	for i := range 40 {
		if i%2 == 0 {
			mixed, want = append(mixed, acts[i*5]), append(want, crm.Existed)
		} else {
			mixed, want = append(mixed, w.activity(300+i)), append(want, crm.Created)
		}
	}
	res, err = c.WriteActivities(ctx, mixed)
	if err != nil {
		t.Fatalf("mixed batch: %v", err)
	}
	if len(res) != len(mixed) {
		t.Fatalf("mixed batch: %d results for %d items", len(res), len(mixed))
	}
	stored = b.Activities()
	byID = map[string]Stored{}
	for _, s := range stored {
		byID[s.ID] = s
	}
	for i, r := range res {
		if r.Key != mixed[i].Key || r.Status != want[i] || r.ID == "" || r.Err != nil {
			t.Errorf("mixed item %d: %+v, want key %s status %s", i, r, mixed[i].Key, want[i])
			continue
		}
		if want[i] == crm.Existed && r.ID != ids[i*5] {
			t.Errorf("mixed item %d: id %s, want the first write's %s", i, r.ID, ids[i*5])
		}
		if s, ok := byID[r.ID]; !ok {
			t.Errorf("mixed item %d: id %s not in the CRM", i, r.ID)
		} else {
			compare(t, 300+i, mixed[i], s)
		}
	}
	if n := len(stored); n != len(acts)+20 {
		t.Errorf("after the mixed batch the CRM holds %d activities, want %d", n, len(acts)+20)
	}
}

// checkResults checks per-item results in input order and returns the ids.
func checkResults(t *testing.T, what string, acts []crm.Activity, res []crm.WriteResult, want crm.WriteStatus) []string {
	t.Helper()
	if len(res) != len(acts) {
		t.Fatalf("%s: %d results for %d items", what, len(res), len(acts))
	}
	ids := make([]string, len(res))
	seen := map[string]int{}
	for i, r := range res {
		if r.Key != acts[i].Key {
			t.Fatalf("%s: result %d has key %s, want %s (results must be in input order)", what, i, r.Key, acts[i].Key)
		}
		if r.Status != want || r.Err != nil || r.ID == "" {
			t.Errorf("%s: item %d = {%s %s %v}, want %s with an id", what, i, r.ID, r.Status, r.Err, want)
		}
		if j, dup := seen[r.ID]; dup && r.ID != "" {
			t.Errorf("%s: items %d and %d share id %s", what, j, i, r.ID)
		}
		seen[r.ID] = i
		ids[i] = r.ID
	}
	return ids
}

// compare checks one stored activity against what was written; see Stored.
func compare(t *testing.T, i int, a crm.Activity, s Stored) {
	t.Helper()
	notHeld := map[string]bool{}
	for _, f := range s.NotHeld {
		switch f {
		case "Description", "Duration", "OwnerID", "UserID", "StatusReason":
			notHeld[f] = true
		default:
			t.Fatalf("Stored.NotHeld names %q, which every CRM must hold", f)
		}
	}
	errf := func(field string, got, want any) {
		t.Errorf("item %d (%s): %s = %v, want %v", i, a.Key, field, got, want)
	}
	if s.Subject != a.Subject {
		errf("subject", s.Subject, a.Subject)
	}
	if s.Number != a.Number {
		errf("number", s.Number, a.Number)
	}
	if s.Direction != a.Direction {
		errf("direction", s.Direction, a.Direction)
	}
	if s.Kind != a.Kind {
		errf("kind", s.Kind, a.Kind)
	}
	if d := s.Start.Sub(a.Start.Truncate(time.Second)); d < 0 || d >= time.Second {
		if d := s.Start.Sub(a.Start); d <= -time.Second || d >= time.Second {
			errf("start", s.Start, a.Start.UTC())
		}
	}
	if s.Start.Location() != time.UTC {
		errf("start location", s.Start.Location(), time.UTC)
	}
	if !notHeld["Duration"] {
		unit := s.DurationUnit
		if unit <= 0 {
			unit = time.Second
		}
		if d := s.Duration - a.Duration; d <= -unit || d >= unit {
			errf("duration", s.Duration, a.Duration)
		}
	}
	if !notHeld["Description"] && strings.ReplaceAll(s.Description, "\r\n", "\n") != a.Description {
		errf("description", fmt.Sprintf("%q", s.Description), fmt.Sprintf("%q", a.Description))
	}
	if !notHeld["OwnerID"] && a.OwnerID != "" && s.OwnerID != a.OwnerID {
		errf("owner", s.OwnerID, a.OwnerID)
	}
	if !notHeld["UserID"] && s.UserID != a.UserID {
		errf("user party", s.UserID, a.UserID)
	}
	switch {
	case (s.Regarding == nil) != (a.Regarding == nil):
		errf("regarding", s.Regarding, a.Regarding)
	case s.Regarding != nil && *s.Regarding != *a.Regarding:
		errf("regarding", *s.Regarding, *a.Regarding)
	}
	if s.Open != a.Open {
		errf("open", s.Open, a.Open)
	}
	if !notHeld["StatusReason"] && a.Open && a.StatusReason != 0 && s.StatusReason != a.StatusReason {
		errf("status reason", s.StatusReason, a.StatusReason)
	}
}

func testWriteItemFailure(t *testing.T, b Backend) {
	ctx := context.Background()
	w := newWorld(t, b)
	acts := []crm.Activity{w.activity(1), w.activity(2), w.activity(3)}
	// Regarding a contact with an account's id: the CRM rejects this item only.
	acts[1].Regarding = &crm.Ref{Entity: crm.Contact, ID: w.refs[1].ID}
	acts[1].Related = []crm.Ref{*acts[1].Regarding}
	res, err := b.Client().WriteActivities(ctx, acts)
	if err != nil {
		t.Fatalf("WriteActivities with one bad item failed as a whole: %v", err)
	}
	if len(res) != 3 {
		t.Fatalf("%d results for 3 items", len(res))
	}
	for _, i := range []int{0, 2} {
		if res[i].Status != crm.Created || res[i].Key != acts[i].Key || res[i].ID == "" {
			t.Errorf("item %d = %+v, want Created", i, res[i])
		}
	}
	if r := res[1]; r.Status != crm.Failed || r.Err == nil || r.Key != acts[1].Key {
		t.Errorf("bad item = %+v, want Failed with an error", r)
	} else if !errors.Is(r.Err, crm.ErrPermanent) {
		t.Errorf("bad item error %v does not wrap crm.ErrPermanent", r.Err)
	}
	if n := len(b.Activities()); n != 2 {
		t.Errorf("CRM holds %d activities, want 2", n)
	}
	// The fixed item goes through on the next run; the others are replays.
	acts[1] = w.activity(2)
	res, err = b.Client().WriteActivities(ctx, acts)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	for i, want := range []crm.WriteStatus{crm.Existed, crm.Created, crm.Existed} {
		if len(res) != 3 || res[i].Status != want {
			t.Fatalf("retry results %+v, want Existed, Created, Existed", res)
		}
	}
	if n := len(b.Activities()); n != 3 {
		t.Errorf("CRM holds %d activities, want 3", n)
	}
}

func testWriteCancelled(t *testing.T, b Backend) {
	w := newWorld(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := b.Client().WriteActivities(ctx, []crm.Activity{w.activity(1), w.activity(2)})
	if err == nil {
		for i, r := range res {
			if r.Status != crm.Failed {
				t.Errorf("cancelled context: item %d = %+v, want an error or Failed", i, r)
			}
		}
	}
	if n := len(b.Activities()); n != 0 {
		t.Errorf("cancelled context wrote %d activities", n)
	}
}

func testFind(t *testing.T, b Backend) {
	ctx := context.Background()
	w := newWorld(t, b)
	a, x, y := w.activity(10), w.activity(11), w.activity(12)
	t0 := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	a.Start, a.End = t0, t0.Add(a.Duration)
	x.Number, x.Start, x.End = a.Number, t0.Add(time.Hour), t0.Add(time.Hour+x.Duration) // same number, an hour later
	y.Start, y.End = t0, t0.Add(y.Duration)                                              // other number, same time
	res, err := b.Client().WriteActivities(ctx, []crm.Activity{a, x, y})
	if err != nil {
		t.Fatal(err)
	}
	ids := checkResults(t, "write", []crm.Activity{a, x, y}, res, crm.Created)
	tests := []struct {
		name string
		qs   []crm.ActivityQuery
		want []string
	}{
		{"inside", []crm.ActivityQuery{{Number: a.Number, From: t0.Add(-time.Minute), To: t0.Add(time.Minute)}}, []string{ids[0]}},
		{"bounds inclusive", []crm.ActivityQuery{{Number: a.Number, From: t0, To: t0}}, []string{ids[0]}},
		{"outside", []crm.ActivityQuery{{Number: a.Number, From: t0.Add(2 * time.Minute), To: t0.Add(50 * time.Minute)}}, nil},
		{"before", []crm.ActivityQuery{{Number: a.Number, From: t0.Add(-time.Hour), To: t0.Add(-time.Second)}}, nil},
		{"other number", []crm.ActivityQuery{{Number: "+358401999999", From: t0.Add(-time.Hour), To: t0.Add(2 * time.Hour)}}, nil},
		{"non-UTC range", []crm.ActivityQuery{{Number: a.Number, From: t0.Add(59 * time.Minute).In(time.FixedZone("X", -5*3600)), To: t0.Add(61 * time.Minute).In(time.FixedZone("Y", 3*3600))}}, []string{ids[1]}},
		{"own key", []crm.ActivityQuery{{Number: a.Number, From: t0.Add(-time.Minute), To: t0.Add(time.Minute), Key: a.Key}}, []string{ids[0]}},
		{"batch", []crm.ActivityQuery{
			{Number: a.Number, From: t0.Add(-time.Minute), To: t0.Add(time.Minute)},
			{Number: y.Number, From: t0.Add(-time.Minute), To: t0.Add(time.Minute)},
		}, []string{ids[0], ids[2]}},
	}
	for _, tt := range tests {
		before := b.Requests()
		got, err := b.Client().FindActivities(ctx, tt.qs)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if n := b.Requests() - before; n > FindBudget {
			t.Errorf("%s: %d requests, want <= %d", tt.name, n, FindBudget)
		}
		var gotIDs []string
		for _, g := range got {
			gotIDs = append(gotIDs, g.ID)
			i := slices.Index(ids, g.ID)
			if i < 0 {
				continue
			}
			want := []crm.Activity{a, x, y}[i]
			if g.Number != want.Number || !g.Start.Equal(want.Start) {
				t.Errorf("%s: %+v, want number %s start %s", tt.name, g, want.Number, want.Start)
			}
			// The activity written for a query's key reports that key.
			for _, q := range tt.qs {
				if q.Key != "" && q.Key == want.Key && g.Key != want.Key {
					t.Errorf("%s: %s carries key %q, want %q", tt.name, g.ID, g.Key, want.Key)
				}
			}
		}
		slices.Sort(gotIDs)
		wantIDs := slices.Clone(tt.want)
		slices.Sort(wantIDs)
		if !slices.Equal(gotIDs, wantIDs) {
			t.Errorf("%s: found %v, want %v", tt.name, gotIDs, wantIDs)
		}
	}
}

func testClose(t *testing.T, b Backend) {
	ctx := context.Background()
	w := newWorld(t, b)
	open, done := w.activity(9), w.activity(2) // an open callback, a completed call
	if !open.Open || done.Open {
		t.Fatal("suite bug: activity 9 must be open and 2 completed")
	}
	res, err := b.Client().WriteActivities(ctx, []crm.Activity{open, done})
	if err != nil {
		t.Fatal(err)
	}
	ids := checkResults(t, "write", []crm.Activity{open, done}, res, crm.Created)
	isOpen := func(id string) bool {
		for _, s := range b.Activities() {
			if s.ID == id {
				return s.Open
			}
		}
		t.Fatalf("activity %s not in the CRM", id)
		return false
	}
	if !isOpen(ids[0]) {
		t.Fatal("open callback stored completed")
	}
	closeReqs := func(reqs ...crm.CloseRequest) []crm.WriteResult {
		t.Helper()
		res, err := b.Client().CloseActivities(ctx, reqs)
		if err != nil {
			t.Fatalf("CloseActivities: %v", err)
		}
		if len(res) != len(reqs) {
			t.Fatalf("CloseActivities: %d results for %d requests", len(res), len(reqs))
		}
		for i, r := range res {
			if r.Key != reqs[i].Key {
				t.Errorf("close result %d has key %s, want %s", i, r.Key, reqs[i].Key)
			}
		}
		return res
	}
	res = closeReqs(crm.CloseRequest{Key: open.Key, ID: ids[0]},
		crm.CloseRequest{Key: done.Key, ID: ids[1]},
		crm.CloseRequest{Key: crm.Key("suite", crm.KindCallback, "never-written"), ID: w.refs[0].ID})
	if res[0].Status == crm.Failed || res[0].Err != nil {
		t.Errorf("closing the open callback: %+v", res[0])
	}
	if res[1].Status == crm.Failed || res[1].Err != nil {
		t.Errorf("closing a completed call must not fail: %+v", res[1])
	}
	if res[2].Status != crm.Failed || res[2].Err == nil {
		t.Errorf("closing an activity that does not exist (a contact's id): %+v, want Failed", res[2])
	}
	if isOpen(ids[0]) {
		t.Error("callback still open after CloseActivities")
	}
	if isOpen(ids[1]) {
		t.Error("completed call reopened")
	}
	// Closing again is a replay, not a failure.
	res = closeReqs(crm.CloseRequest{Key: open.Key, ID: ids[0]})
	if res[0].Status == crm.Failed {
		t.Errorf("closing twice: %+v", res[0])
	}
	if n := len(b.Activities()); n != 2 {
		t.Errorf("CRM holds %d activities after closing, want 2", n)
	}
}

func testEmpty(t *testing.T, b Backend) {
	ctx := context.Background()
	c := b.Client()
	before := b.Requests()
	if res, err := c.Lookup(ctx, crm.LookupRequest{}); err != nil || len(res) != 0 {
		t.Errorf("Lookup(empty) = %v, %v", res, err)
	}
	if res, err := c.Users(ctx, b.UserMatch(), nil); err != nil || len(res) != 0 {
		t.Errorf("Users(empty) = %v, %v", res, err)
	}
	if res, err := c.FindActivities(ctx, nil); err != nil || len(res) != 0 {
		t.Errorf("FindActivities(empty) = %v, %v", res, err)
	}
	if res, err := c.WriteActivities(ctx, nil); err != nil || len(res) != 0 {
		t.Errorf("WriteActivities(empty) = %v, %v", res, err)
	}
	if res, err := c.CloseActivities(ctx, nil); err != nil || len(res) != 0 {
		t.Errorf("CloseActivities(empty) = %v, %v", res, err)
	}
	if n := b.Requests() - before; n != 0 {
		t.Errorf("empty batches made %d requests, want 0", n)
	}
}
