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

// valueIndex returns the field's index, brought up to date.
func (m *module) valueIndex(field string) *valueIndex {
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
	return ix
}

// withValue returns the ids of the records whose field holds one of values
// (keys as indexKey makes them), in the module's order.
func (m *module) withValue(field string, values []string) []string {
	ix := m.valueIndex(field)
	var out []string
	for _, v := range values {
		out = append(out, ix.ids[v]...)
	}
	return m.inOrder(out)
}

// inOrder sorts ids by the module's order and drops repeats.
func (m *module) inOrder(ids []string) []string {
	type entry struct {
		pos int
		id  string
	}
	es := make([]entry, len(ids))
	for i, id := range ids {
		es[i] = entry{m.pos[id], id}
	}
	slices.SortFunc(es, func(a, b entry) int { return a.pos - b.pos })
	es = slices.CompactFunc(es, func(a, b entry) bool { return a.pos == b.pos })
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.id
	}
	return out
}

// indexValues returns the field and the index keys of a condition the
// value index can answer (= and in, not negated, on text-like and datetime
// fields); ok is false for any other.
func (m *module) indexValues(c *cond, parseTime func(string) (time.Time, bool)) (field string, values []string, ok bool) {
	if c.not || (c.op != "=" && c.op != "in") || c.field == "id" {
		return "", nil, false
	}
	f := m.field(c.field)
	if f == nil {
		return "", nil, false
	}
	values = make([]string, len(c.values))
	for i, v := range c.values {
		switch f.Type {
		case Text, Phone, Email, Website, Picklist:
			values[i] = strings.ToLower(v.text)
		case DateTime:
			t, ok := parseTime(v.text)
			if !ok {
				return "", nil, false
			}
			values[i] = timeKey(t)
		default:
			return "", nil, false
		}
	}
	return c.field, values, true
}

// estimate counts (an upper bound, repeats included) the candidates
// candidates would gather for e, without gathering them; ok as candidates.
func (m *module) estimate(e expr, parseTime func(string) (time.Time, bool)) (n int, ok bool) {
	switch e := e.(type) {
	case *cond:
		field, values, ok := m.indexValues(e, parseTime)
		if !ok {
			return 0, false
		}
		ix := m.valueIndex(field)
		for _, v := range values {
			n += len(ix.ids[v])
		}
		return n, true
	case *binary:
		l, lok := m.estimate(e.l, parseTime)
		r, rok := m.estimate(e.r, parseTime)
		switch {
		case e.op == "and" && lok && (!rok || l <= r):
			return l, true
		case e.op == "and" && rok:
			return r, true
		case e.op == "or" && lok && rok:
			return l + r, true
		}
	}
	return 0, false
}

// candidates narrows a COQL condition to the records that can match it:
// ok is false when the condition cannot be narrowed (every record is a
// candidate). = and in (not negated) on text-like and datetime fields use
// the value index; and takes the side estimate finds narrower (only that
// side is gathered), or takes the union of both sides.
func (m *module) candidates(e expr, parseTime func(string) (time.Time, bool)) (ids []string, ok bool) {
	switch e := e.(type) {
	case *cond:
		field, values, ok := m.indexValues(e, parseTime)
		if !ok {
			return nil, false
		}
		return m.withValue(field, values), true
	case *binary:
		if e.op == "and" {
			l, lok := m.estimate(e.l, parseTime)
			r, rok := m.estimate(e.r, parseTime)
			switch {
			case lok && (!rok || l <= r):
				return m.candidates(e.l, parseTime)
			case rok:
				return m.candidates(e.r, parseTime)
			}
			return nil, false
		}
		l, lok := m.candidates(e.l, parseTime)
		r, rok := m.candidates(e.r, parseTime)
		if e.op == "or" && lok && rok {
			return m.inOrder(append(l, r...)), true
		}
	}
	return nil, false
}
