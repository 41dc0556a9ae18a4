package enreach_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
)

func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestParseDeliveryCallback(t *testing.T) {
	due := day.Add(26 * time.Hour)
	cb := enreach.Callback{ID: "cb1", CallbackListID: "l1", ContactNumber: "+358501234567", ContactName: "Matti",
		QueueID: sales.ID, CreatedTime: day.Add(time.Hour), ModifiedTime: day.Add(2 * time.Hour), DueDate: &due,
		HandlingStatus: "Busy", AssignedUserID: alice.ID}
	d := enreachtest.NewCallbackDelivery(enreach.EventCallbackCreated, cb)
	d.RootEntityType, d.RootEntityID = "Organization", "org-1"
	d.Timestamp = day.Add(2*time.Hour + 123*time.Millisecond)
	body := enreachtest.MarshalDelivery(d)

	got, err := enreach.ParseDelivery(body)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Raw) != string(body) || got.Callback == nil || len(got.Callback.Raw) == 0 {
		t.Fatalf("raw not kept: %+v", got)
	}
	got.Raw, got.Callback.Raw = nil, nil
	want := d
	want.Callback = &cb
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("delivery:\n got %+v %+v\nwant %+v %+v", got, *got.Callback, want, *want.Callback)
	}
}

func TestParseDeliveryTolerant(t *testing.T) {
	// Lower-case names, the list id only in the envelope, IsClosed as text,
	// Data as a JSON-encoded string.
	body := `{"id":" d1 ","eventtype":"callbackclosed","timestamp":"2026-01-10 10:00:00","entitytype":"CallList","entityid":"l9",` +
		`"data":"{\"CallbackListItemId\":\"cb7\",\"isclosed\":\"true\",\"ClosedTime\":\"2026-01-10T09:59:59Z\"}"}`
	d, err := enreach.ParseDelivery([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "d1" || d.EventType != "callbackclosed" || !d.Timestamp.Equal(day.Add(10*time.Hour)) {
		t.Fatalf("envelope = %+v", d)
	}
	cb := d.Callback
	if cb == nil || cb.ID != "cb7" || cb.CallbackListID != "l9" || !cb.IsClosed || cb.ClosedTime == nil || !cb.ClosedTime.Equal(day.Add(10*time.Hour-time.Second)) {
		t.Fatalf("callback = %+v", cb)
	}

	// Other events need no Data.
	d, err = enreach.ParseDelivery([]byte(`{"Id":"d2","EventType":"QueueCallInConnected","EntityType":"Queue","EntityId":"q1"}`))
	if err != nil || d.Callback != nil || d.EntityID != "q1" || !d.Timestamp.IsZero() {
		t.Fatalf("queue event: %+v, %v", d, err)
	}
}

func TestParseDeliveryErrors(t *testing.T) {
	cases := []struct{ body, want string }{
		{``, "empty body"},
		{`   `, "empty body"},
		{`{"Id":`, "not valid JSON"},
		{`not json`, "not valid JSON"},
		{`[{"Id":"1"}]`, "not a JSON object"},
		{`"x"`, "not a JSON object"},
		{`{"EventType":"CallbackCreated"}`, "missing Id"},
		{`{"Id":"","EventType":"CallbackCreated"}`, "missing Id"},
		{`{"Id":{"a":1},"EventType":"CallbackCreated"}`, "Id: expected a string"},
		{`{"Id":"1"}`, "missing EventType"},
		{`{"Id":"1","EventType":"QueueStatus","Timestamp":"soon"}`, `Timestamp: unreadable time "soon"`},
		{`{"Id":"1","EventType":"CallbackCreated"}`, "CallbackCreated delivery has no Data"},
		{`{"Id":"1","EventType":"CallbackUpdated","Data":null}`, "has no Data"},
		{`{"Id":"1","EventType":"CallbackUpdated","Data":42}`, "Data is not a callback request object"},
		{`{"Id":"1","EventType":"CallbackChanged","Data":{"ContactNumber":"+358501234567"}}`, "Data: Id: missing"},
		{`{"Id":"1","EventType":"CallbackClosed","Data":{"Id":"cb","DueDate":"tomorrow"}}`, "Data: DueDate"},
		{`{"Id":"1","EventType":"CallbackClosed","Data":{"Id":"cb","IsClosed":"maybe"}}`, "Data: IsClosed: not a boolean"},
	}
	for _, c := range cases {
		_, err := enreach.ParseDelivery([]byte(c.body))
		if err == nil {
			t.Errorf("%q accepted", c.body)
			continue
		}
		if !errors.Is(err, enreach.ErrInvalidDelivery) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.body, err, c.want)
		}
	}
}

func TestVerifyToken(t *testing.T) {
	cases := []struct {
		got, want string
		ok        bool
	}{
		{"tok-123", "tok-123", true},
		{"tok-124", "tok-123", false},
		{"tok-12", "tok-123", false},
		{"", "tok-123", false},
		{"", "", false},
		{"anything", "", false},
		{"TOK-123", "tok-123", false},
	}
	for _, c := range cases {
		if got := enreach.VerifyToken(c.got, c.want); got != c.ok {
			t.Errorf("VerifyToken(%q, %q) = %v", c.got, c.want, got)
		}
	}
}

func TestSendWebhookRoundTrip(t *testing.T) {
	srv := newServer(t)
	type received struct {
		event, token string
		d            enreach.Delivery
		err          error
	}
	got := make(chan received, 1)
	url := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d, err := enreach.ParseDelivery(body)
		got <- received{r.Header.Get(enreach.HeaderEvent), r.Header.Get(enreach.HeaderToken), d, err}
		if !enreach.VerifyToken(r.Header.Get(enreach.HeaderToken), "hook-secret") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	cb := enreach.Callback{ID: "cb1", CallbackListID: "l1", ContactNumber: "+358501234567", CreatedTime: day, ModifiedTime: day}
	d := enreachtest.NewCallbackDelivery(enreach.EventCallbackUpdated, cb)
	status, _, err := srv.SendWebhook(context.Background(), url, "hook-secret", d)
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("status %d, err %v", status, err)
	}
	r := <-got
	if r.err != nil || r.event != enreach.EventCallbackUpdated || r.token != "hook-secret" {
		t.Fatalf("received %+v", r)
	}
	if r.d.ID != d.ID || r.d.RootEntityType != "Organization" || r.d.RootEntityID != srv.OrganizationID ||
		r.d.EntityType != "CallList" || r.d.EntityID != "l1" || r.d.Callback == nil || r.d.Callback.ID != "cb1" {
		t.Fatalf("delivery = %+v", r.d)
	}
	status, _, err = srv.SendWebhook(context.Background(), url, "wrong", d)
	if err != nil || status != http.StatusUnauthorized {
		t.Fatalf("wrong token: status %d, err %v", status, err)
	}
	<-got
}
