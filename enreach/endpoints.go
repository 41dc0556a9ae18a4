package enreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"
)

// Calls returns the user call events of w from GET /calls (StartTime window,
// or the Modified window when w.ByModified). Windows longer than MaxWindow
// are fetched in several requests and concatenated in time order. Records
// that cannot be read are returned as Malformed; the rest still parse.
func (c *Client) Calls(ctx context.Context, w Window) ([]Call, []Malformed, error) {
	return fetchWindowed(ctx, c, "calls", "/calls", w, w.ByModified, nil, decodeCall)
}

// ServiceCalls returns the queue (service) calls of w from GET /servicecall,
// with the same filters, splitting and quarantine as Calls.
func (c *Client) ServiceCalls(ctx context.Context, w Window) ([]ServiceCall, []Malformed, error) {
	return fetchWindowed(ctx, c, "service calls", "/servicecall", w, w.ByModified, nil, decodeServiceCall)
}

// Callbacks returns the callback requests of one callback list modified in
// w (GET /callbacks; always the Modified filter, whatever w.ByModified says).
// Windows longer than MaxWindow are split.
func (c *Client) Callbacks(ctx context.Context, listID string, w Window) ([]Callback, []Malformed, error) {
	op := "callbacks of list " + listID
	if listID == "" {
		return nil, nil, errors.New("enreach: callbacks: empty callback list id")
	}
	return fetchWindowed(ctx, c, op, "/callbacks", w, true, url.Values{"CallbackListId": {listID}}, decodeCallback)
}

// DecodeCalls decodes stored GET /calls elements (records quarantined
// earlier, read again) with the decoder Calls uses; what still cannot be
// read is returned as Malformed with its reason.
func DecodeCalls(raws []json.RawMessage) ([]Call, []Malformed) {
	return decodeAll(raws, decodeCall)
}

// DecodeServiceCalls decodes stored GET /servicecall elements as
// ServiceCalls does.
func DecodeServiceCalls(raws []json.RawMessage) ([]ServiceCall, []Malformed) {
	return decodeAll(raws, decodeServiceCall)
}

// DecodeCallbacks decodes stored GET /callbacks elements as Callbacks does.
func DecodeCallbacks(raws []json.RawMessage) ([]Callback, []Malformed) {
	return decodeAll(raws, decodeCallback)
}

// Users returns every user visible to the API user (GET /users). Records
// without an Id are logged and skipped.
func (c *Client) Users(ctx context.Context) ([]User, error) {
	return fetchList(ctx, c, "users", "/users", decodeUser)
}

// Queues returns the service queues (GET /queues).
func (c *Client) Queues(ctx context.Context) ([]Queue, error) {
	return fetchList(ctx, c, "queues", "/queues", decodeQueue)
}

// CallbackLists returns the callback lists (GET /callbacklists).
func (c *Client) CallbackLists(ctx context.Context) ([]CallbackList, error) {
	return fetchList(ctx, c, "callback lists", "/callbacklists", decodeCallbackList)
}

// Identity is the authenticated API user, from GET /users/me.
type Identity struct {
	ID             string
	UserName       string
	OrganizationID string
}

// Me returns the API user (GET /users/me). Use it as a credentials check: a
// wrong user or secret key gives a *StatusError with Unauthorized() true.
func (c *Client) Me(ctx context.Context) (Identity, error) {
	var id Identity
	err := c.get(ctx, "/users/me", nil, func(r io.Reader) error {
		var raw json.RawMessage
		if err := json.NewDecoder(r).Decode(&raw); err != nil {
			return fmt.Errorf("response is not JSON: %w", err)
		}
		rec, err := newRecord(raw)
		if err != nil {
			return err
		}
		id = decodeIdentity(rec)
		return rec.err
	})
	if err != nil {
		return Identity{}, fmt.Errorf("enreach: users/me: %w", err)
	}
	return id, nil
}

