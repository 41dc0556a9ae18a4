package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
)

// recordResult is one element of a /composite/sobjects answer [Batching].
type recordResult struct {
	ID      string      `json:"id"`
	Success bool        `json:"success"`
	Created bool        `json:"created"`
	Errors  []ErrorItem `json:"errors"`
}

// WriteActivities upserts one Task per activity on the external id field
// through PATCH /composite/sobjects/Task/<field> (200 records per request,
// allOrNone false), with a result per item in input order.
//
// Replays: TaskSubtype can only be set when a Task is created, so the upsert
// of an activity whose Task already exists fails with
// INVALID_FIELD_FOR_INSERT_UPDATE on TaskSubtype and changes nothing. Those
// items are looked up by external id and reported Existed with the Task's id;
// agent edits to the Task are never overwritten. If the lookup finds no Task,
// the org refuses TaskSubtype on create (Open question 1): the client then
// writes without TaskSubtype, checking for existing Tasks first.
func (c *Client) WriteActivities(ctx context.Context, acts []crm.Activity) ([]crm.WriteResult, error) {
	var results []crm.WriteResult
	err := c.withSchema(ctx, func(ad adaptation) error {
		var err error
		results, err = c.writeActivities(ctx, ad, acts)
		return err
	})
	return results, err
}

// writeActivities writes with what the org has (see WriteActivities). A
// whole-request INVALID_FIELD fails before anything is written, so
// withSchema may run it again.
func (c *Client) writeActivities(ctx context.Context, ad adaptation, acts []crm.Activity) ([]crm.WriteResult, error) {
	results := make([]crm.WriteResult, len(acts))
	first := map[string]int{} // external id -> first item with it
	dups := map[int]int{}
	var todo []int
	for i, a := range acts {
		results[i] = crm.WriteResult{Key: a.Key}
		if a.Key == "" {
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("salesforce: write: activity without key: %w", crm.ErrPermanent)
			continue
		}
		ext := strings.ToLower(ExternalID(a.Key))
		if j, ok := first[ext]; ok {
			dups[i] = j
			continue
		}
		first[ext] = i
		todo = append(todo, i)
	}

	var plain []int // items to write without TaskSubtype
	if c.omitSubtype.Load() {
		plain = todo
	} else if len(todo) > 0 {
		recs := make([][]byte, len(todo))
		var m jsonw.Object
		for k, i := range todo {
			recs[k] = taskFields(&m, acts[i], c.names, ad, true)
		}
		res, err := c.upsert(ctx, recs)
		if err != nil {
			return nil, fmt.Errorf("salesforce: write %d activities: %w", len(todo), err)
		}
		var existing []int
		for k, i := range todo {
			r := res[k]
			switch {
			case r.Success:
				results[i].ID = r.ID
				results[i].Status = crm.Existed
				if r.Created {
					results[i].Status = crm.Created
				}
			case createOnlyRefused(r.Errors):
				existing = append(existing, i)
			default:
				c.failed("write", &results[i], r.Errors)
			}
		}
		if len(existing) > 0 {
			missing, err := c.recognise(ctx, acts, existing, results)
			if err != nil {
				return nil, fmt.Errorf("salesforce: write: look up existing Tasks: %w", err)
			}
			if len(missing) > 0 {
				// No Task exists, yet TaskSubtype was refused: the org does not
				// let us set it on create.
				if !c.omitSubtype.Swap(true) {
					c.log.Warn("salesforce: the org refuses TaskSubtype on create; writing call Tasks without it " +
						"(check field-level security of Task.TaskSubtype for the integration user)")
				}
				plain = missing
			}
		}
	}

	if len(plain) > 0 {
		if err := c.writePlain(ctx, ad, acts, plain, results); err != nil {
			return nil, err
		}
	}
	for i, j := range dups {
		results[i] = results[j]
		results[i].Key = acts[i].Key
		if results[i].Status == crm.Created {
			results[i].Status = crm.Existed
		}
	}
	return results, nil
}

// writePlain writes items without TaskSubtype. Upserting would overwrite an
// existing Task, so existing Tasks are recognised first and left alone.
func (c *Client) writePlain(ctx context.Context, ad adaptation, acts []crm.Activity, items []int, results []crm.WriteResult) error {
	missing, err := c.recognise(ctx, acts, items, results)
	if err != nil {
		return fmt.Errorf("salesforce: write: look up existing Tasks: %w", err)
	}
	if len(missing) == 0 {
		return nil
	}
	recs := make([][]byte, len(missing))
	var m jsonw.Object
	for k, i := range missing {
		recs[k] = taskFields(&m, acts[i], c.names, ad, false)
	}
	res, err := c.upsert(ctx, recs)
	if err != nil {
		return fmt.Errorf("salesforce: write %d activities: %w", len(missing), err)
	}
	for k, i := range missing {
		r := res[k]
		if !r.Success {
			c.failed("write", &results[i], r.Errors)
			continue
		}
		results[i].ID = r.ID
		results[i].Status = crm.Existed
		if r.Created {
			results[i].Status = crm.Created
		}
	}
	return nil
}

