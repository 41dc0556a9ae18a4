package dynamicstest

import (
	"fmt"
	"maps"
	"time"
)

// SetClock replaces the server's clock (createdon and modifiedon of rows
// written from then on).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// UpdateRecord changes columns of a contact, account or lead as a user
// editing it would (modifiedon moves); a nil value clears a column.
func (s *Server) UpdateRecord(set, id string, fields map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTable(set)
	old, ok := t.rows[id]
	if !ok {
		panic(fmt.Sprintf("dynamicstest: UpdateRecord: no %s %s", set, id))
	}
	r := maps.Clone(old)
	for k, v := range fields {
		if v == nil {
			delete(r, k)
			continue
		}
		if _, ok := t.cols[k]; !ok {
			panic(fmt.Sprintf("dynamicstest: UpdateRecord: %s has no column %q", set, k))
		}
		r[k] = v
	}
	t.update(id, r, s.now())
}
