package zoho

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/callsync/callsync/crm"
)

// Lookup finds the candidate records of each number with COQL: per search
// module, one query compares every phone field with up to 25 `in` lists of
// 100 forms each (exact strings; no index lag, unlike the search API), or,
// for suffix queries, `like '%<suffix>'`. Forms are sent as given and, when
// number_cleanup_regexp is set, also with its matches removed. Hits are
// mapped back to the numbers whose forms equal a stored phone value; the
// engine verifies them.
func (c *Client) Lookup(ctx context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	res := crm.LookupResult{}
	byValue := map[string][]string{} // searched form → numbers
	var values []string
	var suffixes []suffixQ
	for _, q := range req.Numbers {
		if q.Number == "" {
			continue
		}
		if q.Suffix != "" {
			if lit, ok := literal(q.Suffix); ok && !strings.ContainsAny(q.Suffix, "_") {
				suffixes = append(suffixes, suffixQ{q.Number, q.Suffix, "'%" + lit[1:]})
			}
			continue
		}
		for _, f := range c.forms(q) {
			if _, ok := literal(f); !ok {
				continue
			}
			nums := byValue[f]
			if len(nums) == 0 {
				values = append(values, f)
			}
			if !contains(nums, q.Number) {
				byValue[f] = append(nums, q.Number)
			}
		}
	}
	sort.Strings(values)
	if len(values) == 0 && len(suffixes) == 0 {
		return res, nil
	}

	for _, m0 := range c.search {
		for _, f := range req.Fields[m0.Entity] {
			if !apiName.MatchString(f) {
				return nil, fmt.Errorf("zoho: lookup: field %q is not an API name", f)
			}
		}
	}
	// The modules are searched at once (each module's queries through
	// coqlAll) and their hits merged in module order, so res is the one
	// searching them one by one gives; the error is the first in module
	// order, passing over the searches it cancelled after one failed.
	found := make([]crm.LookupResult, len(c.search))
	errs := make([]error, len(c.search))
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i, m0 := range c.search {
		found[i] = crm.LookupResult{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = c.lookupSearchModule(mctx, m0, req.Fields[m0.Entity], values, byValue, suffixes, found[i]); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && (ctx.Err() != nil || !errors.Is(err, context.Canceled)) {
			return nil, fmt.Errorf("zoho: lookup: %w", err)
		}
	}
	for _, part := range found {
		for n, recs := range part {
			for _, r := range recs {
				if !slices.ContainsFunc(res[n], func(x crm.Record) bool { return x.Ref == r.Ref }) {
					res[n] = append(res[n], r)
				}
			}
		}
	}
	return res, nil
}

// lookupSearchModule searches one module (lookupModule) with the phone
// fields the integration user can see. A field Zoho names unknown (deleted or
// hidden since the metadata was read) makes the module's metadata be read
// again and the module searched once more without it.
func (c *Client) lookupSearchModule(ctx context.Context, m0 searchModule, extra, values []string, byValue map[string][]string, suffixes []suffixQ, res crm.LookupResult) error {
	for attempt := 0; ; attempt++ {
		m, fields, ok, err := c.searchFields(ctx, m0, extra)
		if err != nil || !ok {
			return err
		}
		err = c.lookupModule(ctx, m, fields, extra, values, byValue, suffixes, res)
		if err == nil {
			return nil
		}
		if unknownField(err) != "" && attempt == 0 && ctx.Err() == nil {
			c.forgetSchema(m.Name)
			continue
		}
		return err
	}
}

// forms returns the strings searched for q: its number and forms, each also
// with number_cleanup_regexp's matches removed (RegexpToRemoveFromCallerNumbers).
func (c *Client) forms(q crm.NumberQuery) []string {
	in := append([]string{q.Number}, q.Forms...)
	var out []string
	for _, f := range in {
		f = strings.TrimSpace(f)
		out = append(out, f)
		if c.cleanup != nil {
			out = append(out, strings.TrimSpace(c.cleanup.ReplaceAllString(f, "")))
		}
	}
	return dedupe(out)
}

func toRecord(m searchModule, row coqlRow, extra []string) crm.Record {
	rec := crm.Record{
		Ref:     crm.Ref{Entity: m.Entity, ID: rowString(row["id"])},
		Name:    rowString(row[m.NameField]),
		OwnerID: rowID(row[fOwner]),
		Phones:  map[string]string{},
	}
	if m.ParentField != "" {
		rec.ParentAccountID = rowID(row[m.ParentField])
	}
	for _, f := range m.PhoneFields {
		if v := rowString(row[f]); v != "" {
			rec.Phones[f] = v
		}
	}
	if len(extra) > 0 {
		rec.Fields = map[string]string{}
		for _, f := range extra {
			rec.Fields[f] = rowString(row[f])
		}
	}
	return rec
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// suffixQ is one suffix search: the number, its suffix and the COQL
// literal of the like pattern.
type suffixQ struct{ number, suffix, lit string }

// searchFields returns m with only the phone fields the integration user
// can see, and the fields to select; ok is false when no phone field is left
// (the module is skipped; Doctor reports it).
func (c *Client) searchFields(ctx context.Context, m searchModule, extra []string) (searchModule, []string, bool, error) {
	phones, drop, err := c.visibleFields(ctx, m.Name, m.PhoneFields)
	if err != nil {
		return m, nil, false, err
	}
	c.noteDropped(m.Name, drop, "phone lookups")
	if len(phones) == 0 {
		return m, nil, false, nil
	}
	m.PhoneFields = phones
	base := []string{"id", m.NameField, fOwner}
	if m.ParentField != "" {
		base = append(base, m.ParentField)
	}
	more, _, err := c.visibleFields(ctx, m.Name, dedupe(append(base[1:], extra...)))
	if err != nil {
		return m, nil, false, err
	}
	fields := append([]string{"id"}, phones...)
	fields = append(fields, more...)
	return m, dedupe(fields), true, nil
}

// lookupModule searches one module for the exact forms (values) and the
// suffix queries and adds the hits to res. The queries run concurrently
// (coqlAll); their rows are added in query order, so res is the same as
// asking them one by one.
func (c *Client) lookupModule(ctx context.Context, m searchModule, fields, extra []string, values []string, byValue map[string][]string, suffixes []suffixQ, res crm.LookupResult) error {
	add := func(number string, rec crm.Record) {
		for _, r := range res[number] {
			if r.Ref == rec.Ref {
				return
			}
		}
		res[number] = append(res[number], rec)
	}
	type query struct {
		where criterion
		hint  int
		row   func(coqlRow)
	}
	var qs []query

	// Exact forms: each criterion is one `in` list on one phone field.
	perQuery := max(1, coqlMaxCriteria/len(m.PhoneFields)) * coqlInValues
	for start := 0; start < len(values); start += perQuery {
		chunk := values[start:min(len(values), start+perQuery)]
		lits := make([]string, len(chunk))
		for i, v := range chunk {
			lits[i], _ = literal(v)
		}
		var cs []criterion
		for _, f := range m.PhoneFields {
			cs = append(cs, inCriteria(f, lits)...)
		}
		qs = append(qs, query{group("or", cs), len(chunk), func(row coqlRow) {
			rec := toRecord(m, row, extra)
			for _, v := range rec.Phones {
				for _, key := range []string{v, strings.TrimSpace(v)} {
					for _, n := range byValue[key] {
						add(n, rec)
					}
				}
			}
		}})
	}

	// Suffix queries: one `like` per phone field and number.
	perQuery = max(1, coqlMaxCriteria/len(m.PhoneFields))
	for start := 0; start < len(suffixes); start += perQuery {
		chunk := suffixes[start:min(len(suffixes), start+perQuery)]
		var cs []criterion
		for _, s := range chunk {
			for _, f := range m.PhoneFields {
				cs = append(cs, criterion(f+" like "+s.lit))
			}
		}
		qs = append(qs, query{group("or", cs), len(chunk) * 10, func(row coqlRow) {
			rec := toRecord(m, row, extra)
			for _, v := range rec.Phones {
				for _, s := range chunk {
					if strings.HasSuffix(strings.TrimSpace(v), s.suffix) {
						add(s.number, rec)
					}
				}
			}
		}})
	}

	qs2 := make([]coqlQuery, len(qs))
	for i, q := range qs {
		qs2[i] = coqlQuery{q.where, q.hint}
	}
	rows, err := c.coqlAll(ctx, fields, m.Name, qs2)
	if err != nil {
		return err
	}
	for i, q := range qs {
		for _, row := range rows[i] {
			q.row(row)
		}
	}
	return nil
}
