package crmtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/callsync/callsync/crm"
)

// Method names a crm.Client method, for request counting and fault injection.
type Method string

const (
	MethodLookup          Method = "Lookup"
	MethodUsers           Method = "Users"
	MethodFindActivities  Method = "FindActivities"
	MethodWriteActivities Method = "WriteActivities"
	MethodCloseActivities Method = "CloseActivities"
)

// UserField is the CRM user column Memory holds the Enreach user id in; match
// users with crm.UserMatch{By: "field", Field: UserField}.
const UserField = "enreach_user_id"

// ErrInjected is the error injected failures return when none is given.
var ErrInjected = errors.New("crmtest: injected failure")

// Memory is an in-memory crm.Client that behaves like a real CRM behind a
// batch API: one call is one request; Lookup compares every query form
// exactly with the stored phone values (or, with a Suffix, the digits of the
// stored values), so recall is what an exact CRM search gives; writes are
// validated (subject, direction, start, existing regarding record and users)
// and idempotent on Activity.Key; failures can be injected per method and
// per key. Seed it with AddCustomer, AddRecord and AddUser; inspect it with
// Activities, Written, Requests and Calls. Safe for concurrent use.
type Memory struct {
	mu       sync.Mutex
	seq      int
	records  map[crm.Entity][]*crm.Record // in insertion order
	users    []*memUser
	acts     []*memActivity // in write order
	byKey    map[string]*memActivity
	byID     map[string]*memActivity
	calls    map[Method]int
	failNext map[Method]*failure
	failKeys map[string]*failure
	onWrite  func(crm.Activity)
}

type memUser struct {
	crm.User
	disabled bool
	fields   map[string]string
}

type memActivity struct {
	id     string
	act    crm.Activity
	closed bool
}

type failure struct {
	n   int // remaining; < 0 forever
	err error
}

// NewMemory returns an empty in-memory CRM.
func NewMemory() *Memory {
	return &Memory{
		records:  make(map[crm.Entity][]*crm.Record),
		byKey:    make(map[string]*memActivity),
		byID:     make(map[string]*memActivity),
		calls:    make(map[Method]int),
		failNext: make(map[Method]*failure),
		failKeys: make(map[string]*failure),
	}
}

var _ crm.Client = (*Memory)(nil)

func (m *Memory) newID(prefix string) string {
	m.seq++
	return fmt.Sprintf("%s-%04d", prefix, m.seq)
}

// AddCustomer seeds a customer record and returns its id. phones maps a phone
// field name to the stored value (kept raw); fields are extra fields.
func (m *Memory) AddCustomer(e crm.Entity, name string, phones map[string]string, ownerID string, fields map[string]string) string {
	return m.AddRecord(crm.Record{Ref: crm.Ref{Entity: e}, Name: name, OwnerID: ownerID, Phones: phones, Fields: fields})
}

// AddRecord seeds a customer record (r.ID is assigned when empty) and returns
// its id. It panics on an entity that is not in crm.Entities.
func (m *Memory) AddRecord(r crm.Record) string {
	if !slices.Contains(crm.Entities, r.Entity) {
		panic(fmt.Sprintf("crmtest: unknown entity %q", r.Entity))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.ID == "" {
		r.ID = m.newID(string(r.Entity))
	}
	r.Phones = maps.Clone(r.Phones)
	r.Fields = maps.Clone(r.Fields)
	m.records[r.Entity] = append(m.records[r.Entity], &r)
	return r.ID
}

// AddUser seeds a CRM user and returns its id. enreachID goes into UserField.
func (m *Memory) AddUser(email, name, enreachID string, disabled bool) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := &memUser{User: crm.User{ID: m.newID("user"), Email: email, Name: name}, disabled: disabled,
		fields: map[string]string{UserField: enreachID}}
	m.users = append(m.users, u)
	return u.ID
}

// FailNext makes the next n calls of method fail as a whole with err
// (ErrInjected when nil); n < 0 fails every call until FailNext(method, 0, nil).
// A failed call still counts as a request.
func (m *Memory) FailNext(method Method, n int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n == 0 {
		delete(m.failNext, method)
		return
	}
	m.failNext[method] = &failure{n: n, err: cmp(err)}
}

