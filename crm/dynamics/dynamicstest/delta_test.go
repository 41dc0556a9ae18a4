package dynamicstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// deltaIDs follows a delta link from change number since, pages of
// pageSize, and returns the changed rows' ids and the deleted ones.
func deltaIDs(t testing.TB, s *Server, since int64, pageSize int) (changed, deleted []string) {
	t.Helper()
	q := url.Values{"$select": {"fullname"}, "$deltatoken": {fmt.Sprintf("%d!12/06/2026 10:00:00", since)}}.Encode()
	h := http.Header{"Prefer": {fmt.Sprintf("odata.maxpagesize=%d", pageSize)}}
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("more than 1000 pages")
		}
		resp := s.execLocked(apiRequest{method: http.MethodGet, path: "contacts", query: q, header: h})
		if resp.status != http.StatusOK {
			t.Fatalf("delta from %d: %d %s", since, resp.status, resp.body)
		}
		var body struct {
			Value    []map[string]any `json:"value"`
			NextLink string           `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(resp.body, &body); err != nil {
			t.Fatal(err)
		}
		for _, v := range body.Value {
			if id, ok := v["contactid"].(string); ok {
				changed = append(changed, id)
			} else {
				deleted = append(deleted, v["id"].(string))
			}
		}
		if body.NextLink == "" {
			return changed, deleted
		}
		_, q, _ = strings.Cut(body.NextLink, "?")
	}
}

// TestDeltaFromTheChangeLog: a delta from every change number lists the
// rows a scan of the table finds changed since (created, updated once or
// many times, not those deleted), in creation order, then the deletions,
// on one page and over many.
func TestDeltaFromTheChangeLog(t *testing.T) {
	s := NewServer(Options{})
	t.Cleanup(s.Close)
	var ids []string
	for i := range 60 {
		ids = append(ids, s.AddContact(Record{Name: fmt.Sprintf("c%d", i)}))
	}
	for i, id := range ids {
		switch {
		case i%5 == 0:
			s.UpdateRecord("contacts", id, map[string]any{"firstname": "a"})
		case i%7 == 0:
			s.DeleteRecord("contacts", id)
		}
	}
	for i := range 10 {
		ids = append(ids, s.AddContact(Record{Name: fmt.Sprintf("late%d", i)}))
	}
	for i, id := range ids {
		if i%10 == 0 && i%7 != 0 {
			s.UpdateRecord("contacts", id, map[string]any{"firstname": "b"})
		}
		if i == 61 {
			s.DeleteRecord("contacts", id)
		}
	}
	s.mu.Lock()
	tb := s.tables["contacts"]
	last := tb.seq
	s.mu.Unlock()
	for since := int64(0); since <= last; since++ {
		s.mu.Lock()
		var want []string
		for _, id := range tb.order {
			if tb.meta[id].changed > since {
				want = append(want, id)
			}
		}
		var wantDeleted []string
		for _, d := range tb.deleted {
			if d.seq > since {
				wantDeleted = append(wantDeleted, d.id)
			}
		}
		s.mu.Unlock()
		for _, pageSize := range []int{5000, 4} {
			changed, deleted := deltaIDs(t, s, since, pageSize)
			if !slices.Equal(changed, want) || !slices.Equal(deleted, wantDeleted) {
				t.Errorf("delta from %d (pages of %d): %d changed, %d deleted; want %d and %d; first difference at %d",
					since, pageSize, len(changed), len(deleted), len(want), len(wantDeleted), firstDiff(changed, want))
			}
		}
	}
}

// BenchmarkDeltaOfFewChanges reads a delta of 10 changed rows of a table
// of 100,000 contacts.
func BenchmarkDeltaOfFewChanges(b *testing.B) {
	s := NewServer(Options{})
	b.Cleanup(s.Close)
	var ids []string
	for i := range 100000 {
		ids = append(ids, s.AddContact(Record{Name: fmt.Sprintf("c%d", i)}))
	}
	s.mu.Lock()
	since := s.tables["contacts"].seq
	s.mu.Unlock()
	for i := range 10 {
		s.UpdateRecord("contacts", ids[i*9973], map[string]any{"firstname": "a"})
	}
	b.ResetTimer()
	for range b.N {
		if changed, _ := deltaIDs(b, s, since, 5000); len(changed) != 10 {
			b.Fatalf("%d changed, want 10", len(changed))
		}
	}
}
