package dynamicstest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
)

// The double tracks changes as the Web API documents it: the initial
// listing ends with a delta link, which lists created and updated rows and
// then deleted ones as $deletedEntity entries, and ends with the next link.
func TestChangeTracking(t *testing.T) {
	c := newClient(t, dynamicstest.Options{PageSize: 2})
	var leads []string
	for i := range 3 {
		leads = append(leads, c.srv.AddLead(dynamicstest.Record{Name: fmt.Sprintf("Lead %d", i), Phones: map[string]string{"mobilephone": "050 1"}}))
	}
	track := map[string]string{"Prefer": "odata.track-changes"}
	// Paged initial listing: every row, the delta link on the last page.
	var got []string
	next, delta := c.api("leads?$select=fullname,mobilephone"), ""
	for first := true; next != ""; first = false {
		r := c.do(http.MethodGet, next, "", track)
		if first && !strings.Contains(r.header.Get("Preference-Applied"), "odata.track-changes") {
			t.Errorf("Preference-Applied %q lacks odata.track-changes", r.header.Get("Preference-Applied"))
		}
		got = append(got, ids(t, r, "leadid")...)
		m := r.json(t)
		next, _ = m["@odata.nextLink"].(string)
		if d, ok := m["@odata.deltaLink"].(string); ok {
			if next != "" {
				t.Errorf("a page has both a next and a delta link")
			}
			delta = d
		}
	}
	if len(got) != 3 || !strings.Contains(delta, "$deltatoken=") {
		t.Fatalf("initial listing: %d rows, delta link %q", len(got), delta)
	}
	// Nothing changed: an empty delta, with a new link.
	r := c.do(http.MethodGet, delta, "", nil)
	if got := ids(t, r, "leadid"); len(got) != 0 || r.json(t)["@odata.deltaLink"] == nil {
		t.Fatalf("unchanged: %v, %s", got, r.body)
	}
	// One updated, one created, one deleted.
	c.srv.UpdateRecord("leads", leads[0], map[string]any{"mobilephone": "050 2"})
	added := c.srv.AddLead(dynamicstest.Record{Name: "New", Phones: map[string]string{"mobilephone": "050 3"}})
	c.srv.DeleteRecord("leads", leads[1])
	r = c.do(http.MethodGet, delta, "", map[string]string{"Prefer": "odata.maxpagesize=10"})
	m := r.json(t)
	if ctx, _ := m["@odata.context"].(string); !strings.HasSuffix(ctx, "/$delta") {
		t.Errorf("delta @odata.context %q", ctx)
	}
	var changed, deleted []string
	for _, v := range m["value"].([]any) {
		e := v.(map[string]any)
		if ctx, _ := e["@odata.context"].(string); strings.HasSuffix(ctx, "#leads/$deletedEntity") {
			if e["reason"] != "deleted" {
				t.Errorf("deleted entry %v", e)
			}
			deleted = append(deleted, e["id"].(string))
			continue
		}
		changed = append(changed, e["leadid"].(string))
	}
	if fmt.Sprint(changed) != fmt.Sprint([]string{leads[0], added}) || fmt.Sprint(deleted) != fmt.Sprint([]string{leads[1]}) {
		t.Errorf("delta: changed %v deleted %v, want [%s %s] and [%s]", changed, deleted, leads[0], added, leads[1])
	}
	again, _ := m["@odata.deltaLink"].(string)
	if r := c.do(http.MethodGet, again, "", nil); len(ids(t, r, "leadid")) != 0 {
		t.Errorf("the next delta repeats changes: %s", r.body)
	}
	// Query options tracking refuses, and an expired token.
	if r := c.do(http.MethodGet, c.api("leads?$select=fullname&$filter=mobilephone%20eq%20'1'"), "", track); r.status != http.StatusBadRequest {
		t.Errorf("$filter with tracking: %d, want 400", r.status)
	}
	c.srv.ExpireDeltaTokens()
	if r := c.do(http.MethodGet, again, "", nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Version stamp") {
		t.Errorf("expired token: %d %s", r.status, r.body)
	}
}

// An org without "Track changes" on its tables ignores the preference.
func TestNoChangeTracking(t *testing.T) {
	c := newClient(t, dynamicstest.Options{NoChangeTracking: true})
	c.srv.AddLead(dynamicstest.Record{Name: "Lead", Phones: map[string]string{"mobilephone": "050 1"}})
	r := c.do(http.MethodGet, c.api("leads?$select=fullname"), "", map[string]string{"Prefer": "odata.track-changes"})
	if got := ids(t, r, "leadid"); len(got) != 1 || r.json(t)["@odata.deltaLink"] != nil || strings.Contains(r.header.Get("Preference-Applied"), "track-changes") {
		t.Errorf("untracked table: %d rows, %s, Preference-Applied %q", len(got), r.body, r.header.Get("Preference-Applied"))
	}
	if r := c.do(http.MethodGet, c.api("leads?$select=fullname&$deltatoken=1"), "", nil); r.status != http.StatusBadRequest {
		t.Errorf("$deltatoken on an untracked table: %d, want 400", r.status)
	}
}