// FailKey makes the next n writes or closes of the activity with this key fail
// as an item (WriteResult Failed with err, ErrInjected when nil) while the rest
// of the batch goes through; n < 0 fails it until FailKey(key, 0, nil).
func (m *Memory) FailKey(key string, n int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n == 0 {
		delete(m.failKeys, key)
		return
	}
	m.failKeys[key] = &failure{n: n, err: cmp(err)}
}

func cmp(err error) error {
	if err == nil {
		return ErrInjected
	}
	return err
}

// OnWrite sets a function called after each activity WriteActivities creates,
// outside Memory's lock. A test can cancel the context there: WriteActivities
// checks the context after every item and, once it is done, returns the
// context's error for the whole batch although the items before stay written
// (a request whose response was lost).
func (m *Memory) OnWrite(f func(crm.Activity)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onWrite = f
}

// Requests returns how many calls (requests) the client served in total.
func (m *Memory) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.calls {
		n += c
	}
	return n
}

// Calls returns how many calls of one method the client served.
func (m *Memory) Calls(method Method) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[method]
}

// Written is an activity Memory holds, as written and changed since by
// UpdateActivities.
type Written struct {
	ID       string
	Activity crm.Activity
	// Open is the current state: written open and not closed since.
	Open bool
}

// Written returns every activity Memory holds, in write order.
func (m *Memory) Written() []Written {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Written, 0, len(m.acts))
	for _, a := range m.acts {
		out = append(out, Written{ID: a.id, Activity: cloneActivity(a.act), Open: a.act.Open && !a.closed})
	}
	return out
}

// Activities returns every activity in the suite's common shape.
func (m *Memory) Activities() []Stored {
	ws := m.Written()
	out := make([]Stored, 0, len(ws))
	for _, w := range ws {
		a := w.Activity
		out = append(out, Stored{
			ID: w.ID, Subject: a.Subject, Number: a.Number, Description: a.Description,
			Direction: a.Direction, Start: a.Start.UTC(), Duration: a.Duration,
			OwnerID: a.OwnerID, UserID: a.UserID, Regarding: a.Regarding,
			Open: w.Open, StatusReason: a.StatusReason, Kind: a.Kind,
		})
	}
	return out
}

func cloneActivity(a crm.Activity) crm.Activity {
	if a.Regarding != nil {
		r := *a.Regarding
		a.Regarding = &r
	}
	a.Related = slices.Clone(a.Related)
	if a.Due != nil {
		d := *a.Due
		a.Due = &d
	}
	return a
}

// begin counts one request of method and applies an injected batch failure.
func (m *Memory) begin(ctx context.Context, method Method) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("crmtest: %s: %w", method, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[method]++
	if f := m.failNext[method]; f != nil {
		if f.n > 0 {
			f.n--
			if f.n == 0 {
				delete(m.failNext, method)
			}
		}
		return fmt.Errorf("crmtest: %s: %w", method, f.err)
	}
	return nil
}

// keyFailure consumes an injected item failure for key; m.mu is held.
func (m *Memory) keyFailure(key string) error {
	f := m.failKeys[key]
	if f == nil {
		return nil
	}
	if f.n > 0 {
		f.n--
		if f.n == 0 {
			delete(m.failKeys, key)
		}
	}
	return f.err
}

// Lookup returns, for each number, the records holding one of its forms
// exactly in any phone field (or, with a Suffix, a value whose digits end with
// the suffix's digits), contacts first, then accounts and leads, each in
// insertion order. Records carry all their raw phone values and the requested
// extra fields that they have.
func (m *Memory) Lookup(ctx context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	res := crm.LookupResult{}
	if len(req.Numbers) == 0 {
		return res, nil
	}
	if err := m.begin(ctx, MethodLookup); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range req.Numbers {
		if q.Number == "" {
			return nil, fmt.Errorf("crmtest: lookup: query without a number: %w", crm.ErrPermanent)
		}
		forms := q.Forms
		if len(forms) == 0 {
			forms = []string{q.Number}
		}
		suffix := digitsOnly(q.Suffix)
		if q.Suffix != "" && suffix == "" {
			return nil, fmt.Errorf("crmtest: lookup %s: suffix %q has no digits: %w", q.Number, q.Suffix, crm.ErrPermanent)
		}
		for _, e := range crm.Entities {
			for _, r := range m.records[e] {
				if !holds(r, forms, suffix) || hasRef(res[q.Number], r.Ref) {
					continue
				}
				out := *r
				out.Phones = maps.Clone(r.Phones)
				out.Fields = nil
				for _, f := range req.Fields[e] {
					if v, ok := r.Fields[f]; ok {
						if out.Fields == nil {
							out.Fields = map[string]string{}
						}
						out.Fields[f] = v
					}
				}
				res[q.Number] = append(res[q.Number], out)
			}
		}
	}
	return res, nil
}