// recognise looks the items' external ids up and reports those with a Task as
// Existed (several Tasks: Failed, not guessed); it returns the items without
// a Task.
func (c *Client) recognise(ctx context.Context, acts []crm.Activity, items []int, results []crm.WriteResult) ([]int, error) {
	exts := make([]string, len(items))
	for k, i := range items {
		exts[k] = ExternalID(acts[i].Key)
	}
	found, err := c.tasksByExternalID(ctx, exts, "")
	if err != nil {
		return nil, err
	}
	var missing []int
	for k, i := range items {
		ts := found[strings.ToLower(exts[k])]
		switch len(ts) {
		case 0:
			missing = append(missing, i)
		case 1:
			results[i].ID = ts[0].id
			results[i].Status = crm.Existed
		default:
			ids := make([]string, len(ts))
			for j, t := range ts {
				ids[j] = t.id
			}
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("salesforce: write %s: external id %s is on several Tasks (%s); fix the data and make the field Unique: %w",
				acts[i].Key, exts[k], strings.Join(ids, ", "), crm.ErrPermanent)
		}
	}
	return missing, nil
}

// taskRow is a Task read back by SOQL.
type taskRow struct {
	id, status string
	closed     bool
}

// tasksByExternalID returns the Tasks per lower-cased external id (or per Id
// when byField is "Id").
func (c *Client) tasksByExternalID(ctx context.Context, values []string, byField string) (map[string][]taskRow, error) {
	field := c.names.external
	if byField != "" {
		field = byField
	}
	head := fmt.Sprintf("SELECT Id,%s,Status,IsClosed FROM %s WHERE %s IN ", c.names.external, taskObject, field)
	var soqls []string
	for _, ch := range chunkIN(values, len(head)) {
		soqls = append(soqls, head+inList(ch))
	}
	pages, err := c.queryAll(ctx, soqls)
	if err != nil {
		return nil, err
	}
	out := map[string][]taskRow{}
	for _, recs := range pages {
		for _, raw := range recs {
			var rec map[string]any
			if err := json.Unmarshal(raw, &rec); err != nil {
				return nil, fmt.Errorf("decode Task: %w", err)
			}
			closed, _ := rec["IsClosed"].(bool)
			k := strings.ToLower(str(rec, field))
			out[k] = append(out[k], taskRow{id: str(rec, "Id"), status: str(rec, fStatus), closed: closed})
		}
	}
	return out, nil
}

// upsert sends records to the external-id upsert, 200 per request.
func (c *Client) upsert(ctx context.Context, recs [][]byte) ([]recordResult, error) {
	return c.collection(ctx, http.MethodPatch, "/composite/sobjects/"+taskObject+"/"+c.names.external, recs)
}

// collection sends records to an sObject Collections resource in requests of
// maxCollection and returns a result per record (each recs element one
// record's JSON). A 300 answer (an external id on several records) fails the
// records of that request instead of the batch.
func (c *Client) collection(ctx context.Context, method, path string, recs [][]byte) ([]recordResult, error) {
	out := make([]recordResult, 0, len(recs))
	for start := 0; start < len(recs); start += maxCollection {
		end := min(start+maxCollection, len(recs))
		var ans []recordResult
		err := c.do(ctx, method, path, collectionBody(recs[start:end]), &ans)
		var ae *APIError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusMultipleChoices:
			errs := ae.Errors
			if len(errs) == 0 {
				errs = []ErrorItem{{StatusCode: codeDuplicateExternalID, Message: "external id matches several records (HTTP 300)"}}
			}
			for range end - start {
				out = append(out, recordResult{Errors: errs})
			}
			continue
		case err != nil:
			return nil, err
		case len(ans) != end-start:
			return nil, fmt.Errorf("%s %s: %d results for %d records", method, path, len(ans), end-start)
		}
		out = append(out, ans...)
	}
	return out, nil
}

// collectionBody is an sObject Collections request of records, as
// json.Marshal writes map[string]any{"allOrNone": false, "records": recs}.
// It is read from the records as the transport sends it (collectionReader)
// instead of copied into one buffer first: 200 records of about 700 bytes
// per request, a second copy of each.
func collectionBody(recs [][]byte) *collection {
	n := len(collectionHead) + len(collectionTail)
	for i, r := range recs {
		if i > 0 {
			n++
		}
		n += len(r)
	}
	return &collection{recs: recs, size: n}
}

// The parts of a collection's body around its records.
const (
	collectionHead = `{"allOrNone":false,"records":[`
	collectionTail = "]}"
)

// collection is a Collections request body: its records, and its length.
type collection struct {
	recs [][]byte
	size int
}

// reader returns a reader of the whole body from its start; its Len is the
// body's length (the request's Content-Length).
func (c *collection) reader() (io.Reader, error) {
	return &collectionReader{c: c, piece: collectionHead, left: c.size}, nil
}

