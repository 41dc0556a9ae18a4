package salesforcetest

import (
	"slices"
	"strings"
	"time"
)

// The double answers SOQL "=" / "IN" on text-like fields and the upsert's
// external id lookup from a value index per field, so its cost per request
// does not grow with the org (a scan of every Task per request made a
// 100,000-call backfill quadratic in the double, which the benchmark then
// counted against callsync). A range on a dateTime field (>= or > with <=
// or <, or =) is answered from the same index's hours. The index only
// narrows: every candidate is still tested with the query's own
// conditions, and answers keep the order of a scan (creation order).

// fieldIndex maps a field's text values, lower case, to the records holding
// them, and its time.Time values by their hour (Unix seconds / 3600, rounded
// down) to the records holding them. other holds the records whose value is
// neither (a seed may store any Go value): they are candidates for every
// lookup. compare orders a time.Time against a text literal as against the
// zero time, so a text lookup takes the zero time's hour too.
type fieldIndex struct {
	ids   map[string]idSet
	hours map[int64]idSet
	other map[string]struct{}
	// phones, once a SOSL search asked for it (withPhones), maps the
	// phoneKey of each text value's digits to the records holding it.
	phones map[string]idSet
}

// idSet is the set of records holding an index key. Most keys of a text
// field (an external id, a call's number) are held by one record, which is
// kept without a map of its own: a map per key was most of what the
// double allocated per record written.
type idSet struct {
	one  string              // the only id, when many is nil ("": none)
	many map[string]struct{} // two or more ids
}

func (s *idSet) add(id string) {
	switch {
	case s.many != nil:
		s.many[id] = struct{}{}
	case s.one == "" || s.one == id:
		s.one = id
	default:
		s.many = map[string]struct{}{s.one: {}, id: {}}
		s.one = ""
	}
}

func (s *idSet) remove(id string) {
	if s.many != nil {
		delete(s.many, id)
	} else if s.one == id {
		s.one = ""
	}
}

func (s idSet) len() int {
	if s.many != nil {
		return len(s.many)
	}
	if s.one != "" {
		return 1
	}
	return 0
}

// all yields the set's ids (in no order).
func (s idSet) all(yield func(string) bool) {
	if s.many == nil {
		if s.one != "" {
			yield(s.one)
		}
		return
	}
	for id := range s.many {
		if !yield(id) {
			return
		}
	}
}

// withPhones builds fi's phone keys from the object's records on first use.
func (fi *fieldIndex) withPhones(recs []map[string]any, field string) *fieldIndex {
	if fi.phones == nil {
		fi.phones = map[string]idSet{}
		for _, rec := range recs {
			fi.addPhone(rec["Id"].(string), rec[field])
		}
	}
	return fi
}

func (fi *fieldIndex) addPhone(id string, v any) {
	if t, ok := v.(string); ok && fi.phones != nil {
		if d := digits(t); d != "" {
			addTo(fi.phones, phoneKey(d), id)
		}
	}
}

func (fi *fieldIndex) removePhone(id string, v any) {
	if t, ok := v.(string); ok && fi.phones != nil {
		if d := digits(t); d != "" {
			removeFrom(fi.phones, phoneKey(d), id)
		}
	}
}

func hourOf(t time.Time) int64 {
	s := t.Unix()
	h := s / 3600
	if s%3600 < 0 {
		h--
	}
	return h
}

func addTo[K comparable](m map[K]idSet, k K, id string) {
	set := m[k]
	set.add(id)
	m[k] = set
}

func removeFrom[K comparable](m map[K]idSet, k K, id string) {
	set, ok := m[k]
	if !ok {
		return
	}
	set.remove(id)
	if set.len() == 0 {
		delete(m, k)
	} else {
		m[k] = set
	}
}

// recordIndex is the value indexes of one object, built on first use and
// kept up to date by every write after that.
type recordIndex struct {
	fields map[string]*fieldIndex // canonical field name -> index
}

func (fi *fieldIndex) add(id string, v any) {
	fi.addPhone(id, v)
	switch v := v.(type) {
	case nil:
	case string:
		addTo(fi.ids, strings.ToLower(v), id)
	case time.Time:
		addTo(fi.hours, hourOf(v), id)
	default:
		fi.other[id] = struct{}{}
	}
}

