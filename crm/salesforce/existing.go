package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/phone"
)

// FindActivities returns call Tasks with a queried number whose start lies
// in the query's range. When the org has the number and start fields
// callsync writes (see DefaultNumberField), it filters on them: one SOQL per
// IN list of numbers over the union of the ranges, several per
// /composite/batch, matched locally. Without them (an org set up with the
// external id field only) it searches by standard Task fields instead (see
// findByStandard). Key is the callsync key the Task's external id carries
// (see taskKey; "" for a Task logged by a person).
func (c *Client) FindActivities(ctx context.Context, qs []crm.ActivityQuery) ([]crm.ExistingActivity, error) {
	if len(qs) == 0 {
		return nil, nil
	}
	var out []crm.ExistingActivity
	err := c.withSchema(ctx, func(ad adaptation) error {
		var err error
		if ad.custom {
			out, err = c.findByCustom(ctx, qs)
		} else {
			out, err = c.findByStandard(ctx, ad, qs)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("salesforce: find activities: %w", err)
	}
	return out, nil
}

// span returns the distinct numbers of qs, in their order, and the union of
// their ranges. The numbers seen are kept in a set: a backfill window's
// queries are a couple of thousand calls, which a scan of the list per
// query made quadratic.
func span(qs []crm.ActivityQuery) (numbers []string, from, to time.Time) {
	from, to = qs[0].From, qs[0].To
	seen := make(map[string]struct{}, len(qs))
	for _, q := range qs {
		if _, dup := seen[q.Number]; q.Number != "" && !dup {
			seen[q.Number] = struct{}{}
			numbers = append(numbers, q.Number)
		}
		if q.From.Before(from) {
			from = q.From
		}
		if q.To.After(to) {
			to = q.To
		}
	}
	return numbers, from, to
}

func soqlDateTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// findByCustom filters on the number and start fields.
func (c *Client) findByCustom(ctx context.Context, qs []crm.ActivityQuery) ([]crm.ExistingActivity, error) {
	numbers, from, to := span(qs)
	if len(numbers) == 0 {
		return nil, nil
	}
	n, s := c.names.number, c.names.start
	where := ""
	if !c.omitSubtype.Load() {
		where = fTaskSubtype + " = " + soqlString(subtypeCall) + " AND "
	}
	head := fmt.Sprintf("SELECT Id,%s,%s,%s FROM %s WHERE %s%s IN ", n, s, c.names.external, taskObject, where, n)
	tail := fmt.Sprintf(" AND %s >= %s AND %s <= %s ORDER BY %s", s, soqlDateTime(from), s,
		soqlDateTime(to.Add(time.Second)), s)
	var soqls []string
	for _, ch := range chunkIN(numbers, len(head)+len(tail)) {
		soqls = append(soqls, head+inList(ch)+tail)
	}
	pages, err := c.queryAll(ctx, soqls)
	if err != nil {
		return nil, err
	}
	var out []crm.ExistingActivity
	seen := map[string]bool{}
	for _, recs := range pages {
		for _, raw := range recs {
			var rec map[string]any
			if err := json.Unmarshal(raw, &rec); err != nil {
				return nil, fmt.Errorf("decode: %w", err)
			}
			start, err := parseDateTime(str(rec, s))
			if err != nil {
				continue
			}
			id, number := str(rec, "Id"), str(rec, n)
			for _, q := range qs {
				if q.Number != number || start.Before(q.From) || start.After(q.To) || seen[id] {
					continue
				}
				seen[id] = true
				out = append(out, crm.ExistingActivity{ID: id, Number: number, Start: start, Key: taskKey(str(rec, c.names.external), qs)})
			}
		}
	}
	return out, nil
}

// fallbackMaxCall bounds how long after its start a call's Task can have
// been created (a Task logged at the end of the call) [assumed: no call
// lasts longer].
const fallbackMaxCall = 4 * time.Hour

// findByStandard finds call Tasks by standard fields only (all filterable:
// WhoId, WhatId, TaskSubtype, CreatedDate; CallDurationInSeconds is read),
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm.
// The queried numbers are looked up (SOSL, as Lookup) to the Contacts,
// Leads and Accounts holding them; their call Tasks created within the
// ranges (plus fallbackMaxCall) are read in one SOQL per IN list,
// "... WHERE TaskSubtype = 'Call' AND CreatedDate >= a AND CreatedDate <= b
// AND (WhoId IN (...) OR WhatId IN (...))", batched. A Task's start is taken
// as CreatedDate minus CallDurationInSeconds (a call logged when it ends, by
// a person or a softphone), and it is reported for each queried number one
// of its records holds.
func (c *Client) findByStandard(ctx context.Context, ad adaptation, qs []crm.ActivityQuery) ([]crm.ExistingActivity, error) {
	numbers, from, to := span(qs)
	var lqs []lookupQuery
	for _, n := range numbers {
		nq := crm.NumberQuery{Number: n}
		if p, ok := phone.Normalize(n, ""); ok {
			nq.Forms = phone.Forms(p)
		}
		if q, ok := prepare(nq); ok {
			lqs = append(lqs, q)
		}
	}
	if len(lqs) == 0 {
		return nil, nil
	}
	found, err := c.lookup(ctx, ad, lqs, nil)
	if err != nil {
		return nil, err
	}
	holders := map[string][]string{} // record id -> numbers it holds
	var ids []string
	for n, recs := range found {
		for _, r := range recs {
			if _, ok := holders[r.ID]; !ok {
				ids = append(ids, r.ID)
			}
			if !slices.Contains(holders[r.ID], n) {
				holders[r.ID] = append(holders[r.ID], n)
			}
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	where := ""
	if !c.omitSubtype.Load() {
		where = fTaskSubtype + " = " + soqlString(subtypeCall) + " AND "
	}
	head := fmt.Sprintf("SELECT Id,%s,%s,CreatedDate,%s,%s FROM %s WHERE %sCreatedDate >= %s AND CreatedDate <= %s AND ",
		fWhoID, fWhatID, fCallDuration, c.names.external, taskObject, where,
		soqlDateTime(from), soqlDateTime(to.Add(fallbackMaxCall+time.Second)))
	var soqls []string
	// The id list appears twice: each chunk gets half the query's room.
	for _, ch := range chunkIN(ids, len(head)+maxSOQLLength/2) {
		l := inList(ch)
		soqls = append(soqls, head+"("+fWhoID+" IN "+l+" OR "+fWhatID+" IN "+l+")")
	}
	pages, err := c.queryAll(ctx, soqls)
	if err != nil {
		return nil, err
	}
	var out []crm.ExistingActivity
	seen := map[[2]string]bool{}
	for _, recs := range pages {
		for _, raw := range recs {
			var rec map[string]any
			if err := json.Unmarshal(raw, &rec); err != nil {
				return nil, fmt.Errorf("decode: %w", err)
			}
			created, err := parseDateTime(str(rec, "CreatedDate"))
			if err != nil {
				continue
			}
			dur, _ := rec[fCallDuration].(float64)
			start := created.Add(-time.Duration(dur) * time.Second)
			id := str(rec, "Id")
			var nums []string
			for _, ref := range []string{str(rec, fWhoID), str(rec, fWhatID)} {
				for _, n := range holders[ref] {
					if !slices.Contains(nums, n) {
						nums = append(nums, n)
					}
				}
			}
			for _, q := range qs {
				k := [2]string{id, q.Number}
				if seen[k] || !slices.Contains(nums, q.Number) || start.Before(q.From) || start.After(q.To) {
					continue
				}
				seen[k] = true
				out = append(out, crm.ExistingActivity{ID: id, Number: q.Number, Start: start, Key: taskKey(str(rec, c.names.external), qs)})
			}
		}
	}
	return out, nil
}

// taskKey is the callsync key a Task's external id field carries: the key
// itself, or for a long key its hash (ExternalID), matched back to the
// query's key when it is one of them. Any other value (a Task someone made
// with their own external id, or none) is not a callsync key.
func taskKey(ext string, qs []crm.ActivityQuery) string {
	if ext == "" {
		return ""
	}
	for _, q := range qs {
		if q.Key != "" && strings.EqualFold(ExternalID(q.Key), ext) {
			return q.Key
		}
	}
	if _, _, _, ok := crm.ParseKey(ext); ok || strings.HasPrefix(ext, "sha256:") {
		return ext
	}
	return ""
}

// parseDateTime reads Salesforce's "2026-01-02T10:00:00.000+0000" (and RFC 3339).
func parseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a dateTime: %q", s)
}
