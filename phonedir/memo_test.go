package phonedir_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/phonedir"
	"github.com/callsync/callsync/store"
)

// lookups counts the numbers the directory reads from the store.
type lookups struct {
	phonedir.Store
	numbers int
}

func (s *lookups) DirectoryLookup(ctx context.Context, tenant string, numbers []string) (map[string][]store.DirectoryNumber, error) {
	s.numbers += len(numbers)
	return s.Store.DirectoryLookup(ctx, tenant, numbers)
}

// memoWorld is a CRM of 70 contacts (a backfill window's worth of callers,
// enough for the directory to memoize its answers), Anna and Lena, and a
// directory loaded from it.
type memoWorld struct {
	clk        *clock
	mem        *crmtest.Memory
	lister     *crmtest.Lister
	st         *store.Store
	counted    *lookups
	dir        *phonedir.Directory
	anna, lena string
	numbers    []string // the 70 contacts', Anna's and Lena's
}

const (
	annaOld = "+358401111111"
	annaNew = "+358504444444"
	lenaNum = "+358403333333"
)

func newMemoWorld(t *testing.T) *memoWorld {
	t.Helper()
	w := &memoWorld{clk: &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}, mem: crmtest.NewMemory()}
	w.lister = crmtest.NewLister(w.mem, 50, w.clk.Now)
	w.st = openStore(t)
	for i := range 70 {
		n := fmt.Sprintf("+3584020000%02d", i)
		w.mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"mobilephone": n}})
		w.numbers = append(w.numbers, n)
	}
	w.anna = w.mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"mobilephone": "040 111 1111"}})
	w.lena = w.mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Lead}, Phones: map[string]string{"telephone1": "040-333 3333"}})
	w.numbers = append(w.numbers, annaOld, lenaNum)
	w.counted = &lookups{Store: w.st}
	w.dir = phonedir.New(w.counted, w.lister, phonedir.Options{Tenant: "t1", Region: "FI", Now: w.clk.Now})
	if _, err := w.dir.Sync(context.Background(), false, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

// lookup looks up the world's numbers and extra ones with d.
func (w *memoWorld) lookup(t *testing.T, d *phonedir.Directory, extra ...string) map[string][]crm.Record {
	t.Helper()
	res, err := d.Lookup(context.Background(), append(append([]string(nil), w.numbers...), extra...))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func ids(recs []crm.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

// A backfill's windows look up the same callers between two syncs: the
// second lookup reads none of the numbers the directory holds from the
// store again, and answers as the first.
func TestLookupMemoizesHeldNumbers(t *testing.T) {
	w := newMemoWorld(t)
	first := w.lookup(t, w.dir, "+358409999999")
	if len(first) != 72 || ids(first[annaOld])[0] != w.anna || ids(first[lenaNum])[0] != w.lena {
		t.Fatalf("first lookup: %d numbers held, anna %v, lena %v", len(first), ids(first[annaOld]), ids(first[lenaNum]))
	}
	read := w.counted.numbers
	second := w.lookup(t, w.dir, "+358409999999")
	if got := w.counted.numbers - read; got != 1 {
		t.Fatalf("second lookup read %d numbers from the store, want 1 (the miss)", got)
	}
	if len(second) != len(first) {
		t.Fatalf("second lookup: %d numbers held, first %d", len(second), len(first))
	}
	for n, recs := range first {
		if fmt.Sprint(second[n]) != fmt.Sprint(recs) {
			t.Fatalf("%s: %v from the memo, %v from the store", n, second[n], recs)
		}
	}
}

// A sync that changed a number, deleted a record or added one: the next
// lookup answers as the store does after it, never from the answers read
// before it (the old number does not find Anna, deleted Lena is not found,
// the new contact is).
func TestLookupMemoAfterSync(t *testing.T) {
	w := newMemoWorld(t)
	w.lookup(t, w.dir)
	w.lookup(t, w.dir) // from the memo
	nils := w.changeCRM()
	if _, err := w.dir.Sync(context.Background(), false, nil); err != nil {
		t.Fatal(err)
	}
	w.checkChanged(t, w.dir, nils)
}

// Another process (a replica, `callsync directory sync`) syncs the same
// tenant's directory: its completed sync is seen by this directory's next
// lookup.
func TestLookupMemoAfterAnotherProcessSynced(t *testing.T) {
	w := newMemoWorld(t)
	w.lookup(t, w.dir)
	w.lookup(t, w.dir)
	nils := w.changeCRM()
	other := phonedir.New(w.st, w.lister, phonedir.Options{Tenant: "t1", Region: "FI", Now: w.clk.Now})
	if _, err := other.Sync(context.Background(), false, nil); err != nil {
		t.Fatal(err)
	}
	w.checkChanged(t, w.dir, nils)
}

// A sync that stored Anna's change and then failed (the CRM's list of
// deleted records) saves no sync state: the directory's own write still
// ends the answers read before it.
func TestLookupMemoAfterFailedSync(t *testing.T) {
	w := newMemoWorld(t)
	w.lookup(t, w.dir)
	w.lookup(t, w.dir)
	w.clk.Add(time.Minute)
	w.lister.SetPhones(crm.Ref{Entity: crm.Contact, ID: w.anna}, map[string]string{"mobilephone": "050 444 4444"})
	w.clk.Add(time.Minute)
	w.mem.FailNext(crmtest.MethodDeletedRecords, 1, errBoom)
	if _, err := w.dir.Sync(context.Background(), false, nil); !errors.Is(err, errBoom) {
		t.Fatalf("sync: %v, want the CRM's error", err)
	}
	res := w.lookup(t, w.dir, annaNew)
	if recs := res[annaOld]; len(recs) != 0 {
		t.Fatalf("anna's old number still finds %v after her change was stored", ids(recs))
	}
	if recs := res[annaNew]; len(recs) != 1 || recs[0].ID != w.anna {
		t.Fatalf("anna's new number finds %v", ids(recs))
	}
}

// A live lookup found a lead holding a number the directory answered with
// Anna (a record created since the last sync), and Learn stored it, which
// saves no sync state: the next lookup finds both.
func TestLookupMemoAfterLearn(t *testing.T) {
	w := newMemoWorld(t)
	w.lookup(t, w.dir)
	w.lookup(t, w.dir)
	lead := crm.Record{Ref: crm.Ref{Entity: crm.Lead, ID: "new-lead"}, Phones: map[string]string{"mobilephone": annaOld}}
	if err := w.dir.Learn(context.Background(), map[string][]crm.Record{annaOld: {lead}}); err != nil {
		t.Fatal(err)
	}
	if got := ids(w.lookup(t, w.dir)[annaOld]); fmt.Sprint(got) != fmt.Sprint([]string{w.anna, "new-lead"}) {
		t.Fatalf("anna's number after Learn finds %v, want anna and the learned lead", got)
	}
}

// changeCRM changes Anna's number, deletes Lena and adds Nils, between two
// minutes of the CRM's clock.
func (w *memoWorld) changeCRM() string {
	w.clk.Add(time.Minute)
	w.lister.SetPhones(crm.Ref{Entity: crm.Contact, ID: w.anna}, map[string]string{"mobilephone": "050 444 4444"})
	w.lister.Delete(crm.Ref{Entity: crm.Lead, ID: w.lena})
	nils := w.mem.AddRecord(crm.Record{Ref: crm.Ref{Entity: crm.Contact}, Phones: map[string]string{"telephone1": "040 555 5555"}})
	w.clk.Add(time.Minute)
	return nils
}

// checkChanged looks up with d after changeCRM's changes were synced.
func (w *memoWorld) checkChanged(t *testing.T, d *phonedir.Directory, nils string) {
	t.Helper()
	res := w.lookup(t, d, annaNew, "+358405555555")
	if recs := res[annaOld]; len(recs) != 0 {
		t.Errorf("anna's old number still finds %v", ids(recs))
	}
	if recs := res[annaNew]; len(recs) != 1 || recs[0].ID != w.anna {
		t.Errorf("anna's new number finds %v", ids(recs))
	}
	if recs := res[lenaNum]; len(recs) != 0 {
		t.Errorf("deleted lena still found: %v", ids(recs))
	}
	if recs := res["+358405555555"]; len(recs) != 1 || recs[0].ID != nils {
		t.Errorf("new contact nils: %v", ids(recs))
	}
	if len(res) != 72 {
		t.Errorf("%d numbers held, want 72 (70 unchanged, anna's new one, nils)", len(res))
	}
}
