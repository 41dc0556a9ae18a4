package zohotest

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// The double answers COQL queries and duplicate checks from a value index
// per field, so its cost per request does not grow with the org (a full scan
// per request made a 100,000-call backfill quadratic in the double, which
// the benchmark then counted against callsync). The index only narrows:
// every candidate is still tested with the query's own predicate.

// valueIndex maps a field's values, lower case, to the records holding them.
type valueIndex struct {
	gen int // module.gen it was built at
	n   int // records of module.order indexed so far
	ids map[string][]string
}

// indexKey is how a stored value is compared by COQL =/in (the predicate
// compiled in coql.go): text and a lookup's id ignoring case, a datetime by
// its second.
func indexKey(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return strings.ToLower(v), true
	case ref:
		return strings.ToLower(v.ID), true
	case time.Time:
		return timeKey(v), true
	}
	return "", false
}

func timeKey(t time.Time) string { return "\x00" + strconv.FormatInt(t.Unix(), 10) }

// appendRecord adds a new record id at the end of the module's order.
func (m *module) appendRecord(id string) {
	if m.pos == nil {
		m.pos = map[string]int{}
	}
	m.pos[id] = len(m.order)
	m.order = append(m.order, id)
}

// changed invalidates the indexes after a record was updated or deleted
// (new records are indexed as they come).
func (m *module) changed() {
	m.gen++
	clear(m.pos)
	if m.pos == nil {
		m.pos = map[string]int{}
	}
	for i, id := range m.order {
		m.pos[id] = i
	}
}

// withValue returns the ids of the records whose field holds one of values
// (keys as indexKey makes them), in the module's order.
func (m *module) withValue(field string, values []string) []string {
	ix := m.index[field]
	if ix == nil || ix.gen != m.gen {
		ix = &valueIndex{gen: m.gen, ids: map[string][]string{}}
		if m.index == nil {
			m.index = map[string]*valueIndex{}
		}
		m.index[field] = ix
	}
	for ; ix.n < len(m.order); ix.n++ {
		id := m.order[ix.n]
		if k, ok := indexKey(m.records[id][field]); ok {
			ix.ids[k] = append(ix.ids[k], id)
		}
	}
	var out []string
	for _, v := range values {
		out = append(out, ix.ids[v]...)
	}
	return m.inOrder(out)
}

// inOrder sorts ids by the module's order and drops repeats.
func (m *module) inOrder(ids []string) []string {
	slices.SortFunc(ids, func(a, b string) int { return m.pos[a] - m.pos[b] })
	return slices.Compact(ids)
}

// candidates narrows a COQL condition to the records that can match it:
// ok is false when the condition cannot be narrowed (every record is a
// candidate). = and in (not negated) on text-like and datetime fields use
// the value index; and
// takes the narrower side, or the union of both sides.
func (m *module) candidates(e expr, parseTime func(string) (time.Time, bool)) (ids []string, ok bool) {
	switch e := e.(type) {
	case *cond:
		if e.not || (e.op != "=" && e.op != "in") || e.field == "id" {
			return nil, false
		}
		f := m.field(e.field)
		if f == nil {
			return nil, false
		}
		values := make([]string, len(e.values))
		for i, v := range e.values {
			switch f.Type {
			case Text, Phone, Email, Website, Picklist:
				values[i] = strings.ToLower(v.text)
			case DateTime:
				t, ok := parseTime(v.text)
				if !ok {
					return nil, false
				}
				values[i] = timeKey(t)
			default:
				return nil, false
			}
		}
		return m.withValue(e.field, values), true
	case *binary:
		l, lok := m.candidates(e.l, parseTime)
		r, rok := m.candidates(e.r, parseTime)
		switch {
		case e.op == "and" && lok && (!rok || len(l) <= len(r)):
			return l, true
		case e.op == "and" && rok:
			return r, true
		case e.op == "or" && lok && rok:
			return m.inOrder(append(l, r...)), true
		}
	}
	return nil, false
}
