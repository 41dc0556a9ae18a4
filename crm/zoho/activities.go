package zoho

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/callsync/callsync/crm"
)

// ErrRecordingOff is the per-item error of a call that the configuration
// leaves nowhere to write (module ""). record_incoming/record_outgoing are
// decided by the engine before a call reaches the client (jobs NotRecorded).
// It wraps crm.ErrPermanent: nothing was written and a retry writes nothing.
var ErrRecordingOff = fmt.Errorf("zoho: recording switched off: %w", crm.ErrNotRecorded)

// WriteActivities writes calls and callback requests.
//
// Calls go to the configured module. The standard Calls module has no upsert
// (https://www.zoho.com/crm/developer/docs/api/v8/upsert-records.html lists the modules), so the batch is pre-checked with COQL: by the
// Enreach id in call_id_field when configured (one `in` query for up to 2,500
// items), otherwise by Call_Start_Time plus the Enreach id marker line of
// Description (COQL cannot filter multi-line fields). Found items report
// Existed; the rest are inserted 100 a request with per-record results
// (201/207). A custom module is written with upsert on CCSPCallID: action
// insert → Created, update → Existed.
//
// Callback requests always go to the Calls module as scheduled outbound calls
// (the only module with an open state), whatever module and record_* say.
// With module "" calls fail with ErrRecordingOff.
func (c *Client) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	w := &writeRun{results: make([]crm.WriteResult, len(acts))}
	var calls, custom []int
	for i, a := range acts {
		w.results[i] = crm.WriteResult{Key: a.Key}
		if err := c.recordingOff(a); err != nil {
			w.fail(i, err)
			w.skipped++
			continue
		}
		if a.Kind != crm.KindCallback && c.module != callsModule {
			custom = append(custom, i)
		} else {
			calls = append(calls, i)
		}
	}
	c.writeCalls(ctx, w, acts, calls)
	c.writeCustom(ctx, w, acts, custom)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("zoho: write activities: %w", err)
	}
	if w.reqErr != nil && w.written == 0 && w.recordErrs == 0 && w.skipped == 0 {
		return nil, fmt.Errorf("zoho: write activities: %w", w.reqErr)
	}
	return w.results, nil
}

// writeRun collects the results of one WriteActivities call.
type writeRun struct {
	results    []crm.WriteResult
	reqErr     error // first request-level failure
	written    int
	recordErrs int
	skipped    int
}

func (w *writeRun) fail(i int, err error) {
	w.results[i].Status, w.results[i].Err = crm.Failed, err
}

func (w *writeRun) failRequest(idx []int, err error) {
	if w.reqErr == nil {
		w.reqErr = err
	}
	for _, i := range idx {
		w.fail(i, err)
	}
}

func (w *writeRun) done(i int, status crm.WriteStatus, id string) {
	w.results[i].Status, w.results[i].ID, w.results[i].Err = status, id, nil
	w.written++
}

func (c *Client) recordingOff(a crm.Activity) error {
	if a.Kind == crm.KindCallback {
		return nil
	}
	switch {
	case c.module == "":
		// Nowhere to write. The engine skips these calls before (jobs
		// NotRecorded, with record_incoming and record_outgoing).
		return fmt.Errorf("%w (module is empty): %w", ErrRecordingOff, crm.ErrPermanent)
	}
	return nil
}

// firstByKey splits idx into the first item of every key and the later
// duplicates (resolved from their first item at the end).
func firstByKey(acts []crm.Activity, idx []int) (firsts []int, dups map[int]int) {
	dups = map[int]int{}
	seen := map[string]int{}
	for _, i := range idx {
		if j, ok := seen[acts[i].Key]; ok {
			dups[i] = j
			continue
		}
		seen[acts[i].Key] = i
		firsts = append(firsts, i)
	}
	return firsts, dups
}

func (w *writeRun) resolveDups(dups map[int]int) {
	for i, j := range dups {
		r := w.results[j]
		if r.Status == crm.Failed {
			w.fail(i, r.Err)
			continue
		}
		w.done(i, crm.Existed, r.ID)
	}
}