func holds(r *crm.Record, forms []string, suffix string) bool {
	for _, v := range r.Phones {
		if suffix != "" {
			if d := digitsOnly(v); d != "" && strings.HasSuffix(d, suffix) {
				return true
			}
			continue
		}
		if v != "" && slices.Contains(forms, v) {
			return true
		}
	}
	return false
}

func hasRef(recs []crm.Record, ref crm.Ref) bool {
	for _, r := range recs {
		if r.Ref == ref {
			return true
		}
	}
	return false
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Users resolves each query by e-mail (case-insensitive) or by the user
// field, keyed by EnreachUserID; disabled users are never returned. Matching
// by a field other than UserField fails like an unknown column would.
func (m *Memory) Users(ctx context.Context, match crm.UserMatch, qs []crm.UserQuery) (map[string]crm.User, error) {
	res := map[string]crm.User{}
	if len(qs) == 0 {
		return res, nil
	}
	switch {
	case match.By == "email":
	case match.By == "field" && match.Field == UserField:
	case match.By == "field":
		return nil, fmt.Errorf("crmtest: users: unknown user field %q: %w", match.Field, crm.ErrPermanent)
	default:
		return nil, fmt.Errorf("crmtest: users: unknown match %q: %w", match.By, crm.ErrPermanent)
	}
	if err := m.begin(ctx, MethodUsers); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range qs {
		if q.EnreachUserID == "" {
			continue
		}
		for _, u := range m.users {
			if u.disabled {
				continue
			}
			var ok bool
			if match.By == "email" {
				ok = q.Email != "" && strings.EqualFold(strings.TrimSpace(q.Email), u.Email)
			} else {
				ok = u.fields[match.Field] != "" && u.fields[match.Field] == q.EnreachUserID
			}
			if ok {
				res[q.EnreachUserID] = u.User
				break
			}
		}
	}
	return res, nil
}

// AddManualCall stores a phone-call activity as a person logs one (no
// callsync key) and returns its id.
func (m *Memory) AddManualCall(number string, start time.Time, d time.Duration) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := fmt.Sprintf("manual-%d", len(m.acts)+1)
	r := m.writeOne(crm.Activity{Key: key, Kind: crm.KindCall, Subject: "Logged by hand", Direction: crm.Inbound,
		Number: number, Start: start, End: start.Add(d), Duration: d, Answered: true})
	return r.ID
}

// FindActivities returns the activities whose number equals a query's number
// exactly and whose start lies in [From, To], each once, in write order.
func (m *Memory) FindActivities(ctx context.Context, qs []crm.ActivityQuery) ([]crm.ExistingActivity, error) {
	if len(qs) == 0 {
		return nil, nil
	}
	if err := m.begin(ctx, MethodFindActivities); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []crm.ExistingActivity
	for _, a := range m.acts {
		for _, q := range qs {
			if a.act.Number == q.Number && !a.act.Start.Before(q.From) && !a.act.Start.After(q.To) {
				e := crm.ExistingActivity{ID: a.id, Number: a.act.Number, Start: a.act.Start.UTC()}
				if _, _, _, ok := crm.ParseKey(a.act.Key); ok {
					e.Key = a.act.Key
				}
				out = append(out, e)
				break
			}
		}
	}
	return out, nil
}

// WriteActivities writes each activity once. A key already held (also earlier
// in the same batch) reports Existed with the held id; an invalid item (no key
// or subject, bad kind or direction, zero start, unknown or disabled owner,
// unknown user, regarding or related record) reports Failed with an
// ErrPermanent error; an injected key failure reports Failed with its error.
func (m *Memory) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	if len(acts) == 0 {
		return nil, nil
	}
	if err := m.begin(ctx, MethodWriteActivities); err != nil {
		return nil, err
	}
	out := make([]crm.WriteResult, 0, len(acts))
	for _, a := range acts {
		m.mu.Lock()
		r := m.writeOne(a)
		hook := m.onWrite
		m.mu.Unlock()
		out = append(out, r)
		if hook != nil && r.Status == crm.Created {
			hook(a)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("crmtest: WriteActivities: %w", err)
		}
	}
	return out, nil
}

