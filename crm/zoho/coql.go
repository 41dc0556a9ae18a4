package zoho

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// COQL (https://www.zoho.com/crm/developer/docs/api/v8/COQL-Limitations.html): POST /coql with
// {"select_query": ...}; 204 = no rows; in ≤ 100 values; WHERE ≤ 25 criteria,
// more than two grouped in pairs ((A or B) or C); LIMIT ≤ 2000 with OFFSET.

// literal quotes v for COQL. Only values made of characters that phone numbers
// and ids use are accepted: COQL's escaping of quotes is undocumented
// (not in Zoho's COQL documentation), so callsync never needs it.
func literal(v string) (string, bool) {
	if v == "" || len(v) > 255 {
		return "", false
	}
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case strings.ContainsRune("+-() ./#*_:@", r):
		default:
			return "", false
		}
	}
	return "'" + v + "'", true
}

// criterion is one WHERE condition, already rendered.
type criterion string

// inCriteria renders field in (...) conditions of at most coqlInValues
// literals each.
func inCriteria(field string, lits []string) []criterion {
	var out []criterion
	for len(lits) > 0 {
		n := min(len(lits), coqlInValues)
		out = append(out, criterion(field+" in ("+strings.Join(lits[:n], ",")+")"))
		lits = lits[n:]
	}
	return out
}

// group joins criteria with op, nested in pairs as COQL requires:
// ((A or B) or C).
func group(op string, cs []criterion) criterion {
	switch len(cs) {
	case 0:
		return ""
	case 1:
		return cs[0]
	}
	// Written once into a buffer of its length: wrapping the string so
	// far at each criterion copied it once per criterion (23 in-lists of
	// 100 numbers in an existing-call query).
	n := len(cs) - 1 + len(cs[0])
	for _, c := range cs[1:] {
		n += len(op) + len(c) + 3
	}
	var b strings.Builder
	b.Grow(n)
	for range len(cs) - 1 {
		b.WriteByte('(')
	}
	b.WriteString(string(cs[0]))
	for _, c := range cs[1:] {
		b.WriteByte(' ')
		b.WriteString(op)
		b.WriteByte(' ')
		b.WriteString(string(c))
		b.WriteByte(')')
	}
	return criterion(b.String())
}

// coqlRow is one row of a COQL answer.
type coqlRow map[string]json.RawMessage

// coql runs select fields from module where where, paging with LIMIT/OFFSET
// until more_records is false. limitHint sizes the pages (credits: 1 up to
// 200 rows, 2 up to 1000, 3 up to 2000).
func (c *Client) coql(ctx context.Context, fields []string, module string, where criterion, limitHint int, fn func(coqlRow)) error {
	limit := 200
	switch {
	case limitHint > 1000:
		limit = coqlMaxLimit
	case limitHint > 200:
		limit = 1000
	}
	sel := strings.Join(dedupe(fields), ", ")
	for offset := 0; ; offset += limit {
		if offset >= coqlMaxOffset {
			return fmt.Errorf("zoho: coql on %s: more than %d rows", module, coqlMaxOffset)
		}
		q := fmt.Sprintf("select %s from %s where %s limit %d offset %d", sel, module, where, limit, offset)
		resp, err := c.do(ctx, http.MethodPost, "/coql", nil, map[string]string{"select_query": q})
		if err != nil {
			return fmt.Errorf("zoho: coql on %s: %w", module, err)
		}
		if resp.status == http.StatusNoContent || len(resp.body) == 0 {
			return nil
		}
		var out struct {
			Data []coqlRow `json:"data"`
			Info struct {
				Count       int  `json:"count"`
				MoreRecords bool `json:"more_records"`
			} `json:"info"`
		}
		if err := json.Unmarshal(resp.body, &out); err != nil {
			return fmt.Errorf("zoho: coql on %s: decode: %w", module, err)
		}
		for _, r := range out.Data {
			fn(r)
		}
		if !out.Info.MoreRecords || len(out.Data) == 0 {
			return nil
		}
	}
}

func dedupe(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// coqlQuery is one query of coqlAll.
type coqlQuery struct {
	where criterion
	hint  int // limitHint
}

// coqlConcurrency is how many queries of one coqlAll are in flight at once:
// a lookup or an existing-activity check of many numbers takes several COQL
// queries (each holds at most 25 criteria,
// https://www.zoho.com/crm/developer/docs/api/v8/COQL-Overview.html), and
// asking them one after the other made a backfill wait a round trip per
// query. The client's adaptive limit still bounds the org's requests.
const coqlConcurrency = 4

// coqlAll runs the queries (each paged as coql does) up to coqlConcurrency
// at once and returns each query's rows, in query order. The error is the
// first in query order, passing over the queries it cancelled after one
// failed.
func (c *Client) coqlAll(ctx context.Context, fields []string, module string, qs []coqlQuery) ([][]coqlRow, error) {
	rows := make([][]coqlRow, len(qs))
	errs := make([]error, len(qs))
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	slots := make(chan struct{}, coqlConcurrency)
	for i, q := range qs {
		slots <- struct{}{}
		if qctx.Err() != nil {
			<-slots
			errs[i] = qctx.Err()
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			errs[i] = c.coql(qctx, fields, module, q.where, q.hint, func(row coqlRow) { rows[i] = append(rows[i], row) })
			if errs[i] != nil {
				cancel() // the caller fails: the queries after it are not needed
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && (ctx.Err() != nil || !errors.Is(err, context.Canceled)) {
			return nil, err
		}
	}
	return rows, nil
}
