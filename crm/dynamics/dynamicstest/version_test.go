package dynamicstest_test

import (
	"net/http"
	"testing"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
)

// A record's version (its @odata.etag) counts every write of its id: a
// create undone with its changeset still counts when the id is created
// again, and an update counts on top.
func TestVersionOutlivesRollback(t *testing.T) {
	w := newWorld(t)
	c := w.c
	p := dynamicstest.APIPath
	const id = "44444444-4444-4444-8444-444444444444"
	etag := func() any {
		t.Helper()
		r := c.do(http.MethodGet, c.api("phonecalls("+id+")?$select=subject"), "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
		return r.json(t)["@odata.etag"]
	}
	ct, body := batch([]string{"POST " + p + "/phonecalls\n" + w.call(id), "PATCH $1\n" + `{"statecode":1,"statuscode":1}`})
	if r := c.batch(ct, body, false); r.status != http.StatusBadRequest {
		t.Fatalf("failing changeset: %d %s", r.status, r.body)
	}
	if _, ok := c.srv.PhoneCall(id); ok {
		t.Fatal("the changeset's create was not rolled back")
	}
	if r := c.do(http.MethodPost, c.api("phonecalls"), w.call(id), nil); r.status != http.StatusNoContent {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if got := etag(); got != `W/"1002"` {
		t.Errorf("created again after a rollback: etag %v, want W/\"1002\"", got)
	}
	if r := c.do(http.MethodPatch, c.api("phonecalls("+id+")"), `{"subject":"renamed"}`, nil); r.status != http.StatusNoContent {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if got := etag(); got != `W/"1003"` {
		t.Errorf("updated: etag %v, want W/\"1003\"", got)
	}
}
