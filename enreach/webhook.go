package enreach

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Webhook headers ([code] copenhagensales/sales-commission-hub; delivery as
// https://doc.enreachvoice.com/webhooks describes it).
const (
	HeaderEvent = "X-Benemen-Event" // the event type
	HeaderToken = "X-Benemen-Token" // the shared secret configured with Enreach support
)

// Callback event types whose Data is one callback request (event names
// [code] mokso/benerte-chrome-extension; Data [assumed]).
const (
	EventCallbackCreated = "CallbackCreated"
	EventCallbackUpdated = "CallbackUpdated"
	EventCallbackClosed  = "CallbackClosed"
	EventCallbackChanged = "CallbackChanged"
)

// IsCallbackEvent reports whether eventType carries a callback request in
// Data (case-insensitive).
func IsCallbackEvent(eventType string) bool {
	for _, e := range []string{EventCallbackCreated, EventCallbackUpdated, EventCallbackClosed, EventCallbackChanged} {
		if strings.EqualFold(eventType, e) {
			return true
		}
	}
	return false
}

// ErrInvalidDelivery is wrapped by every ParseDelivery error: the body is
// not a valid delivery (answer 400 with the error's text).
var ErrInvalidDelivery = errors.New("invalid webhook delivery")

// ParseDelivery reads and validates one webhook body: a JSON object with a
// non-empty Id and EventType, a readable Timestamp when present, and for
// Callback* events a callback request object with an Id in Data (its
// CallbackListId defaults to the envelope's EntityId). Field names match
// case-insensitively. Errors wrap ErrInvalidDelivery and say why.
func ParseDelivery(body []byte) (Delivery, error) {
	bad := func(format string, args ...any) (Delivery, error) {
		return Delivery{}, fmt.Errorf("%w: %s", ErrInvalidDelivery, fmt.Sprintf(format, args...))
	}
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return bad("empty body")
	}
	if !json.Valid(b) {
		return bad("body is not valid JSON")
	}
	r, err := newRecord(b)
	if err != nil {
		return bad("body is not a JSON object")
	}
	d := Delivery{
		ID:             strings.TrimSpace(r.str(envID)),
		EventType:      strings.TrimSpace(r.str(envEventType)),
		Timestamp:      r.time(envTimestamp),
		RootEntityType: r.str(envRootEntityType),
		RootEntityID:   r.str(envRootEntityID),
		EntityType:     r.str(envEntityType),
		EntityID:       r.str(envEntityID),
		Raw:            append(json.RawMessage(nil), body...),
	}
	if r.err != nil {
		return bad("%v", r.err)
	}
	if d.ID == "" {
		return bad("missing %s", envID)
	}
	if d.EventType == "" {
		return bad("missing %s", envEventType)
	}
	if !IsCallbackEvent(d.EventType) {
		return d, nil
	}
	_, data, ok := r.lookup(envData)
	if !ok {
		return bad("%s delivery has no %s", d.EventType, envData)
	}
	// Tolerate Data sent as a JSON-encoded string.
	if data[0] == '"' {
		var s string
		if json.Unmarshal(data, &s) == nil {
			data = json.RawMessage(s)
		}
	}
	cr, err := newRecord(data)
	if err != nil {
		return bad("%s: %s is not a callback request object", d.EventType, envData)
	}
	cb := decodeCallback(cr)
	if cr.err != nil {
		return bad("%s: %s: %v", d.EventType, envData, cr.err)
	}
	if cb.CallbackListID == "" {
		cb.CallbackListID = d.EntityID
	}
	d.Callback = &cb
	return d, nil
}

// VerifyToken compares a received X-Benemen-Token with the configured one in
// constant time (hashing first, so not even the length leaks). An empty
// want never verifies.
func VerifyToken(got, want string) bool {
	if want == "" {
		return false
	}
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
