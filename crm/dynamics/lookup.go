package dynamics

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/callsync/callsync/crm"
)

// lookupQuery is one GET of the lookup and what its rows may answer.
type lookupQuery struct {
	entity crm.Entity
	// exact maps a normalised stored value to the numbers it answers.
	exact map[string][]string
	// suffixes maps a normalised suffix to the numbers searching for it.
	suffixes map[string][]string
}

// norm is how Dataverse compares strings: case-insensitive, trailing spaces
// ignored by SQL Server's = [assumed].
func norm(s string) string { return strings.ToLower(strings.TrimRight(s, " ")) }

// Lookup implements crm.Client. It queries every configured phone column of
// contacts, accounts and leads with In over the numbers' exact forms (or
// endswith for suffix queries), many numbers per GET, all GETs in as few
// $batch requests as the limits allow, and returns the candidates unverified.
//
// The columns searched are the configured ones the org has and the user can
// read (see searchColumns); the table definitions are read once a day, and
// again at once when Dataverse refuses a column as unknown (then the lookup
// is retried once with what is left).
func (c *Client) Lookup(ctx context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	if len(req.Numbers) == 0 {
		return crm.LookupResult{}, nil
	}
	phones, fields := c.searchColumns(c.schema(ctx, false), req.Fields)
	res, err := c.lookup(ctx, req, phones, fields)
	if isInvalidProperty(err) {
		c.log.Warn("dynamics: the org refused a column; reading its table definitions again", "err", err)
		phones, fields = c.searchColumns(c.schema(ctx, true), req.Fields)
		res, err = c.lookup(ctx, req, phones, fields)
	}
	return res, err
}

// errNoPhoneColumn: phone columns are configured but none of them can be
// searched in this org.
var errNoPhoneColumn = fmt.Errorf("dynamics: lookup: none of the configured phone columns of contact, account and lead exists and is readable in this org (see callsync doctor): %w", crm.ErrPermanent)

func (c *Client) lookup(ctx context.Context, req crm.LookupRequest, phoneFields, extraFields map[crm.Entity][]string) (crm.LookupResult, error) {
	configured, left := false, false
	for _, e := range crm.Entities {
		configured = configured || len(c.phoneFields[e]) > 0
		left = left || len(phoneFields[e]) > 0
	}
	if configured && !left && len(req.Numbers) > 0 {
		return nil, errNoPhoneColumn
	}
	// Exact items: the distinct forms of each number.
	var (
		exactNums  []string
		exactForms [][]string
		suffixNums = map[string][]string{} // suffix -> numbers
		suffixes   []string
	)
	for _, q := range req.Numbers {
		if q.Suffix != "" {
			s := norm(q.Suffix)
			if _, ok := suffixNums[s]; !ok {
				suffixes = append(suffixes, q.Suffix)
			}
			suffixNums[s] = append(suffixNums[s], q.Number)
			continue
		}
		forms := q.Forms
		if len(forms) == 0 {
			forms = []string{q.Number}
		}
		var uniq []string
		for _, f := range forms {
			if strings.TrimSpace(f) != "" && !slices.Contains(uniq, f) {
				uniq = append(uniq, f)
			}
		}
		if len(uniq) == 0 {
			continue
		}
		exactNums = append(exactNums, q.Number)
		exactForms = append(exactForms, uniq)
	}

	var (
		qs    []query
		metas []lookupQuery
	)
	for _, e := range crm.Entities {
		fields := phoneFields[e]
		if len(fields) == 0 {
			continue
		}
		m := entities[e]
		sel := []string{m.idColumn, m.name, ownerColumn}
		if m.parent != "" {
			sel = append(sel, m.parent)
		}
		sel = append(sel, fields...)
		for _, f := range extraFields[e] {
			if !validColumn(f) {
				return nil, fmt.Errorf("dynamics: lookup: field %q of %s is not a column name", f, e)
			}
			if !slices.Contains(sel, f) {
				sel = append(sel, f)
			}
		}
		prefixLen := len(queryURL(c.api, m.set, sel, ""))
		for _, ch := range chunkValues(prefixLen, 0, maxBatchURL, fields, exactForms) {
			lq := lookupQuery{entity: e, exact: map[string][]string{}}
			for _, i := range ch.items {
				for _, f := range exactForms[i] {
					k := norm(f)
					if !slices.Contains(lq.exact[k], exactNums[i]) {
						lq.exact[k] = append(lq.exact[k], exactNums[i])
					}
				}
			}
			qs = append(qs, query{url: queryURL(c.api, m.set, sel, inOverColumns(fields, ch.values))})
			metas = append(metas, lq)
		}
		for _, group := range chunkSuffixes(prefixLen, maxBatchURL, fields, suffixes) {
			lq := lookupQuery{entity: e, suffixes: map[string][]string{}}
			var terms []string
			for _, s := range group {
				lq.suffixes[norm(s)] = suffixNums[norm(s)]
				terms = append(terms, suffixTerms(fields, s)...)
			}
			qs = append(qs, query{url: queryURL(c.api, m.set, sel, orJoin(terms))})
			metas = append(metas, lq)
		}
	}
	if len(qs) == 0 {
		return crm.LookupResult{}, nil
	}
	rows, err := c.getAll(ctx, "lookup", qs)
	if err != nil {
		return nil, fmt.Errorf("dynamics: lookup %d numbers: %w", len(req.Numbers), err)
	}

	// Collect per entity so results come in crm.Entities order.
	res := crm.LookupResult{}
	seen := map[string]bool{} // number|entity|id
	for qi, rs := range rows {
		lq := metas[qi]
		m := entities[lq.entity]
		fields := phoneFields[lq.entity]
		for _, r := range rs {
			id := r.str(m.idColumn)
			if id == "" {
				continue
			}
			var nums []string
			phones := map[string]string{}
			for _, f := range fields {
				if !r.has(f) {
					continue
				}
				v := r.str(f)
				phones[f] = v
				n := norm(v)
				for _, num := range lq.exact[n] {
					if !slices.Contains(nums, num) {
						nums = append(nums, num)
					}
				}
				for s, sn := range lq.suffixes {
					if strings.HasSuffix(n, s) {
						for _, num := range sn {
							if !slices.Contains(nums, num) {
								nums = append(nums, num)
							}
						}
					}
				}
			}
			if len(nums) == 0 {
				continue
			}
			rec := crm.Record{
				Ref:     crm.Ref{Entity: lq.entity, ID: id},
				Name:    r.str(m.name),
				OwnerID: r.str(ownerColumn),
				Phones:  phones,
			}
			if m.parent != "" && r.has(m.parent) {
				// parentcustomerid is a customer lookup (account or
				// contact): report it only when it points at an account.
				if t := r.str(m.parent + lookupLogicalNameSuffix); t == "" || t == "account" {
					rec.ParentAccountID = r.str(m.parent)
				}
			}
			if extra := extraFields[lq.entity]; len(extra) > 0 {
				rec.Fields = make(map[string]string, len(extra))
				for _, f := range extra {
					if r.has(f) {
						rec.Fields[f] = r.str(f)
					}
				}
			}
			for _, num := range nums {
				k := num + "|" + string(lq.entity) + "|" + id
				if seen[k] {
					continue
				}
				seen[k] = true
				res[num] = append(res[num], rec)
			}
		}
	}
	return res, nil
}

// PhoneFields returns the phone columns Lookup searches for an entity.
func (c *Client) PhoneFields(e crm.Entity) []string {
	return append([]string(nil), c.phoneFields[e]...)
}