func (fi *fieldIndex) remove(id string, v any) {
	fi.removePhone(id, v)
	switch v := v.(type) {
	case nil:
	case string:
		removeFrom(fi.ids, strings.ToLower(v), id)
	case time.Time:
		removeFrom(fi.hours, hourOf(v), id)
	default:
		delete(fi.other, id)
	}
}

// indexed registers a record just stored (new or rewritten) in the
// indexes of its object; a new record gets the next creation sequence.
func (s *Server) indexed(obj string, rec map[string]any) {
	id := rec["Id"].(string)
	if _, ok := s.seq[id]; !ok {
		s.nextSeq++
		s.seq[id] = s.nextSeq
	}
	if ix := s.index[obj]; ix != nil {
		for name, fi := range ix.fields {
			fi.add(id, rec[name])
		}
	}
}

// unindexed removes a record from the indexes of its object before it is
// rewritten or deleted (deleted: its sequence goes too).
func (s *Server) unindexed(obj string, rec map[string]any, deleted bool) {
	id := rec["Id"].(string)
	if ix := s.index[obj]; ix != nil {
		for name, fi := range ix.fields {
			fi.remove(id, rec[name])
		}
	}
	if deleted {
		delete(s.seq, id)
	}
}

// fieldIndex returns the index of obj's field, building it from the
// object's records on first use.
func (s *Server) fieldIndex(obj, field string) *fieldIndex {
	ix := s.index[obj]
	if ix == nil {
		ix = &recordIndex{fields: map[string]*fieldIndex{}}
		s.index[obj] = ix
	}
	fi := ix.fields[field]
	if fi == nil {
		fi = &fieldIndex{ids: map[string]idSet{}, hours: map[int64]idSet{}, other: map[string]struct{}{}}
		for _, rec := range s.records[obj] {
			fi.add(rec["Id"].(string), rec[field])
		}
		ix.fields[field] = fi
	}
	return fi
}

// withText returns the records of obj whose field may equal one of keys
// (lower case) as compare does, in creation order without repeats: those
// holding one of them, and those holding a value that is not text (a time
// only in the zero time's hour).
func (s *Server) withText(obj, field string, keys []string) []map[string]any {
	fi := s.fieldIndex(obj, field)
	var ids []string
	for _, k := range keys {
		for id := range fi.ids[k].all {
			ids = append(ids, id)
		}
	}
	for id := range fi.hours[hourOf(time.Time{})].all {
		ids = append(ids, id)
	}
	for id := range fi.other {
		ids = append(ids, id)
	}
	return s.inOrder(ids)
}

// inOrder maps ids to their records in creation order, dropping repeats.
func (s *Server) inOrder(ids []string) []map[string]any {
	type entry struct {
		seq int
		id  string
	}
	es := make([]entry, len(ids))
	for i, id := range ids {
		es[i] = entry{s.seq[id], id}
	}
	slices.SortFunc(es, func(a, b entry) int { return a.seq - b.seq })
	es = slices.CompactFunc(es, func(a, b entry) bool { return a.seq == b.seq })
	out := make([]map[string]any, len(es))
	for i, e := range es {
		out[i] = s.byID[e.id]
	}
	return out
}

// textKeys returns the lower-case values of an "=" or IN condition on text
// values; ok is false for any other condition.
func textKeys(c cond) (keys []string, ok bool) {
	if c.or != nil || (c.op != "=" && c.op != "IN") {
		return nil, false
	}
	keys = make([]string, len(c.values))
	for i, v := range c.values {
		t, ok := v.(string)
		if !ok {
			return nil, false
		}
		keys[i] = strings.ToLower(t)
	}
	return keys, true
}

// estimate counts (an upper bound) the candidates of a condition without
// gathering them; ok is false when it cannot be narrowed.
func (s *Server) estimate(obj string, c cond) (n int, ok bool) {
	if c.or != nil {
		for _, alt := range c.or {
			m, ok := s.estimate(obj, alt)
			if !ok {
				return 0, false
			}
			n += m
		}
		return n, true
	}
	keys, ok := textKeys(c)
	if !ok {
		return 0, false
	}
	fi := s.fieldIndex(obj, c.f.name)
	n = len(fi.other) + fi.hours[hourOf(time.Time{})].len()
	for _, k := range keys {
		n += fi.ids[k].len()
	}
	return n, true
}

