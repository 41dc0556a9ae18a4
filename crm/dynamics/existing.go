package dynamics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
)

// keyOf returns the key of the query whose activityid (ActivityID) is id: a
// phonecall carries its callsync key only as the UUIDv5 of it.
func keyOf(id string, qs []crm.ActivityQuery) string {
	for _, q := range qs {
		if q.Key != "" && strings.EqualFold(ActivityID(q.Key), id) {
			return q.Key
		}
	}
	return ""
}

// FindActivities implements crm.Client: phonecalls whose phonenumber is one
// of the queried numbers and whose actualstart lies in the span of the
// queries, many numbers per GET, filtered to each query's own range here.
// ExistingActivity.Key is set for the phonecall written for a query's Key;
// phonecalls of other callsync items are not told apart here (the engine's
// ledger knows their ids).
func (c *Client) FindActivities(ctx context.Context, qs []crm.ActivityQuery) ([]crm.ExistingActivity, error) {
	s := c.activitySearch(qs)
	if len(s.queries) == 0 {
		return nil, nil
	}
	rows, err := c.getAll(ctx, "find", s.queries)
	if err != nil {
		return nil, fmt.Errorf("dynamics: find activities for %d numbers: %w", len(s.queries), err)
	}
	return s.found(rows), nil
}

// activitySearch is FindActivities' GETs of phonecalls and how to read
// their rows.
type activitySearch struct {
	byNumber map[string][]crm.ActivityQuery
	queries  []query
}

// activitySearch builds the GETs of FindActivities for qs (none when no
// query has a number and a range).
func (c *Client) activitySearch(qs []crm.ActivityQuery) activitySearch {
	byNumber := map[string][]crm.ActivityQuery{}
	var numbers []string
	for _, q := range qs {
		if strings.TrimSpace(q.Number) == "" || q.To.Before(q.From) {
			continue
		}
		k := norm(q.Number)
		if _, ok := byNumber[k]; !ok {
			numbers = append(numbers, q.Number)
		}
		byNumber[k] = append(byNumber[k], q)
	}
	if len(numbers) == 0 {
		return activitySearch{}
	}
	sel := []string{"activityid", "phonenumber", "actualstart"}
	prefixLen := len(queryURL(c.api, phoneCallSet, sel, ""))
	const dateClause = " and actualstart ge 2006-01-02T15:04:05Z and actualstart le 2006-01-02T15:04:05Z"
	items := make([][]string, len(numbers))
	for i, n := range numbers {
		items[i] = []string{n}
	}
	var queries []query
	for _, ch := range chunkValues(prefixLen, encodedLen(dateClause), maxBatchURL, []string{"phonenumber"}, items) {
		var from, to time.Time
		for _, i := range ch.items {
			for _, q := range byNumber[norm(numbers[i])] {
				if from.IsZero() || q.From.Before(from) {
					from = q.From
				}
				if to.IsZero() || q.To.After(to) {
					to = q.To
				}
			}
		}
		// Dataverse keeps seconds; widen to whole seconds.
		filter := inFilter("phonenumber", ch.values) +
			" and actualstart ge " + dateLiteral(from.Truncate(time.Second)) +
			" and actualstart le " + dateLiteral(to.Truncate(time.Second).Add(time.Second))
		queries = append(queries, query{url: queryURL(c.api, phoneCallSet, sel, filter)})
	}
	return activitySearch{byNumber: byNumber, queries: queries}
}

// found reads the rows of the search's queries: each phonecall once, kept
// when its actualstart lies in the range of a query of its number.
func (s activitySearch) found(rows [][]row) []crm.ExistingActivity {
	byNumber := s.byNumber
	var out []crm.ExistingActivity
	seen := map[string]bool{}
	for _, rs := range rows {
		for _, r := range rs {
			id, num := r.str("activityid"), r.str("phonenumber")
			start, err := time.Parse(time.RFC3339, r.str("actualstart"))
			if id == "" || err != nil || seen[id] {
				continue
			}
			qs := byNumber[norm(num)]
			for _, q := range qs {
				if !start.Before(q.From.Truncate(time.Second)) && !start.After(q.To) {
					seen[id] = true
					out = append(out, crm.ExistingActivity{ID: id, Number: num, Start: start.UTC(), Key: keyOf(id, qs)})
					break
				}
			}
		}
	}
	return out
}
