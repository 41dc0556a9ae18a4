//go:build unix

package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/internal/cputime"
	"github.com/callsync/callsync/store"
)

// benchUUID is a random id shaped like Enreach's call ids and Dataverse's
// activity ids.
func benchUUID(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
}

// BenchmarkLedgerBackfill is what a backfill window of 1,000 calls asks of
// the store, in the order the calls job asks it: the calls' ledger rows
// read (none found: a new range), the decisions that write nothing saved
// before the writes are sent (one call in ten unresolved, with its ~1.5 KB
// payload), the nine writes' rows saved once with their results (written,
// CRM id, no payload), each transaction with the decision log entries of
// its rows (SaveLedger's log); random ids as
// Enreach's, 7,000 customer numbers. The context can end, as the job's
// does. Each op is one window, so -benchtime 100x is a 100,000-call
// backfill (`go test -run '^$' -bench LedgerBackfill -benchtime 100x
// ./store`). Reported per call: process CPU, and the bytes and calls of
// read and write system calls (/proc/self/io on Linux), which do not vary
// with the machine's load: SQLite's cost is the pages it reads and writes.
func BenchmarkLedgerBackfill(b *testing.B) {
	s, _, at := ledgerBenchStore(b)
	benchLedgerBackfill(b, s, at, false)
}

// BenchmarkLedgerBackfillPostgres is BenchmarkLedgerBackfill on a database
// of the test run's throwaway PostgreSQL cluster (the server on the same
// machine; its own CPU is not in cpu-ns/call, its round trips are in the
// time per window).
func BenchmarkLedgerBackfillPostgres(b *testing.B) {
	s, err := store.OpenPostgres(context.Background(), pg.NewDatabase(b), store.PoolOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	benchLedgerBackfill(b, s, time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), false)
}

// BenchmarkLedgerBackfillPendingFirst is BenchmarkLedgerBackfill as the
// calls job asked it before a write's row was saved only with its result:
// every write saved pending with its payload before the CRM is asked, then
// its result saved on that row (UpdateLedgerResult), and the decision log
// entries added in a transaction of their own (AddDecisions).
func BenchmarkLedgerBackfillPendingFirst(b *testing.B) {
	s, _, at := ledgerBenchStore(b)
	benchLedgerBackfill(b, s, at, true)
}

func benchLedgerBackfill(b *testing.B, s *store.Store, at time.Time, pendingFirst bool) {
	// A context that can end, as a backfill's is (a run stops on SIGINT).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := rand.New(rand.NewPCG(1, 2))
	c0, io0 := cputime.Self(), procIO()
	n := 0
	for b.Loop() {
		w := newBackfillWindow(r, at, n, pendingFirst)
		w.save(ctx, b, s, pendingFirst)
		n++
	}
	b.ReportMetric(float64((cputime.Self()-c0).Nanoseconds())/float64(b.N*backfillWindowCalls), "cpu-ns/call")
	io1 := procIO()
	for _, k := range []string{"rchar", "wchar", "syscr", "syscw"} {
		b.ReportMetric(float64(io1[k]-io0[k])/float64(b.N*backfillWindowCalls), k+"/call")
	}
}

// backfillWindowCalls is the number of calls of a backfillWindow.
const backfillWindowCalls = 1000

// backfillWindow is what one window of BenchmarkLedgerBackfill saves.
type backfillWindow struct {
	ids                    []string
	decided, written       []store.LedgerEntry
	decidedLog, writtenLog []store.Decision
	all                    []store.Decision // every call's entry (pendingFirst)
}

