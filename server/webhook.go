// Package server owns callsync's inbound HTTP endpoints: the Enreach webhook
// receiver (POST /webhooks/enreach/{tenant}), which authenticates a delivery,
// validates it and commits it to the store's inbox before answering, so the
// jobs' inbox worker can process it later and a crash loses nothing.
package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/store"
)

// WebhookPattern is the http.ServeMux pattern of the webhook receiver.
const WebhookPattern = "POST /webhooks/enreach/{tenant}"

// webhookPrefix is the path before the tenant name.
const webhookPrefix = "/webhooks/enreach/"

// MaxWebhookBody is the largest delivery body accepted (1 MiB); larger
// bodies are answered 413.
const MaxWebhookBody = 1 << 20

// Tenants finds a running tenant by name. *jobs.Registry implements it.
type Tenants interface {
	Get(name string) (*jobs.Tenant, bool)
}

// Inbox is where deliveries are committed. *store.Store implements it.
type Inbox interface {
	// AddInbox stores a delivery; inserted is false when its id was
	// already received.
	AddInbox(ctx context.Context, it store.InboxItem) (inserted bool, err error)
}

// WebhookOptions tune the receiver.
type WebhookOptions struct {
	Log *slog.Logger
	Now func() time.Time
	// Notify, when set, is called after a delivery to process was stored
	// (e.g. to wake the inbox worker before its next tick). It must not
	// block.
	Notify func()
}

// Webhook is the Enreach webhook receiver. It is safe for concurrent use.
type Webhook struct {
	tenants Tenants
	inbox   Inbox
	log     *slog.Logger
	now     func() time.Time
	notify  func()
	// dummy is compared with the token sent to an unknown tenant, so its
	// answer takes the time of a known tenant's (no tenant enumeration).
	dummy string
}

// NewWebhook returns the receiver. Mount it with Register, or on any mux
// under /webhooks/enreach/{tenant}.
func NewWebhook(tenants Tenants, inbox Inbox, o WebhookOptions) *Webhook {
	h := &Webhook{tenants: tenants, inbox: inbox, log: o.Log, now: o.Now, notify: o.Notify, dummy: rand.Text()}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// Register mounts the receiver on mux at WebhookPattern.
func (h *Webhook) Register(mux *http.ServeMux) { mux.Handle(WebhookPattern, h) }

// webhookAnswer is the JSON body of every answer.
type webhookAnswer struct {
	Status string `json:"status,omitempty"` // accepted | duplicate | ignored
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// ServeHTTP answers one delivery:
//   - 401 X-Benemen-Token missing or wrong (compared in constant time with
//     the tenant's webhook_token), the same answer for an unknown tenant
//     (its token is compared with a random one): tenant names cannot be
//     probed; 413 body over 1 MiB;
//     400 not JSON or a required field missing, with the reason. Nothing is
//     stored for any of these.
//   - 200 after the delivery is committed to the inbox: "accepted" (to be
//     processed), "ignored" (recorded with the reason: polling-only or
//     inactive profile, unknown callback list, another event type) or
//     "duplicate" (its Id was received before; not processed again).
//   - 500 when the store cannot take it (the sender should retry).
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		answer(w, http.StatusMethodNotAllowed, webhookAnswer{Error: "method not allowed"})
		return
	}
	name := r.PathValue("tenant")
	if name == "" {
		name = strings.TrimPrefix(r.URL.Path, webhookPrefix)
		if name == r.URL.Path || strings.Contains(name, "/") {
			name = ""
		}
	}
	t, ok := h.tenants.Get(name)
	want := h.dummy
	if ok && name != "" {
		want = t.Config().Enreach.WebhookToken.Value()
	}
	if !enreach.VerifyToken(r.Header.Get(enreach.HeaderToken), want) || !ok || name == "" {
		h.log.Warn("webhook rejected: unknown tenant, or missing or wrong token", "tenant", name, "known", ok, "remote", r.RemoteAddr,
			"token_sent", r.Header.Get(enreach.HeaderToken) != "")
		answer(w, http.StatusUnauthorized, webhookAnswer{Error: "missing or wrong " + enreach.HeaderToken})
		return
	}
	cfg := t.Config()
	log := h.log.With("tenant", t.Name)
	if r.ContentLength > MaxWebhookBody {
		answer(w, http.StatusRequestEntityTooLarge, webhookAnswer{Error: "body over 1 MiB"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			answer(w, http.StatusRequestEntityTooLarge, webhookAnswer{Error: "body over 1 MiB"})
			return
		}
		answer(w, http.StatusBadRequest, webhookAnswer{Error: "reading the body: " + err.Error()})
		return
	}
	d, err := enreach.ParseDelivery(body)
	if err != nil {
		log.Warn("webhook rejected: invalid delivery", "err", err)
		answer(w, http.StatusBadRequest, webhookAnswer{Error: err.Error()})
		return
	}
	_, state, reason := jobs.ClassifyDelivery(cfg, d)
	inserted, err := h.inbox.AddInbox(r.Context(), store.InboxItem{
		Tenant:     t.Name,
		DeliveryID: strings.ToLower(d.ID),
		EventType:  d.EventType,
		ReceivedAt: h.now().UTC(),
		Payload:    body,
		State:      state,
		Reason:     reason,
	})
	if err != nil && r.Context().Err() != nil {
		// The sender hung up before the commit: nothing was acknowledged,
		// so it delivers again; not a callsync fault.
		log.Warn("webhook sender went away before the delivery was stored; not acknowledged", "delivery", d.ID, "err", err)
		answer(w, http.StatusServiceUnavailable, webhookAnswer{Error: "the delivery could not be stored; retry"})
		return
	}
	if err != nil {
		log.Error("webhook delivery not stored", "delivery", d.ID, "err", err)
		answer(w, http.StatusInternalServerError, webhookAnswer{Error: "the delivery could not be stored; retry"})
		return
	}
	switch {
	case !inserted:
		log.Info("webhook delivery repeated", "delivery", d.ID, "event", d.EventType)
		answer(w, http.StatusOK, webhookAnswer{Status: "duplicate"})
	case state == store.InboxIgnored:
		log.Info("webhook delivery ignored", "delivery", d.ID, "event", d.EventType, "reason", reason)
		answer(w, http.StatusOK, webhookAnswer{Status: "ignored", Reason: reason})
	default:
		log.Debug("webhook delivery accepted", "delivery", d.ID, "event", d.EventType)
		if h.notify != nil {
			h.notify()
		}
		answer(w, http.StatusOK, webhookAnswer{Status: "accepted"})
	}
}

func answer(w http.ResponseWriter, status int, a webhookAnswer) {
	b, _ := json.Marshal(a)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
