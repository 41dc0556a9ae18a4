package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/callsync/callsync/crm"
)

// lookupQuery is one NumberQuery prepared for SOSL.
type lookupQuery struct {
	nq crm.NumberQuery
	// digits are the digit strings of Number and Forms (exact matching);
	// for a suffix query, the suffix digits.
	digits []string
	terms  []string // escaped SOSL terms
	size   int      // characters the terms take inside FIND {...}
}

// Lookup finds candidate Contacts, Accounts and Leads for each number with
// SOSL phone search: many numbers per search (OR terms, the search text kept
// under 4,000 characters) and several searches per /composite/batch request.
// Hits are attributed to the queried numbers by comparing digits (Salesforce
// phone search ignores formatting), and returned unverified with their raw
// phone values.
func (c *Client) Lookup(ctx context.Context, req crm.LookupRequest) (crm.LookupResult, error) {
	for e, fs := range req.Fields {
		if _, ok := sobjects[e]; !ok {
			return nil, fmt.Errorf("salesforce: lookup: fields for unknown entity %q", e)
		}
		for _, f := range fs {
			if !fieldName.MatchString(f) {
				return nil, fmt.Errorf("salesforce: lookup: %q is not a field name", f)
			}
		}
	}
	var qs []lookupQuery
	for _, nq := range req.Numbers {
		if nq.Number == "" {
			continue
		}
		if q, ok := prepare(nq); ok {
			qs = append(qs, q)
		}
	}
	var result crm.LookupResult
	err := c.withSchema(ctx, func(a adaptation) error {
		var err error
		result, err = c.lookup(ctx, a, qs, req.Fields)
		return err
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// lookup runs the searches of prepared queries with the phone fields and
// extra fields the user can see (a hidden extra field reads as "").
func (c *Client) lookup(ctx context.Context, a adaptation, qs []lookupQuery, fields map[crm.Entity][]string) (crm.LookupResult, error) {
	extra := map[crm.Entity][]string{}
	for e, fs := range fields {
		for _, f := range fs {
			if a.visible(sobjects[e].name, f) {
				extra[e] = append(extra[e], f)
			}
		}
	}
	returning := c.returning(a, extra)
	if returning == "" {
		return nil, errNoPhoneField
	}
	result := crm.LookupResult{}
	seen := map[string]map[crm.Ref]bool{}

	pending := chunkQueries(qs)
	for len(pending) > 0 {
		paths := make([]string, len(pending))
		for i, ch := range pending {
			paths[i] = "/search?q=" + url.QueryEscape(sosl(ch, returning))
		}
		answers, err := c.getAll(ctx, paths)
		if err != nil {
			return nil, fmt.Errorf("salesforce: lookup: %w", err)
		}
		var again [][]lookupQuery
		for i, raw := range answers {
			var ans struct {
				SearchRecords []map[string]any `json:"searchRecords"`
			}
			if err := json.Unmarshal(raw, &ans); err != nil {
				return nil, fmt.Errorf("salesforce: lookup: decode search answer: %w", err)
			}
			ch := pending[i]
			if len(ans.SearchRecords) >= soslMaxRecords && len(ch) > 1 {
				// Capped: some hits may be missing. Search halves again.
				again = append(again, ch[:len(ch)/2], ch[len(ch)/2:])
				continue
			}
			if len(ans.SearchRecords) >= soslMaxRecords {
				c.log.Warn("salesforce: lookup hit the SOSL record cap; candidates may be missing", "number", ch[0].nq.Number)
			}
			for _, rec := range ans.SearchRecords {
				c.attribute(rec, ch, a, fields, result, seen)
			}
		}
		pending = again
	}
	rank := map[crm.Entity]int{}
	for i, e := range crm.Entities {
		rank[e] = i
	}
	for n := range result {
		slices.SortStableFunc(result[n], func(a, b crm.Record) int { return rank[a.Entity] - rank[b.Entity] })
	}
	return result, nil
}

// prepare derives the search terms of one number.
func prepare(nq crm.NumberQuery) (lookupQuery, bool) {
	q := lookupQuery{nq: nq}
	add := func(s string) {
		d := digitsOf(s)
		if len(d) < minTermLength || slices.Contains(q.digits, d) {
			return
		}
		q.digits = append(q.digits, d)
	}
	if nq.Suffix != "" {
		add(nq.Suffix)
	} else {
		add(nq.Number)
		for _, f := range nq.Forms {
			add(f)
		}
	}
	if len(q.digits) == 0 {
		return q, false
	}
	for _, d := range q.digits {
		t := escapeSOSL(d)
		q.terms = append(q.terms, t)
		q.size += len(t) + len(" OR ")
	}
	return q, true
}

// chunkQueries packs queries into searches whose FIND text stays under
// maxSearchQuery and that hold at most maxNumbersPerSearch numbers.
func chunkQueries(qs []lookupQuery) [][]lookupQuery {
	var out [][]lookupQuery
	var cur []lookupQuery
	size := 0
	for _, q := range qs {
		if len(cur) > 0 && (len(cur) >= maxNumbersPerSearch || size+q.size > maxSearchQuery) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, q)
		size += q.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// returning builds the RETURNING clause [Finding a caller by phone] over the
// entities with a visible phone field ("" when none has one).
func (c *Client) returning(a adaptation, extra map[crm.Entity][]string) string {
	parts := make([]string, 0, len(crm.Entities))
	for _, e := range crm.Entities {
		if len(a.phones[e]) == 0 {
			continue
		}
		o := sobjects[e]
		fields := []string{"Id", "Name", "OwnerId"}
		if o.parent != "" {
			fields = append(fields, o.parent)
		}
		for _, f := range append(slices.Clone(a.phones[e]), extra[e]...) {
			if !slices.ContainsFunc(fields, func(x string) bool { return strings.EqualFold(x, f) }) {
				fields = append(fields, f)
			}
		}
		parts = append(parts, o.name+"("+strings.Join(fields, ",")+")")
	}
	return strings.Join(parts, ",")
}

// sosl returns the search for a chunk of numbers.
func sosl(ch []lookupQuery, returning string) string {
	var terms []string
	for _, q := range ch {
		for _, t := range q.terms {
			if !slices.Contains(terms, t) {
				terms = append(terms, t)
			}
		}
	}
	return "FIND {" + strings.Join(terms, " OR ") + "} IN PHONE FIELDS RETURNING " + returning
}

// attribute adds a search record to the numbers of its chunk it belongs to.
func (c *Client) attribute(rec map[string]any, ch []lookupQuery, a adaptation, extra map[crm.Entity][]string,
	result crm.LookupResult, seen map[string]map[crm.Ref]bool) {
	attrs, _ := rec["attributes"].(map[string]any)
	e, ok := entityOf(str(attrs, "type"))
	if !ok {
		return
	}
	r := crm.Record{
		Ref:     crm.Ref{Entity: e, ID: str(rec, "Id")},
		Name:    str(rec, "Name"),
		OwnerID: str(rec, "OwnerId"),
		Phones:  map[string]string{},
	}
	if p := sobjects[e].parent; p != "" {
		r.ParentAccountID = str(rec, p)
	}
	for _, f := range a.phones[e] {
		if v := str(rec, f); v != "" {
			r.Phones[f] = v
		}
	}
	if fs := extra[e]; len(fs) > 0 {
		r.Fields = make(map[string]string, len(fs))
		for _, f := range fs {
			r.Fields[f] = str(rec, f)
		}
	}
	if r.ID == "" || len(r.Phones) == 0 {
		return
	}
	var stored []string
	for _, v := range r.Phones {
		if d := digitsOf(v); d != "" {
			stored = append(stored, d)
		}
	}
	matched := false
	for _, q := range ch {
		if q.matches(stored, false) {
			add(result, seen, q.nq.Number, r)
			matched = true
		}
	}
	if matched {
		return
	}
	for _, q := range ch {
		if q.nq.Suffix == "" && q.matches(stored, true) {
			add(result, seen, q.nq.Number, r)
			matched = true
		}
	}
	if !matched {
		c.log.Debug("salesforce: search hit matches no queried number", "record", r.Ref.String())
	}
}

// matches compares stored phone digits with the query: exact digits (or,
// for a suffix query, digits ending with the suffix); fuzzy also accepts a
// suffix relation over at least fuzzyMinDigits digits.
func (q lookupQuery) matches(stored []string, fuzzy bool) bool {
	for _, s := range stored {
		for _, d := range q.digits {
			switch {
			case q.nq.Suffix != "":
				if strings.HasSuffix(s, d) {
					return true
				}
			case !fuzzy:
				if s == d {
					return true
				}
			default:
				if min(len(s), len(d)) >= fuzzyMinDigits && (strings.HasSuffix(s, d) || strings.HasSuffix(d, s)) {
					return true
				}
			}
		}
	}
	return false
}

func add(result crm.LookupResult, seen map[string]map[crm.Ref]bool, number string, r crm.Record) {
	if seen[number] == nil {
		seen[number] = map[crm.Ref]bool{}
	}
	if seen[number][r.Ref] {
		return
	}
	seen[number][r.Ref] = true
	result[number] = append(result[number], r)
}

// escapeSOSL escapes the reserved characters of a FIND {...} term.
func escapeSOSL(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(soslReserved, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