// collectionReader reads a collection: the head, the records with a comma
// between two, the tail.
type collectionReader struct {
	c *collection
	// piece is what is left of the current piece: head, comma or tail
	// (rec < 0 or a separator), else rec is the record read from.
	piece string
	rec   []byte
	// next is the next record (len(recs): the tail).
	next int
	left int
	done bool
}

// Len is the number of bytes not yet read (retryablehttp's LenReader).
func (r *collectionReader) Len() int { return r.left }

// Read fills p as far as the body goes.
func (r *collectionReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case r.piece != "":
			k := copy(p[n:], r.piece)
			r.piece = r.piece[k:]
			n += k
		case len(r.rec) > 0:
			k := copy(p[n:], r.rec)
			r.rec = r.rec[k:]
			n += k
		case r.done:
			r.left -= n
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		case r.next < len(r.c.recs):
			if r.next > 0 {
				r.piece = ","
			}
			r.rec = r.c.recs[r.next]
			r.next++
		default:
			r.piece, r.done = collectionTail, true
		}
	}
	r.left -= n
	return n, nil
}

// createOnlyRefused reports the error Salesforce gives an upsert that found
// the Task and may not update TaskSubtype.
func createOnlyRefused(errs []ErrorItem) bool {
	if len(errs) == 0 {
		return false
	}
	for _, e := range errs {
		if e.Code() != codeCreateOnly {
			return false
		}
		if !slices.Contains(e.Fields, fTaskSubtype) && !strings.Contains(e.Message, fTaskSubtype) {
			return false
		}
	}
	return true
}

func (c *Client) failed(op string, r *crm.WriteResult, errs []ErrorItem) {
	for _, e := range errs {
		if e.Code() == codeInvalidField {
			// A field deleted or hidden since the last describe: the next
			// operation describes again; the ledger retries this item.
			c.markSchemaStale()
		}
	}
	r.Status = crm.Failed
	r.ID = ""
	if len(errs) == 0 {
		errs = []ErrorItem{{StatusCode: "UNKNOWN", Message: "record failed without an error"}}
	}
	r.Err = fmt.Errorf("salesforce: %s %s: %w", op, r.Key, &itemError{errs: errs})
}

// CloseActivities completes open Tasks (callback requests closed in Enreach):
// the Tasks are read by Id (or, without one, by external id), already closed
// ones report Existed, the others get Status Completed through PATCH
// /composite/sobjects (200 per request) and report Created.
func (c *Client) CloseActivities(ctx context.Context, reqs []crm.CloseRequest) ([]crm.WriteResult, error) {
	results := make([]crm.WriteResult, len(reqs))
	var ids, exts []string
	for i, r := range reqs {
		results[i] = crm.WriteResult{Key: r.Key, ID: r.ID}
		switch {
		case r.ID != "":
			ids = append(ids, r.ID)
		case r.Key != "":
			exts = append(exts, ExternalID(r.Key))
		default:
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("salesforce: close: request without key or id: %w", crm.ErrPermanent)
		}
	}
	byID := map[string][]taskRow{}
	byExt := map[string][]taskRow{}
	var err error
	if len(ids) > 0 {
		if byID, err = c.tasksByExternalID(ctx, ids, "Id"); err != nil {
			return nil, fmt.Errorf("salesforce: close: read Tasks: %w", err)
		}
	}
	if len(exts) > 0 {
		if byExt, err = c.tasksByExternalID(ctx, exts, ""); err != nil {
			return nil, fmt.Errorf("salesforce: close: read Tasks: %w", err)
		}
	}
	var recs [][]byte
	var items []int
	for i, r := range reqs {
		if results[i].Status == crm.Failed {
			continue
		}
		var ts []taskRow
		if r.ID != "" {
			ts = byID[strings.ToLower(r.ID)]
		} else {
			ts = byExt[strings.ToLower(ExternalID(r.Key))]
		}
		switch {
		case len(ts) == 0:
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("salesforce: close %s: no Task %s: %w", r.Key, r.ID, crm.ErrPermanent)
		case len(ts) > 1:
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("salesforce: close %s: external id is on %d Tasks: %w", r.Key, len(ts), crm.ErrPermanent)
		case ts[0].closed:
			results[i].ID = ts[0].id
			results[i].Status = crm.Existed
		default:
			results[i].ID = ts[0].id
			recs = append(recs, closeFields(ts[0].id))
			items = append(items, i)
		}
	}
	if len(recs) == 0 {
		return results, nil
	}
	res, err := c.collection(ctx, http.MethodPatch, "/composite/sobjects", recs)
	if err != nil {
		return nil, fmt.Errorf("salesforce: close %d activities: %w", len(recs), err)
	}
	for k, i := range items {
		if res[k].Success {
			results[i].Status = crm.Created
			continue
		}
		c.failed("close", &results[i], res[k].Errors)
	}
	return results, nil
}