// narrowest returns the candidates of the condition, or dateTime range,
// with the fewest of them; ok is false when none can be narrowed.
func (s *Server) narrowest(obj string, conds []cond) (recs []map[string]any, ok bool) {
	best, bestN := -1, 0
	for i, c := range conds {
		if n, ok := s.estimate(obj, c); ok && (best < 0 || n < bestN) {
			best, bestN = i, n
		}
	}
	r, rok := s.timeRange(obj, conds)
	if rok && (best < 0 || r.n < bestN) {
		return s.inOrder(r.ids()), true
	}
	if best < 0 {
		return nil, false
	}
	return s.candidates(obj, conds[best]), true
}

// rangePlan is the candidates of a dateTime range: how many (an upper
// bound) and how to gather their ids.
type rangePlan struct {
	n   int
	ids func() []string
}

// timeRange plans the narrowest range the conditions put on a dateTime
// field (a lower bound from >=, > or =, an upper one from <=, < or =, both
// needed): the records whose time lies in the hours between them, and
// those holding a value neither text nor time, which compare orders
// against any time literal. Text in a dateTime field (only a seed stores
// it, and never "": seedValue stores it as null) is ordered after every
// time literal, which compare reads as "", so it fails the upper bound.
func (s *Server) timeRange(obj string, conds []cond) (rangePlan, bool) {
	type bounds struct {
		lo, hi       time.Time
		hasLo, hasHi bool
	}
	var fields []string
	by := map[string]*bounds{}
	for _, c := range conds {
		if c.or != nil || len(c.values) != 1 {
			continue
		}
		d, ok := c.values[0].(time.Time)
		if !ok {
			continue
		}
		b := by[c.f.name]
		if b == nil {
			b = &bounds{}
			by[c.f.name] = b
			fields = append(fields, c.f.name)
		}
		if c.op == "=" || c.op == ">=" || c.op == ">" {
			if !b.hasLo || d.After(b.lo) {
				b.lo, b.hasLo = d, true
			}
		}
		if c.op == "=" || c.op == "<=" || c.op == "<" {
			if !b.hasHi || d.Before(b.hi) {
				b.hi, b.hasHi = d, true
			}
		}
	}
	var best rangePlan
	found := false
	for _, name := range fields {
		b := by[name]
		if !b.hasLo || !b.hasHi {
			continue
		}
		fi := s.fieldIndex(obj, name)
		lo, hi := hourOf(b.lo), hourOf(b.hi)
		var hours []int64
		if hi-lo < int64(len(fi.hours)) {
			for h := lo; h <= hi; h++ {
				if _, ok := fi.hours[h]; ok {
					hours = append(hours, h)
				}
			}
		} else {
			for h := range fi.hours {
				if h >= lo && h <= hi {
					hours = append(hours, h)
				}
			}
		}
		n := len(fi.other)
		for _, h := range hours {
			n += fi.hours[h].len()
		}
		if found && n >= best.n {
			continue
		}
		best, found = rangePlan{n, func() []string {
			ids := make([]string, 0, n)
			for _, h := range hours {
				for id := range fi.hours[h].all {
					ids = append(ids, id)
				}
			}
			for id := range fi.other {
				ids = append(ids, id)
			}
			return ids
		}}, true
	}
	return best, found
}

// candidates gathers the records that can satisfy a condition estimate
// accepted: "=" and IN with text values from the index, an OR group the
// union of its alternatives.
func (s *Server) candidates(obj string, c cond) []map[string]any {
	if c.or != nil {
		var ids []string
		for _, alt := range c.or {
			for _, rec := range s.candidates(obj, alt) {
				ids = append(ids, rec["Id"].(string))
			}
		}
		return s.inOrder(ids)
	}
	keys, _ := textKeys(c)
	return s.withText(obj, c.f.name, keys)
}
