package zoho

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/callsync/callsync/crm"
)

var _ crm.Updater = (*Client)(nil)

// UpdateActivities implements crm.Updater with PUT /{module} (update by id,
// up to 100 records per request: Update Records,
// https://www.zoho.com/crm/developer/docs/api/v8/update-records.html).
// Callback requests and calls of the Calls module are read first by id (one
// COQL query per 2,500 ids) so that a missing record fails with
// crm.ErrNotFound, an OnlyOpen update of a request no longer Scheduled (or a
// call without the open line) fails with crm.ErrClosed, and a new
// description keeps the record's callsync lines (queue, media type, marker)
// that FindActivities and CloseActivities rely on. The link is Who_Id for a
// contact, What_Id with $se_module otherwise, as a write does; in a custom
// module, the RelatesTo<Module> lookups.
func (c *Client) UpdateActivities(ctx context.Context, ups []crm.ActivityUpdate) ([]crm.WriteResult, error) {
	w := &writeRun{results: make([]crm.WriteResult, len(ups))}
	var calls, custom []int
	var lits []string
	for i, u := range ups {
		w.results[i] = crm.WriteResult{Key: u.Key, ID: u.ID}
		lit, ok := literal(u.ID)
		switch {
		case !ok:
			w.recordErrs++
			w.fail(i, fmt.Errorf("zoho: update %s: invalid record id %q: %w", u.Key, u.ID, crm.ErrPermanent))
		case u.Regarding == nil && u.Description == "":
			w.recordErrs++
			w.fail(i, fmt.Errorf("zoho: update %s: nothing to change: %w", u.Key, crm.ErrPermanent))
		case u.Kind != crm.KindCallback && c.module != callsModule:
			if c.module == "" {
				w.recordErrs++
				w.fail(i, fmt.Errorf("zoho: update %s: %w", u.Key, crm.ErrNotRecorded))
				continue
			}
			custom = append(custom, i)
		default:
			calls = append(calls, i)
			lits = append(lits, lit)
		}
	}
	type callRow struct{ status, desc string }
	rows := map[string]callRow{}
	per := coqlMaxCriteria * coqlInValues
	for start := 0; start < len(lits); start += per {
		chunk := lits[start:min(len(lits), start+per)]
		err := c.coql(ctx, []string{"id", fOutboundStatus, fDescription}, callsModule, group("or", inCriteria("id", chunk)), len(chunk), func(row coqlRow) {
			rows[rowString(row["id"])] = callRow{status: rowString(row[fOutboundStatus]), desc: rowString(row[fDescription])}
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("zoho: update activities: %w", ctx.Err())
			}
			return nil, fmt.Errorf("zoho: update activities: %w", err)
		}
	}
	var todo []int
	var recs []map[string]any
	for _, i := range calls {
		u := ups[i]
		row, found := rows[u.ID]
		_, open := withoutOpenLine(row.desc)
		open = open || row.status == outboundScheduled
		switch {
		case !found:
			w.recordErrs++
			w.fail(i, fmt.Errorf("zoho: update %s: no call record %s: %w: %w", u.Key, u.ID, crm.ErrNotFound, crm.ErrPermanent))
			continue
		case u.OnlyOpen && !open:
			w.recordErrs++
			w.fail(i, fmt.Errorf("zoho: update %s: %w", u.Key, crm.ErrClosed))
			continue
		}
		rec := map[string]any{"id": u.ID}
		if r := u.Regarding; r != nil {
			if r.Entity == crm.Contact {
				rec[fWhoID] = map[string]any{"id": r.ID}
			} else {
				rec[fWhatID] = map[string]any{"id": r.ID}
				rec[fSeModule] = moduleOf(r.Entity)
			}
		}
		if u.Description != "" {
			rec[fDescription] = replaceHead(row.desc, u.Description)
		}
		recs = append(recs, rec)
		todo = append(todo, i)
	}
	c.sendUpdates(ctx, w, ups, callsModule, todo, recs)

	recs, todo = nil, nil
	for _, i := range custom {
		u := ups[i]
		rec := map[string]any{"id": u.ID}
		if r := u.Regarding; r != nil {
			for _, ref := range append([]crm.Ref{*r}, u.Related...) {
				f := cfRelatesTo + moduleOf(ref.Entity)
				if _, ok := rec[f]; !ok && ref.ID != "" {
					rec[f] = map[string]any{"id": ref.ID}
				}
			}
		}
		recs = append(recs, rec)
		todo = append(todo, i)
	}
	c.sendUpdates(ctx, w, ups, c.module, todo, recs)

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("zoho: update activities: %w", err)
	}
	if w.reqErr != nil && w.written == 0 && w.recordErrs == 0 {
		return nil, fmt.Errorf("zoho: update activities: %w", w.reqErr)
	}
	return w.results, nil
}

// sendUpdates PUTs recs (one per item of todo) to module, 100 per request.
func (c *Client) sendUpdates(ctx context.Context, w *writeRun, ups []crm.ActivityUpdate, module string, todo []int, recs []map[string]any) {
	body := func(start int, chunk []int) any {
		return map[string]any{"data": recs[start : start+len(chunk)], "trigger": []string{}}
	}
	c.sendChunks(ctx, w, http.MethodPut, "/"+module, todo, body, func(i int, r recordResult) {
		if r.Status == "success" {
			w.done(i, crm.Updated, ups[i].ID)
			return
		}
		w.recordErrs++
		err := r.err()
		if r.Code == "INVALID_DATA" && r.apiName() == "id" {
			err = fmt.Errorf("%w: %w: %w", crm.ErrNotFound, crm.ErrPermanent, err)
		}
		w.fail(i, fmt.Errorf("zoho: update %s %s: %w", module, ups[i].ID, err))
	})
}

// replaceHead puts head in front of the callsync lines of a stored
// Description (everything after its last blank line), cut to the field's size.
func replaceHead(stored, head string) string {
	tail := stored
	if i := strings.LastIndex(stored, descriptionSeparator); i >= 0 {
		tail = stored[i+len(descriptionSeparator):]
	}
	if room := maxDescriptionLen - len(tail) - len(descriptionSeparator); len(head) > room {
		head = truncateBytes(head, room)
	}
	return head + descriptionSeparator + tail
}