// newBackfillWindow builds the n-th window's calls (see
// BenchmarkLedgerBackfill).
func newBackfillWindow(r *rand.Rand, at time.Time, n int, pendingFirst bool) *backfillWindow {
	const tenant, kind = "bench", "call"
	w := &backfillWindow{ids: make([]string, backfillWindowCalls), all: make([]store.Decision, backfillWindowCalls)}
	for i := range w.ids {
		id := benchUUID(r)
		w.ids[i] = id
		num := fmt.Sprintf("+3584010%05d", r.IntN(7000))
		payload := []byte(`{"id":"` + id + `","queue":true,"answered":true,"anum":"` + num + `","bnum":"+358201230000","user_id":"dbc652eb-633b-4957-b2df-08589d03a83c","user_name":"agent22@bench.example","queue_id":"28a6d8cd-7a14-4ab0-bf07-36b7b374164e","queue_name":"Sales","queue_number":"+358201230000","start":"2026-11-06T08:00:32Z","end":"2026-11-06T08:06:43Z","duration":356,"raw":[{"CallId":"` + id + `","QueueId":"28a6d8cd-7a14-4ab0-bf07-36b7b374164e","QueueName":"Sales","QueueNumber":"+358201230000","ANum":"` + num + `","BNum":"+358201230000","StartTime":"2026-11-06 08:00:32","AnswerTime":"2026-11-06 08:00:47","EndTime":"2026-11-06 08:06:43","Duration":356,"AnsweredByUserId":"dbc652eb-633b-4957-b2df-08589d03a83c","EndResult":0,"RecordingIds":[],"Modified":"2026-11-06 08:06:43"},{"CallId":"` + id + `","UserId":"dbc652eb-633b-4957-b2df-08589d03a83c","UserName":"agent22@bench.example","Direction":0,"ANum":"` + num + `","BNum":"+358201230000","StartTime":"2026-11-06 08:00:47","AnswerTime":"2026-11-06 08:00:47","EndTime":"2026-11-06 08:06:43","Duration":356,"EndResult":0,"Privacy":"Work","RecordingIds":[],"Modified":"2026-11-06 08:06:43"}]}`)
		t := at.Add(time.Duration(n*backfillWindowCalls+i) * 26 * time.Second)
		e := store.LedgerEntry{Tenant: tenant, Kind: kind, EnreachID: id, Key: "callsync/v1/bench/call/" + id,
			State: store.Pending, ItemTime: t, Number: num, Payload: payload}
		d := store.Decision{Tenant: tenant, Kind: kind, EnreachID: id, At: time.Now(), State: store.Written, Reason: "created",
			CRMID: benchUUID(r), Detail: []byte(`{"number":"` + num + `","matched":[{"Entity":"contact","ID":"baa6dde6-a1fc-484d-b3db-f22c8d7af972"}],"matched_by":"directory","chosen":{"Entity":"contact","ID":"baa6dde6-a1fc-484d-b3db-f22c8d7af972"},"why":"the only record with this number","owner":"ecf013c0-a864-40f3-a232-2580798e4e6f","user_party":"ecf013c0-a864-40f3-a232-2580798e4e6f","attempt":1,"crm_answer":"created"}`)}
		if i%10 == 9 {
			e.State, e.Reason = store.Unresolved, "no_match"
			d.State, d.Reason, d.CRMID = store.Unresolved, "no_match", ""
			w.decided = append(w.decided, e)
			w.decidedLog = append(w.decidedLog, d)
		} else {
			wr := e
			wr.State, wr.CRMID, wr.Attempts, wr.Payload = store.Written, d.CRMID, 1, nil
			if pendingFirst {
				w.decided = append(w.decided, e)
				wr.FirstSeen = time.Now() // as the pending save left it
			}
			w.written = append(w.written, wr)
			w.writtenLog = append(w.writtenLog, d)
		}
		w.all[i] = d
	}
	if pendingFirst {
		w.decidedLog, w.writtenLog = nil, nil
	}
	return w
}

// save asks the store what the calls job asks of it for the window: its
// calls' ledger rows read, the decisions without a write saved, then the
// writes' results.
func (w *backfillWindow) save(ctx context.Context, b *testing.B, s *store.Store, pendingFirst bool) {
	if _, err := s.Ledger(ctx, "bench", "call", w.ids); err != nil {
		b.Fatal(err)
	}
	if err := s.SaveLedger(ctx, w.decided, w.decidedLog...); err != nil {
		b.Fatal(err)
	}
	if err := s.SaveLedger(ctx, w.written, w.writtenLog...); err != nil {
		b.Fatal(err)
	}
	if pendingFirst {
		if err := s.AddDecisions(ctx, w.all); err != nil {
			b.Fatal(err)
		}
	}
}

// procIO reads this process's I/O counters (empty where there are none).
func procIO() map[string]int64 {
	out := map[string]int64{}
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		var n int64
		fmt.Sscan(v, &n)
		out[k] = n
	}
	return out
}