// fetchWindowed runs one request per chunk of w and decodes every element.
func fetchWindowed[T any](ctx context.Context, c *Client, op, path string, w Window, byModified bool,
	extra url.Values, decode func(*record) T) ([]T, []Malformed, error) {
	chunks, err := splitWindow(w, MaxWindow)
	if err != nil {
		return nil, nil, fmt.Errorf("enreach: %s: %w", op, err)
	}
	var (
		out []T
		bad []Malformed
	)
	for _, ch := range chunks {
		q := url.Values{}
		for k, v := range extra {
			q[k] = v
		}
		from, to := ch.From.Format(timeLayout), ch.To.Format(timeLayout)
		if byModified {
			q.Set("ModifiedAfter", from)
			q.Set("ModifiedBefore", to)
		} else {
			q.Set("StartTime", from)
			q.Set("EndTime", to)
		}
		raws, err := c.getArray(ctx, path, q)
		if err != nil {
			return nil, nil, fmt.Errorf("enreach: %s %s: %w", op, windowString(ch), err)
		}
		items, m := decodeRead(raws, decode)
		out = append(out, items...)
		bad = append(bad, m...)
	}
	return out, bad, nil
}

// fetchList reads an unfiltered list; unreadable elements are logged.
func fetchList[T any](ctx context.Context, c *Client, op, path string, decode func(*record) T) ([]T, error) {
	raws, err := c.getArray(ctx, path, nil)
	if err != nil {
		return nil, fmt.Errorf("enreach: %s: %w", op, err)
	}
	items, bad := decodeRead(raws, decode)
	for _, m := range bad {
		c.log.Warn("enreach: skipping unreadable record", "list", op, "id", m.ID, "reason", m.Reason)
	}
	return items, nil
}

// decodeAll decodes each element; failures become Malformed.
func decodeAll[T any](raws []json.RawMessage, decode func(*record) T) ([]T, []Malformed) {
	return decodeEach(raws, decode, false)
}

// decodeRead is decodeAll for the elements decodeArray read, which are
// valid JSON (json.Decoder checked them): they are not checked again.
func decodeRead[T any](raws []json.RawMessage, decode func(*record) T) ([]T, []Malformed) {
	return decodeEach(raws, decode, true)
}

func decodeEach[T any](raws []json.RawMessage, decode func(*record) T, valid bool) ([]T, []Malformed) {
	out := make([]T, 0, len(raws))
	var bad []Malformed
	// One record is read after the other into the same fields: a decoder
	// keeps no part of its record but the raw text.
	rec := &record{}
	for i, raw := range raws {
		if err := rec.read(raw, valid); err != nil {
			bad = append(bad, Malformed{Reason: fmt.Sprintf("element %d: %v", i, err), Raw: raw})
			continue
		}
		v := decode(rec)
		if rec.err != nil {
			bad = append(bad, Malformed{ID: rec.id, Reason: rec.err.Error(), Raw: raw})
			continue
		}
		out = append(out, v)
	}
	return out, bad
}

// splitWindow validates w, widens it to whole seconds (the API's precision:
// From down, To up, so nothing falls between two windows) and cuts it into
// consecutive chunks of at most max. An empty window gives no chunk.
func splitWindow(w Window, max time.Duration) ([]Window, error) {
	if w.From.IsZero() || w.To.IsZero() {
		return nil, errors.New("window needs both a start and an end")
	}
	from := w.From.UTC().Truncate(time.Second)
	to := w.To.UTC()
	if t := to.Truncate(time.Second); t.Before(to) {
		to = t.Add(time.Second)
	}
	if w.To.Before(w.From) {
		return nil, fmt.Errorf("window end %s is before its start %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	var out []Window
	for from.Before(to) {
		end := from.Add(max)
		if end.After(to) {
			end = to
		}
		out = append(out, Window{From: from, To: end, ByModified: w.ByModified})
		from = end
	}
	return out, nil
}

// windowString formats a window for error messages: dates when both ends
// are midnights, else full UTC times.
func windowString(w Window) string {
	midnight := func(t time.Time) bool { return t.Equal(t.Truncate(24 * time.Hour)) }
	if midnight(w.From) && midnight(w.To) {
		return w.From.Format("2006-01-02") + ".." + w.To.Format("2006-01-02")
	}
	return w.From.Format("2006-01-02T15:04:05Z") + ".." + w.To.Format("2006-01-02T15:04:05Z")
}