func (c *Client) writeCalls(ctx context.Context, w *writeRun, acts []crm.Activity, idx []int) {
	if len(idx) == 0 {
		return
	}
	firsts, dups := firstByKey(acts, idx)
	defer w.resolveDups(dups)
	now := c.now().UTC()

	existing, checkable, err := c.existingCalls(ctx, acts, firsts, now)
	if err != nil {
		// Without the pre-check an insert could double a call: write nothing.
		w.failRequest(firsts, err)
		return
	}
	var todo []int
	for _, i := range firsts {
		switch id, found := existing[i]; {
		case found:
			w.done(i, crm.Existed, id)
		case !checkable[i]:
			w.recordErrs++
			w.fail(i, fmt.Errorf("zoho: Enreach id %q cannot be compared in COQL: %w", enreachID(acts[i]), crm.ErrPermanent))
		default:
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return
	}
	schema, known, err := c.writeSchema(ctx, callsModule)
	if err != nil {
		w.failRequest(todo, err)
		return
	}
	failed := map[int]string{}
	defer c.recheckFields(ctx, w, callsModule, failed)
	shape := c.callsShape(schema, known)
	body := func(_ int, chunk []int) any {
		return c.callsBody(acts, chunk, now, shape)
	}
	c.sendChunks(ctx, w, http.MethodPost, "/"+callsModule, todo, body, func(i int, r recordResult) {
		if r.Status == "success" {
			w.done(i, crm.Created, r.id())
			return
		}
		// A unique call_id_field reports the record a concurrent writer made.
		if r.Code == "DUPLICATE_DATA" && c.cfg.CallIDField != "" && r.apiName() == c.cfg.CallIDField {
			if id := r.duplicateID(); id != "" {
				w.done(i, crm.Existed, id)
				return
			}
		}
		w.recordErrs++
		w.fail(i, fmt.Errorf("zoho: insert call: %w", r.err()))
		if r.Code == "INVALID_DATA" && r.apiName() != "" {
			failed[i] = r.apiName()
		}
	})
}

// existingCalls returns, for the items of idx already in the Calls module,
// their record ids; checkable says which items the pre-check could cover.
func (c *Client) existingCalls(ctx context.Context, acts []crm.Activity, idx []int, now time.Time) (map[int]string, map[int]bool, error) {
	found := map[int]string{}
	checkable := map[int]bool{}
	if f := c.cfg.CallIDField; f != "" {
		byValue := map[string][]int{}
		var lits []string
		for _, i := range idx {
			v := externalCallID(acts[i])
			lit, ok := literal(v)
			if !ok {
				continue
			}
			checkable[i] = true
			k := strings.ToLower(v)
			if len(byValue[k]) == 0 {
				lits = append(lits, lit)
			}
			byValue[k] = append(byValue[k], i)
		}
		per := coqlMaxCriteria * coqlInValues
		for start := 0; start < len(lits); start += per {
			chunk := lits[start:min(len(lits), start+per)]
			err := c.coql(ctx, []string{"id", f}, callsModule, group("or", inCriteria(f, chunk)), len(chunk), func(row coqlRow) {
				for _, i := range byValue[strings.ToLower(rowString(row[f]))] {
					if _, ok := found[i]; !ok {
						found[i] = rowString(row["id"])
					}
				}
			})
			if err != nil {
				return nil, nil, fmt.Errorf("zoho: pre-check calls: %w", err)
			}
		}
		return found, checkable, nil
	}

	// No call_id_field: candidates by exact start time, confirmed by the
	// marker line in Description.
	byStart := map[int64][]int{}
	var lits []string
	for _, i := range idx {
		a := acts[i]
		start := a.Start
		if a.Kind == crm.KindCallback {
			start = callbackStart(a, now)
		}
		checkable[i] = true
		t := start.UTC().Truncate(time.Second)
		if len(byStart[t.Unix()]) == 0 {
			lit, _ := literal(formatTime(t))
			lits = append(lits, lit)
		}
		byStart[t.Unix()] = append(byStart[t.Unix()], i)
	}
	per := coqlMaxCriteria * coqlInValues
	for start := 0; start < len(lits); start += per {
		chunk := lits[start:min(len(lits), start+per)]
		err := c.coql(ctx, []string{"id", fCallStartTime, fDescription}, callsModule, group("or", inCriteria(fCallStartTime, chunk)), len(chunk), func(row coqlRow) {
			t, err := time.Parse(time.RFC3339, rowString(row[fCallStartTime]))
			if err != nil {
				return
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(rowString(row[fDescription]), "\n") {
				lines[strings.TrimSpace(l)] = true
			}
			for _, i := range byStart[t.UTC().Unix()] {
				if _, ok := found[i]; !ok && lines[marker(acts[i])] {
					found[i] = rowString(row["id"])
				}
			}
		})
		if err != nil {
			return nil, nil, fmt.Errorf("zoho: pre-check calls: %w", err)
		}
	}
	return found, checkable, nil
}

func (c *Client) writeCustom(ctx context.Context, w *writeRun, acts []crm.Activity, idx []int) {
	if len(idx) == 0 {
		return
	}
	firsts, dups := firstByKey(acts, idx)
	defer w.resolveDups(dups)
	schema, known, err := c.writeSchema(ctx, c.module)
	if err != nil {
		w.failRequest(firsts, err)
		return
	}
	failed := map[int]string{}
	defer c.recheckFields(ctx, w, c.module, failed)
	body := func(_ int, chunk []int) any {
		recs := make([]map[string]any, len(chunk))
		for k, i := range chunk {
			recs[k] = customRecord(acts[i], c.loc)
			c.shapeCustom(recs[k], acts[i], schema, known)
		}
		return map[string]any{"data": recs, "duplicate_check_fields": []string{cfCallID}, "trigger": []string{}}
	}
	c.sendChunks(ctx, w, http.MethodPost, "/"+c.module+"/upsert", firsts, body, func(i int, r recordResult) {
		switch {
		case r.Status == "success" && r.Action == "update":
			w.done(i, crm.Existed, r.id())
		case r.Status == "success":
			w.done(i, crm.Created, r.id())
		default:
			w.recordErrs++
			w.fail(i, fmt.Errorf("zoho: upsert %s: %w", c.module, r.err()))
			if r.Code == "INVALID_DATA" && r.apiName() != "" {
				failed[i] = r.apiName()
			}
		}
	})
}

// CloseActivities completes open call records: a scheduled call (callback
// request closed in Enreach) becomes Completed (mapping.go closeRecord), an
// open call loses its open marker. The records are read first (one COQL
// query per 2,500), so a call that is already complete is left untouched and
// reports Existed, and an id that is no call fails permanently. Calls closed
// now report Created.
func (c *Client) CloseActivities(ctx context.Context, reqs []crm.CloseRequest) ([]crm.WriteResult, error) {
	w := &writeRun{results: make([]crm.WriteResult, len(reqs))}
	byID := map[string][]int{}
	var lits []string
	for i, r := range reqs {
		w.results[i] = crm.WriteResult{Key: r.Key, ID: r.ID}
		lit, ok := literal(r.ID)
		if !ok {
			w.recordErrs++
			w.fail(i, fmt.Errorf("zoho: close %s: invalid record id %q: %w", r.Key, r.ID, crm.ErrPermanent))
			continue
		}
		if len(byID[r.ID]) == 0 {
			lits = append(lits, lit)
		}
		byID[r.ID] = append(byID[r.ID], i)
	}
	type callRow struct {
		status, desc string
		start        time.Time
	}
	rows := map[string]callRow{}
	fields := []string{"id", fOutboundStatus, fCallStartTime, fDescription}
	per := coqlMaxCriteria * coqlInValues
	for start := 0; start < len(lits); start += per {
		chunk := lits[start:min(len(lits), start+per)]
		err := c.coql(ctx, fields, callsModule, group("or", inCriteria("id", chunk)), len(chunk), func(row coqlRow) {
			st, _ := time.Parse(time.RFC3339, rowString(row[fCallStartTime]))
			rows[rowString(row["id"])] = callRow{status: rowString(row[fOutboundStatus]), desc: rowString(row[fDescription]), start: st}
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("zoho: close activities: %w", ctx.Err())
			}
			return nil, fmt.Errorf("zoho: close activities: %w", err)
		}
	}
	now := c.now().UTC()
	var todo []int
	var recs []map[string]any
	for _, lit := range lits {
		id := strings.Trim(lit, "'")
		idx := byID[id]
		row, found := rows[id]
		switch {
		case !found:
			for _, i := range idx {
				w.recordErrs++
				w.fail(i, fmt.Errorf("zoho: close %s: no call record %s: %w", reqs[i].Key, id, crm.ErrPermanent))
			}
			continue
		case row.status == outboundScheduled:
			recs = append(recs, closeRecord(id, row.start, now))
		default:
			desc, open := withoutOpenLine(row.desc)
			if !open {
				for _, i := range idx {
					w.done(i, crm.Existed, id)
				}
				continue
			}
			recs = append(recs, map[string]any{"id": id, fDescription: desc})
		}
		todo = append(todo, idx[0])
	}
	body := func(start int, chunk []int) any {
		return map[string]any{"data": recs[start : start+len(chunk)], "trigger": []string{}}
	}
	c.sendChunks(ctx, w, http.MethodPut, "/"+callsModule, todo, body, func(i int, r recordResult) {
		id := reqs[i].ID
		for _, j := range byID[id] {
			if r.Status == "success" {
				status := crm.Created
				if j != i {
					status = crm.Existed
				}
				w.done(j, status, id)
				continue
			}
			w.recordErrs++
			w.fail(j, fmt.Errorf("zoho: close call %s: %w", id, r.err()))
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("zoho: close activities: %w", err)
	}
	if w.reqErr != nil && w.written == 0 && w.recordErrs == 0 {
		return nil, fmt.Errorf("zoho: close activities: %w", w.reqErr)
	}
	for i, r := range w.results {
		if r.Status == "" { // a repeated id whose request failed
			w.fail(i, fmt.Errorf("zoho: close %s: %w", r.Key, w.reqErr))
		}
	}
	return w.results, nil
}

// writeConcurrency is how many requests of one sendChunks are in flight at
// once: a write batch of more than 100 items takes a request per 100
// (insert-records), and sending them one after the other made a backfill
// wait a round trip per 100 calls. The client's adaptive limit still bounds
// the org's requests (heavy calls, such as inserts of more than ten records,
// have a sub-concurrency limit of 10:
// https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html).
const writeConcurrency = 4

// sendChunks sends one insert/upsert/update request per 100 items of idx
// (body builds a chunk's body from its items, idx[start:start+len(chunk)]),
// up to writeConcurrency at once, and then hands each item its per-record
// result, matched by index, in chunk order: the results are the ones
// sending the chunks one by one gives. 201, 202 and 207 carry data[]; so
// does a 400 in which every record failed. Any other failure fails the
// whole chunk.
func (c *Client) sendChunks(ctx context.Context, w *writeRun, method, path string, idx []int, body func(start int, chunk []int) any, each func(i int, r recordResult)) {
	var chunks [][]int
	for start := 0; start < len(idx); start += recordsPerInsert {
		chunks = append(chunks, idx[start:min(len(idx), start+recordsPerInsert)])
	}
	answers := make([]recordsAnswer, len(chunks))
	if len(chunks) == 1 {
		answers[0] = c.postRecords(ctx, method, path, body(0, chunks[0]), len(chunks[0]))
	} else {
		var wg sync.WaitGroup
		slots := make(chan struct{}, writeConcurrency)
		for k, chunk := range chunks {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				answers[k] = c.postRecords(ctx, method, path, body(k*recordsPerInsert, chunk), len(chunk))
			}()
		}
		wg.Wait()
	}
	for k, chunk := range chunks {
		answers[k].hand(w, chunk, each)
	}
}

// recordsAnswer is the answer to one insert/upsert/update request: its
// per-record results, or the error that fails the whole chunk.
type recordsAnswer struct {
	data []recordResult
	err  error
}

// postRecords sends one insert/upsert/update request of n records.
func (c *Client) postRecords(ctx context.Context, method, path string, body any, n int) recordsAnswer {
	hc := c.http
	if method == http.MethodPost && !strings.HasSuffix(path, "/upsert") {
		hc = c.insert
	}
	resp, err := c.send(ctx, hc, method, path, nil, body, http.StatusBadRequest)
	if err != nil {
		return recordsAnswer{err: fmt.Errorf("zoho: %s %s: %w", method, path, err)}
	}
	data, err := decodeRecords(resp.body)
	if err != nil || len(data) != n {
		if resp.status == http.StatusBadRequest {
			return recordsAnswer{err: fmt.Errorf("zoho: %s %s: %w", method, path, apiError(resp.status, resp.body))}
		}
		return recordsAnswer{err: fmt.Errorf("zoho: %s %s: answer has %d results for %d records", method, path, len(data), n)}
	}
	return recordsAnswer{data: data}
}

// hand gives each item of chunk its result, or fails them all with the
// request's error.
func (a recordsAnswer) hand(w *writeRun, chunk []int, each func(i int, r recordResult)) {
	if a.err != nil {
		w.failRequest(chunk, a.err)
		return
	}
	for k, i := range chunk {
		each(i, a.data[k])
	}
}
