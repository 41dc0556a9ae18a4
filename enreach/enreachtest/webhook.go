package enreachtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/google/uuid"
)

// NewCallbackDelivery returns a delivery of a Callback* event for cb, as
// Enreach sends it (envelope as in enreach/fields.go): a fresh Id, Timestamp now, EntityType
// "CallList", EntityId the callback list id. SendWebhook fills the root
// entity (the organisation).
func NewCallbackDelivery(eventType string, cb enreach.Callback) enreach.Delivery {
	return enreach.Delivery{
		ID:         uuid.NewString(),
		EventType:  eventType,
		Timestamp:  time.Now().UTC(),
		EntityType: "CallList",
		EntityID:   cb.CallbackListID,
		Callback:   &cb,
	}
}

// MarshalDelivery returns the JSON body of d: d.Raw when set (to send a
// malformed body), else the envelope with Callback as Data.
func MarshalDelivery(d enreach.Delivery) []byte {
	if d.Raw != nil {
		return d.Raw
	}
	env := wireDelivery{
		Id:             d.ID,
		Timestamp:      d.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"),
		RootEntityType: d.RootEntityType,
		RootEntityId:   d.RootEntityID,
		EntityType:     d.EntityType,
		EntityId:       d.EntityID,
		EventType:      d.EventType,
	}
	if d.Callback != nil {
		cb := toWireCallback(*d.Callback)
		env.Data = &cb
	}
	b, err := json.Marshal(env)
	if err != nil {
		panic(err) // plain strings and pointers: cannot fail
	}
	return b
}

// SendWebhook POSTs d to url as Enreach does: JSON body, X-Benemen-Event
// (d.EventType) and X-Benemen-Token (token; omitted when empty). A missing
// root entity is set to the server's organisation. It returns the receiver's
// status and body; the error is for transport failures only. Enreach's
// retry policy is unknown, so the double never retries.
func (s *Server) SendWebhook(ctx context.Context, url, token string, d enreach.Delivery) (int, []byte, error) {
	if d.RootEntityType == "" && d.RootEntityID == "" {
		d.RootEntityType = "Organization"
		d.RootEntityID = s.OrganizationID
	}
	if d.Timestamp.IsZero() {
		d.Timestamp = time.Now().UTC()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(MarshalDelivery(d)))
	if err != nil {
		return 0, nil, fmt.Errorf("enreachtest: webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(enreach.HeaderEvent, d.EventType)
	if token != "" {
		req.Header.Set(enreach.HeaderToken, token)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("enreachtest: webhook %s: %w", d.ID, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, nil
}
