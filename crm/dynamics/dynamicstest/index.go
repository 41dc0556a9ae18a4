package dynamicstest

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

// The double answers a $filter from value indexes where it can, so a query
// costs its own rows rather than the table's: a scan of every phonecall per
// query made a 100,000-call backfill quadratic in the double, which the
// benchmark then counted against callsync. Indexed are eq and
// Microsoft.Dynamics.CRM.In on string and GUID columns, and a range (ge/gt
// with le/lt, or eq) on a date column. The index only narrows: every
// candidate is still tested with the whole filter, and rows come in the
// scan's order (creation).

// ref is a row in an index: its creation position (pos) and id.
type ref struct {
	pos int64
	id  string
}

// colIndex maps a column's string values as compared (sqlNorm) to the rows
// holding them, in the order they were written (candidates sorts them by
// creation). Rows whose value is not a string are not in it: a string
// comparison sees them as "" (colValue), so a lookup of "" is not answered
// from the index.
type colIndex map[string][]ref

// dateIndex maps the hour (Unix seconds / 3600, rounded down) of a date
// column's values to the rows holding a value in it. A value that is not a
// time.Time but not null either compares as the zero time (colValue) and is
// kept under the zero time's hour.
type dateIndex map[int64][]ref

// dateHour is the hour a date index keeps value v under, or false for a
// value no comparison matches (null, or a type colValue reads as null).
func dateHour(v any) (int64, bool) {
	var d time.Time
	switch x := v.(type) {
	case time.Time:
		d = x
	case string, bool, int:
	default:
		return 0, false
	}
	return floorDiv(d.Unix(), 3600), true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// indexFor returns the index of string or GUID column col, built from the
// rows on first use and kept up to date by indexRow and unindexRow after
// that.
func (t *table) indexFor(col string) colIndex {
	if ix, ok := t.index[col]; ok {
		return ix
	}
	ix := colIndex{}
	for _, id := range t.order {
		if v, ok := t.rows[id][col].(string); ok {
			k := sqlNorm(v)
			ix[k] = append(ix[k], ref{t.meta[id].pos, id})
		}
	}
	t.index[col] = ix
	return ix
}

// datesFor is indexFor for date column col.
func (t *table) datesFor(col string) dateIndex {
	if ix, ok := t.dates[col]; ok {
		return ix
	}
	ix := dateIndex{}
	for _, id := range t.order {
		if h, ok := dateHour(t.rows[id][col]); ok {
			ix[h] = append(ix[h], ref{t.meta[id].pos, id})
		}
	}
	t.dates[col] = ix
	return ix
}

// dropIndex forgets the indexes of col (its values changed outside a row
// write: a column added again or dropped).
func (t *table) dropIndex(col string) {
	delete(t.index, col)
	delete(t.dates, col)
}

// indexRow adds row id (its position already set), as r holds it, to the
// built indexes.
func (t *table) indexRow(id string, r row) {
	x := ref{t.meta[id].pos, id}
	for col, ix := range t.index {
		if v, ok := r[col].(string); ok {
			k := sqlNorm(v)
			ix[k] = append(ix[k], x)
		}
	}
	for col, ix := range t.dates {
		if h, ok := dateHour(r[col]); ok {
			ix[h] = append(ix[h], x)
		}
	}
}

// unindexRow takes row id, as r holds it, out of the built indexes.
func (t *table) unindexRow(id string, r row) {
	for col, ix := range t.index {
		if v, ok := r[col].(string); ok {
			k := sqlNorm(v)
			if b := without(ix[k], id); len(b) == 0 {
				delete(ix, k)
			} else {
				ix[k] = b
			}
		}
	}
	for col, ix := range t.dates {
		if h, ok := dateHour(r[col]); ok {
			if b := without(ix[h], id); len(b) == 0 {
				delete(ix, h)
			} else {
				ix[h] = b
			}
		}
	}
}

// reindexCols moves row id, as r holds it, in the built indexes of the
// columns of set whose index key set changes (a column absent from set
// keeps its value).
func (t *table) reindexCols(id string, r, set row) {
	x := ref{t.meta[id].pos, id}
	for col, nv := range set {
		ov := r[col]
		if ix, built := t.index[col]; built {
			os, oldIn := ov.(string)
			ns, newIn := nv.(string)
			ok, nk := sqlNorm(os), sqlNorm(ns)
			if oldIn != newIn || ok != nk {
				if oldIn {
					if b := without(ix[ok], id); len(b) == 0 {
						delete(ix, ok)
					} else {
						ix[ok] = b
					}
				}
				if newIn {
					ix[nk] = append(ix[nk], x)
				}
			}
		}
		if ix, built := t.dates[col]; built {
			oh, oldIn := dateHour(ov)
			nh, newIn := dateHour(nv)
			if oldIn != newIn || oh != nh {
				if oldIn {
					if b := without(ix[oh], id); len(b) == 0 {
						delete(ix, oh)
					} else {
						ix[oh] = b
					}
				}
				if newIn {
					ix[nh] = append(ix[nh], x)
				}
			}
		}
	}
}

func without(b []ref, id string) []ref {
	if i := slices.IndexFunc(b, func(x ref) bool { return x.id == id }); i >= 0 {
		return slices.Delete(b, i, i+1)
	}
	return b
}

// plan is a way to find the candidates of a filter: how many rows it
// yields (an upper bound, repeats counted) and how to get them.
type plan struct {
	size  int
	fetch func() []ref
}

// lookup plans the cheapest index answer to filter e: every row e can be
// true for (possibly more, possibly repeated, in no order), or false when
// e cannot be answered from the indexes.
func (t *table) lookup(e expr) (plan, bool) {
	switch x := e.(type) {
	case inExpr:
		if (x.t != tString && x.t != tGUID) || x.set[""] {
			return plan{}, false
		}
		ix := t.indexFor(x.col)
		n := 0
		for k := range x.set {
			n += len(ix[k])
		}
		return plan{n, func() []ref {
			out := make([]ref, 0, n)
			for k := range x.set {
				out = append(out, ix[k]...)
			}
			return out
		}}, true
	case cmpExpr:
		// compare folds case (GUID) or applies sqlNorm (string): a row
		// equal to the literal has the literal's sqlNorm as its key.
		k := sqlNorm(x.lit.s)
		if x.op != "eq" || x.lit.null || (x.t != tString && x.t != tGUID) || k == "" {
			return t.dateRange([]expr{x})
		}
		b := t.indexFor(x.col)[k]
		return plan{len(b), func() []ref { return slices.Clone(b) }}, true
	case andExpr:
		var conj []expr
		flattenAnd(x, &conj)
		best, found := t.dateRange(conj)
		for _, c := range conj {
			if p, ok := t.lookup(c); ok && (!found || p.size < best.size) {
				best, found = p, true
			}
		}
		return best, found
	case orExpr:
		l, lok := t.lookup(x.l)
		if !lok {
			return plan{}, false
		}
		r, rok := t.lookup(x.r)
		if !rok {
			return plan{}, false
		}
		return plan{l.size + r.size, func() []ref { return append(l.fetch(), r.fetch()...) }}, true
	}
	return plan{}, false
}

func flattenAnd(e expr, out *[]expr) {
	if a, ok := e.(andExpr); ok {
		flattenAnd(a.l, out)
		flattenAnd(a.r, out)
		return
	}
	*out = append(*out, e)
}

// dateRange plans the smallest answer from the date indexes to the
// conjunction of conj: the rows whose value of a date column lies in the
// hours between the conjunction's lower and upper bound on it. A column
// with only one bound is not answered.
func (t *table) dateRange(conj []expr) (plan, bool) {
	type bounds struct {
		lo, hi       time.Time
		hasLo, hasHi bool
	}
	var cols []string
	by := map[string]*bounds{}
	for _, c := range conj {
		x, ok := c.(cmpExpr)
		if !ok || x.t != tDate || x.lit.null {
			continue
		}
		op := x.op
		if x.flipped { // "lit op col" is "col op' lit"
			op = map[string]string{"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}[op]
		}
		b := by[x.col]
		if b == nil {
			b = &bounds{}
			by[x.col] = b
			cols = append(cols, x.col)
		}
		d := x.lit.d
		if op == "eq" || op == "ge" || op == "gt" {
			if !b.hasLo || d.After(b.lo) {
				b.lo, b.hasLo = d, true
			}
		}
		if op == "eq" || op == "le" || op == "lt" {
			if !b.hasHi || d.Before(b.hi) {
				b.hi, b.hasHi = d, true
			}
		}
	}
	var best plan
	found := false
	for _, col := range cols {
		b := by[col]
		if !b.hasLo || !b.hasHi {
			continue
		}
		ix := t.datesFor(col)
		lo, hi := floorDiv(b.lo.Unix(), 3600), floorDiv(b.hi.Unix(), 3600)
		var hours []int64
		if hi-lo < int64(len(ix)) {
			for h := lo; h <= hi; h++ {
				if _, ok := ix[h]; ok {
					hours = append(hours, h)
				}
			}
		} else {
			for h := range ix {
				if h >= lo && h <= hi {
					hours = append(hours, h)
				}
			}
		}
		n := 0
		for _, h := range hours {
			n += len(ix[h])
		}
		if !found || n < best.size {
			best, found = plan{n, func() []ref {
				out := make([]ref, 0, n)
				for _, h := range hours {
					out = append(out, ix[h]...)
				}
				return out
			}}, true
		}
	}
	return best, found
}

// candidates returns the ids a query with filter e (nil: none) tests, in
// creation order, from the first one created after position p: the indexed
// rows when e allows, else every row.
func (t *table) candidates(e expr, p int64) []string {
	if e != nil {
		if pl, ok := t.lookup(e); ok {
			refs := pl.fetch()
			slices.SortFunc(refs, func(a, b ref) int { return cmp.Compare(a.pos, b.pos) })
			refs = slices.CompactFunc(refs, func(a, b ref) bool { return a.pos == b.pos })
			i := sort.Search(len(refs), func(j int) bool { return refs[j].pos > p })
			ids := make([]string, 0, len(refs)-i)
			for _, r := range refs[i:] {
				ids = append(ids, r.id)
			}
			return ids
		}
	}
	return t.order[t.after(p):]
}