// writeOne writes one activity; m.mu is held.
func (m *Memory) writeOne(a crm.Activity) crm.WriteResult {
	r := crm.WriteResult{Key: a.Key}
	if err := m.keyFailure(a.Key); err != nil {
		r.Status, r.Err = crm.Failed, fmt.Errorf("crmtest: write %s: %w", a.Key, err)
		return r
	}
	if err := m.validate(a); err != nil {
		r.Status, r.Err = crm.Failed, fmt.Errorf("crmtest: write %s: %w: %w", a.Key, err, crm.ErrPermanent)
		return r
	}
	if held := m.byKey[a.Key]; held != nil {
		r.ID, r.Status = held.id, crm.Existed
		return r
	}
	ma := &memActivity{id: m.newID("activity"), act: cloneActivity(a)}
	m.acts = append(m.acts, ma)
	m.byKey[a.Key] = ma
	m.byID[ma.id] = ma
	r.ID, r.Status = ma.id, crm.Created
	return r
}

// validate checks an activity the way a CRM's schema would; m.mu is held.
func (m *Memory) validate(a crm.Activity) error {
	switch {
	case a.Key == "":
		return errors.New("no idempotency key")
	case a.Kind != crm.KindCall && a.Kind != crm.KindCallback:
		return fmt.Errorf("unknown kind %q", a.Kind)
	case a.Direction != crm.Inbound && a.Direction != crm.Outbound:
		return fmt.Errorf("unknown direction %q", a.Direction)
	case strings.TrimSpace(a.Subject) == "":
		return errors.New("subject is required")
	case a.Start.IsZero():
		return errors.New("start is required")
	case a.Duration < 0:
		return fmt.Errorf("negative duration %s", a.Duration)
	}
	if a.OwnerID != "" {
		if u := m.user(a.OwnerID); u == nil || u.disabled {
			return fmt.Errorf("owner %s is not an active user", a.OwnerID)
		}
	}
	for _, id := range []string{a.UserID, a.RecipientID} {
		if id != "" && m.user(id) == nil && !(id == a.RecipientID && a.RecipientIsQueue) {
			return fmt.Errorf("user %s does not exist", id)
		}
	}
	refs := slices.Clone(a.Related)
	if a.Regarding != nil {
		refs = append(refs, *a.Regarding)
	}
	for _, ref := range refs {
		if !m.hasRecord(ref) {
			return fmt.Errorf("%s does not exist", ref)
		}
	}
	return nil
}

func (m *Memory) user(id string) *memUser {
	for _, u := range m.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func (m *Memory) hasRecord(ref crm.Ref) bool {
	for _, r := range m.records[ref.Entity] {
		if r.ID == ref.ID {
			return true
		}
	}
	return false
}

// CloseActivities completes activities found by ID (or by Key when ID is
// empty): Created when it was open and is now completed, Existed when it was
// already completed, Failed (ErrPermanent) when no such activity exists.
func (m *Memory) CloseActivities(ctx context.Context, reqs []crm.CloseRequest) ([]crm.WriteResult, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	if err := m.begin(ctx, MethodCloseActivities); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]crm.WriteResult, 0, len(reqs))
	for _, q := range reqs {
		r := crm.WriteResult{Key: q.Key, ID: q.ID}
		a := m.byID[q.ID]
		if q.ID == "" {
			a = m.byKey[q.Key]
		}
		switch err := m.keyFailure(q.Key); {
		case err != nil:
			r.Status, r.Err = crm.Failed, fmt.Errorf("crmtest: close %s: %w", q.Key, err)
		case a == nil:
			r.Status, r.Err = crm.Failed, fmt.Errorf("crmtest: close %s: activity %q not found: %w", q.Key, q.ID, crm.ErrPermanent)
		case !a.act.Open || a.closed:
			r.ID, r.Status = a.id, crm.Existed
		default:
			a.closed = true
			r.ID, r.Status = a.id, crm.Created
		}
		out = append(out, r)
	}
	return out, nil
}
